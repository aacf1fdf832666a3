"""Every bad publish request: a 4xx JSON naming what is wrong, and nothing written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.registry.conftest import b64, objects, refs

GOOD = "web:\n  image: busybox\n"


def body(**override: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"fragment": b64(GOOD), "applications": ["A"], "releases": ["R"]}
    base.update(override)
    return {k: v for k, v in base.items() if v is not ...}


def refused(
    client: FlaskClient, repo: Path, status: int, words: list[str], **kwargs: Any
) -> dict[str, Any]:
    """Send, check status + JSON shape + message, and that refs and objects are untouched."""
    before_refs, before_objects = refs(repo), objects(repo)
    response = client.put("/fragment", **kwargs)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    data: dict[str, Any] = response.get_json()
    assert isinstance(data["error"], str) and data["error"]
    for word in words:
        assert word.lower() in data["message"].lower(), data
    assert refs(repo) == before_refs
    assert objects(repo) == before_objects
    return data


@pytest.fixture
def seeded(client: FlaskClient, repo: Path) -> FlaskClient:
    """A repo with one version already, so "nothing written" is checked against real refs."""
    assert client.put("/fragment", json=body()).status_code == 201
    assert refs(repo)
    return client


def test_not_json(seeded: FlaskClient, repo: Path) -> None:
    data = refused(
        seeded, repo, 400, ["not JSON", "line 1"], data=b"{nope", content_type="application/json"
    )
    assert data["field"] == "body"


def test_wrong_content_type(seeded: FlaskClient, repo: Path) -> None:
    raw = json.dumps(body())
    refused(seeded, repo, 400, ["Content-Type", "text/plain"], data=raw, content_type="text/plain")


def test_missing_content_type(seeded: FlaskClient, repo: Path) -> None:
    refused(seeded, repo, 400, ["Content-Type"], data=json.dumps(body()))


def test_body_not_an_object(seeded: FlaskClient, repo: Path) -> None:
    refused(seeded, repo, 400, ["JSON object", "array"], json=[body()])


def test_body_not_utf8(seeded: FlaskClient, repo: Path) -> None:
    refused(seeded, repo, 400, ["UTF-8"], data=b'{"a": "\xff"}', content_type="application/json")


def test_nan_is_not_json(seeded: FlaskClient, repo: Path) -> None:
    raw = '{"fragment": "", "applications": ["A"], "releases": ["R"], "build": {"n": NaN}}'
    refused(seeded, repo, 400, ["NaN"], data=raw, content_type="application/json")


def test_deeply_nested_json(seeded: FlaskClient, repo: Path) -> None:
    raw = '{"build": ' + "[" * 100_000 + "]" * 100_000 + "}"
    refused(seeded, repo, 400, ["JSON"], data=raw, content_type="application/json")


@pytest.mark.parametrize("field", ["fragment", "applications", "releases"])
def test_missing_field(seeded: FlaskClient, repo: Path, field: str) -> None:
    data = refused(seeded, repo, 400, [field, "missing"], json=body(**{field: ...}))
    assert data["field"] == field


def test_unknown_field(seeded: FlaskClient, repo: Path) -> None:
    data = refused(seeded, repo, 400, ["compnent", "unknown"], json=body(compnent="x"))
    assert data["field"] == "compnent"


@pytest.mark.parametrize(
    ("field", "value", "word"),
    [
        ("fragment", 12, "number"),
        ("fragment", None, "null"),
        ("applications", "TLO GE", "string"),
        ("releases", {"a": 1}, "object"),
        ("applications", [1], "applications[0]"),
        ("releases", ["ok", None], "releases[1]"),
        ("component", ["web"], "component"),
        ("build", "plan-1", "build"),
        ("build", [1, 2], "build"),
    ],
)
def test_wrong_type(seeded: FlaskClient, repo: Path, field: str, value: Any, word: str) -> None:
    data = refused(seeded, repo, 400, [word], json=body(**{field: value}))
    assert data["field"].startswith(field)


@pytest.mark.parametrize("field", ["applications", "releases"])
def test_empty_list(seeded: FlaskClient, repo: Path, field: str) -> None:
    refused(seeded, repo, 400, [field, "at least one"], json=body(**{field: []}))


def test_duplicate_entries(seeded: FlaskClient, repo: Path) -> None:
    refused(seeded, repo, 400, ["applications", "twice"], json=body(applications=["A", "B", "A"]))


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("", ["empty"]),
        ("   ", ["blank"]),
        ("x" * 101, ["101 characters", "100"]),
        ("a/b", ["'/'"]),
        ("tab\there", ["control character"]),
        ("nul\x00", ["control character"]),
        ("del\x7f", ["control character"]),
        ("line\nbreak", ["control character"]),
    ],
)
@pytest.mark.parametrize("field", ["applications", "releases", "component"])
def test_bad_names(
    seeded: FlaskClient, repo: Path, field: str, name: str, words: list[str]
) -> None:
    value: Any = name if field == "component" else ["fine", name]
    data = refused(seeded, repo, 400, [field, *words], json=body(**{field: value}))
    assert data["error"] == "invalid_name"


def test_too_many_targets(seeded: FlaskClient, repo: Path) -> None:
    apps = [f"app{i}" for i in range(11)]
    rels = [f"rel{i}" for i in range(5)]
    refused(
        seeded,
        repo,
        400,
        ["55 targets", "limit is 50"],
        json=body(applications=apps, releases=rels),
    )


def test_max_targets_is_configurable(make_app: Any, repo: Path) -> None:
    client = make_app(MAX_TARGETS=2).test_client()
    refused(client, repo, 400, ["3 targets", "limit is 2"], json=body(applications=["a", "b", "c"]))
    assert client.put("/fragment", json=body(applications=["a", "b"])).status_code == 201


def test_build_too_large(seeded: FlaskClient, repo: Path) -> None:
    build = {"log": "x" * 20_000}
    refused(seeded, repo, 400, ["build", "limit"], json=body(build=build))


@pytest.mark.parametrize(
    ("fragment", "words"),
    [
        ("not base64!!", ["base64"]),
        ("QUJD=x", ["base64"]),
        (b64(b"web:\n  image: \xff\xfe\n"), ["UTF-8"]),
        (b64("web:\n  image: [unclosed\n"), ["line", "column"]),
        (b64("web: {image: busybox\n"), ["line"]),
        (b64("- just\n- a list\n"), ["mapping"]),
        (b64("just a string"), ["mapping"]),
        (b64(""), []),
        (b64("web: 12\n"), ["web"]),
        (b64("web:\n  image: !!python/object:os.system ls\n"), ["tag"]),
        (b64("web: !!python/object/apply:os.system ['ls']\n"), ["tag"]),
    ],
)
def test_invalid_fragment(seeded: FlaskClient, repo: Path, fragment: str, words: list[str]) -> None:
    data = refused(seeded, repo, 422, words, json=body(fragment=fragment))
    assert data["error"] == "invalid_fragment"


def test_alias_bomb(seeded: FlaskClient, repo: Path) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 12):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    bomb = "\n".join(lines) + "\nweb:\n  image: busybox\n  command: *l\n"
    refused(seeded, repo, 422, [], json=body(fragment=b64(bomb)))


def test_body_over_limit(seeded: FlaskClient, repo: Path) -> None:
    big = body(fragment=b64("web:\n  image: busybox\n" + "# pad\n" * 200_000))
    data = refused(seeded, repo, 413, ["exceeds", "1048576"], json=big)
    assert data["error"] == "payload_too_large"


def test_body_limit_is_configurable(make_app: Any, repo: Path) -> None:
    client = make_app(MAX_BODY_BYTES=200).test_client()
    refused(client, repo, 413, ["200 bytes"], json=body(build={"pad": "x" * 200}))
    assert client.put("/fragment", json=body()).status_code == 201


@pytest.mark.parametrize(
    "raw",
    [b"", b"null", b"0", b'""', b"{}", b'{"fragment": {}}', b"[]" * 3, b"\x00\x01", b"{" * 5000],
)
def test_garbage_never_5xx(seeded: FlaskClient, repo: Path, raw: bytes) -> None:
    before = refs(repo)
    for method in ("PUT", "POST"):
        response = seeded.open(
            "/fragment", method=method, data=raw, content_type="application/json"
        )
        assert 400 <= response.status_code < 500
        assert set(response.get_json()) >= {"error", "message"}
    assert refs(repo) == before
