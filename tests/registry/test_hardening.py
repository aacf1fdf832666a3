"""Issue 14's findings, each against a real `consign serve` (gunicorn workers, Git): no input
gets a 5xx, every error is JSON, nothing broken is accepted, and a worker's memory stays
bounded whatever the fragment expands to."""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests

from consign.compose import yamlio
from registry import names
from registry.store import DescriptorStore, Target
from tests.registry.conftest import b64, fsck, refs
from tests.serving import ServedRegistry

WEB = "services:\n  web:\n    image: busybox\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedRegistry]:
    tmp = tmp_path_factory.mktemp("hardening")
    with ServedRegistry(tmp / "registry.git", tmp / "serve.log", workers=2).start() as served:
        yield served
    fsck(tmp / "registry.git")


def put(server: ServedRegistry, body: dict[str, Any] | bytes) -> requests.Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    return requests.put(f"{server.url}/fragment", data=data, headers=headers, timeout=60)


def publish_body(fragment: str = WEB, **fields: Any) -> dict[str, Any]:
    return {"fragment": b64(fragment), "applications": ["H"], "releases": ["R"], **fields}


def error(response: requests.Response, status: int) -> dict[str, Any]:
    """The response is ``status`` with the documented JSON error body."""
    assert response.status_code == status, response.text[:500]
    assert response.headers["Content-Type"] == "application/json", response.headers
    body: dict[str, Any] = response.json()
    assert isinstance(body["error"], str) and isinstance(body["message"], str)
    return body


def strict_json(response: requests.Response) -> Any:
    """Parse as standard JSON: NaN and Infinity are not JSON."""

    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in a JSON answer: {response.text[:300]}")

    return json.loads(response.text, parse_constant=refuse)


@pytest.mark.parametrize(
    ("name", "field"),
    [("é" * 43, "applications"), ("😀" * 100, "releases"), ("é" * 43, "component")],
)
def test_names_too_long_for_the_file_system_are_400_with_the_real_limit(
    server: ServedRegistry, name: str, field: str
) -> None:
    body = publish_body()
    if field == "component":
        body["component"] = name
    else:
        body[field] = [name]
    found = error(put(server, body), 400)
    assert f"the limit is {names.MAX_ENCODED_BYTES} bytes" in found["message"]
    assert found["field"] == field
    assert str(server.repo) not in found["message"]


@pytest.mark.parametrize(
    "template",
    [
        "/api/applications/{n}/releases",
        "/api/applications/{n}/releases/{n}/versions",
        "/api/applications/{n}/releases/{n}/versions/1",
        "/api/applications/{n}/releases/{n}/diff",
        "/descriptor/application/{n}/{n}/latest",
        "/descriptor/application/{n}/{n}/1/fragments/{n}",
        "/rundeck/options/releases?application={n}",
        "/rundeck/options/versions?application={n}&release={n}",
    ],
)
def test_names_too_long_for_the_file_system_are_404_when_read(
    server: ServedRegistry, template: str
) -> None:
    """No ref can have such a name, so looking one up finds nothing (it was a 500)."""
    response = requests.get(server.url + template.format(n=quote("é" * 90)), timeout=10)
    found = error(response, 404)
    assert str(server.repo) not in found["message"]


def test_a_derived_component_name_must_fit_too(server: ServedRegistry) -> None:
    service = "a" + "." * 99  # every '.' encodes as %2E: 298 bytes
    found = error(put(server, publish_body(f"services:\n  '{service}':\n    image: x\n")), 400)
    assert f"the limit is {names.MAX_ENCODED_BYTES} bytes" in found["message"]


@pytest.mark.parametrize(
    "name",
    [
        "TLO\u00a0GE",  # no-break space
        "TLO\u202eEG",  # right-to-left override
        "TLO\u200bGE",  # zero-width space
        "TLO GE\ufeff",  # zero-width no-break space
        " TLO GE",
    ],
)
def test_look_alike_names_are_refused(server: ServedRegistry, name: str) -> None:
    found = error(put(server, publish_body(applications=[name])), 400)
    assert found["field"] == "applications"


def test_composed_and_decomposed_names_are_one_application(server: ServedRegistry) -> None:
    first = put(server, publish_body(applications=["Cafe\u0301"], releases=["NFC"]))
    assert first.status_code == 201, first.text
    assert first.json()["versions"][0]["application"] == "Café"
    second = put(server, publish_body(applications=["Café"], releases=["NFC"]))
    assert second.status_code == 200, second.text  # the same content: a retry
    apps = requests.get(f"{server.url}/api/applications", timeout=10).json()["applications"]
    assert "Café" in apps and "Cafe\u0301" not in apps


def test_names_stored_before_the_rules_keep_working(tmp_path: Path) -> None:
    repo = tmp_path / "registry.git"
    legacy = "TLO\u00a0GE"  # stored by a registry that did not refuse it yet
    store = DescriptorStore(repo)
    store.publish([Target(legacy, "Cafe\u0301")], "we\u200bb", WEB, yamlio.load(WEB), {})
    store.close()
    with ServedRegistry(repo, tmp_path / "serve.log", workers=1).start() as server:
        body = publish_body(
            "services:\n  web:\n    image: busybox:2\n",
            applications=[legacy],
            releases=["Cafe\u0301"],
            component="we\u200bb",
        )
        response = put(server, body)
        assert response.status_code == 201, response.text
        [version] = response.json()["versions"]
        assert (version["application"], version["release"], version["version"]) == (
            legacy,
            "Cafe\u0301",
            2,
        )
        path = f"{quote(legacy)}/{quote('Cafe' + chr(0x301))}"
        assert requests.get(f"{server.url}/descriptor/application/{path}/1", timeout=10).ok
    fsck(repo)


@pytest.mark.parametrize("depth", [65, 300, 450, 500, 5000])
def test_deep_yaml_is_422_at_any_depth(server: ServedRegistry, depth: int) -> None:
    fragment = "services:\n  web:\n    image: x\n    labels:\n      a: " + "[" * depth + "]" * depth
    found = error(put(server, publish_body(fragment + "\n")), 422)
    assert f"nested more than {yamlio.MAX_DEPTH} levels" in found["message"]


def test_deep_json_build_is_400(server: ServedRegistry) -> None:
    body = b'{"fragment": "%s", "applications": ["H"], "releases": ["R"], "build": ' % (
        b64(WEB).encode()
    )
    found = error(put(server, body + b'{"a": ' * 500 + b"1" + b"}" * 501), 400)
    assert found["field"] == "build"


def test_lone_surrogate_in_build_is_400(server: ServedRegistry) -> None:
    body = json.dumps(publish_body(build={"planKey": "X"})).replace('"X"', '"\\ud800"')
    found = error(put(server, body.encode()), 400)
    assert "U+D800" in found["message"] and found["field"] == "build"


@pytest.mark.parametrize("number", ["1e400", "-1e400", "Infinity", "NaN"])
def test_non_finite_numbers_are_refused_at_the_door(server: ServedRegistry, number: str) -> None:
    body = json.dumps(publish_body(build={"buildNumber": 1})).replace(
        '"buildNumber": 1', f'"buildNumber": {number}'
    )
    error(put(server, body.encode()), 400)
    versions = requests.get(f"{server.url}/api/applications/H/releases/R/versions", timeout=10)
    if versions.status_code == 200:
        strict_json(versions)


def test_infinity_stored_before_the_check_is_answered_as_standard_json(tmp_path: Path) -> None:
    """A registry without the check stored ``1e400`` as ``Infinity`` in consign.json; the
    versions API must still answer JSON that strict parsers read."""
    repo = tmp_path / "registry.git"
    store = DescriptorStore(repo)
    store.publish([Target("Inf", "R")], "web", WEB, yamlio.load(WEB), {"buildNumber": 1e400})
    store.close()
    with ServedRegistry(repo, tmp_path / "serve.log", workers=1).start() as server:
        base = f"{server.url}/api/applications/Inf/releases/R/versions"
        for url in (base, f"{base}/1", f"{base}/latest"):
            response = requests.get(url, timeout=10)
            assert response.status_code == 200, response.text
            body = strict_json(response)
            versions = body.get("versions", [body])
            assert versions[0]["build"] == {"buildNumber": "Infinity"}
        options = requests.get(
            f"{server.url}/rundeck/options/versions?application=Inf&release=R", timeout=10
        )
        assert options.status_code == 200 and strict_json(options)


def test_a_service_name_with_a_trailing_newline_is_refused(server: ServedRegistry) -> None:
    found = error(put(server, publish_body('services:\n  "web\\n":\n    image: x\n')), 422)
    assert "invalid service name" in found["message"]


def _chunked(data: bytes, size: int = 65536) -> bytes:
    out = b"".join(
        b"%x\r\n%s\r\n" % (len(data[i : i + size]), data[i : i + size])
        for i in range(0, len(data), size)
    )
    return out + b"0\r\n\r\n"


def _raw(server: ServedRegistry, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 exchange on a real socket; the server closes after answering."""
    with socket.create_connection((server.host, server.port), timeout=60) as sock:
        # refused before the whole body was read: the answer is still there
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


def _put_chunked(server: ServedRegistry, body: bytes) -> tuple[int, dict[str, str], bytes]:
    head = (
        b"PUT /fragment HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    return _raw(server, head + _chunked(body))


def test_a_chunked_body_over_the_limit_gets_413_like_a_sized_one(server: ServedRegistry) -> None:
    before = refs(server.repo)
    body = json.dumps(publish_body(applications=["Chunked"])).encode() + b" " * (2 << 20)
    sized = requests.put(
        f"{server.url}/fragment",
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=60,
    )
    assert error(sized, 413)["error"] == "payload_too_large"
    status, headers, answer = _put_chunked(server, body)
    assert (status, headers["content-type"]) == (413, "application/json")
    assert json.loads(answer)["error"] == "payload_too_large"
    assert refs(server.repo) == before


def test_a_chunked_body_under_the_limit_is_published(server: ServedRegistry) -> None:
    body = json.dumps(publish_body(applications=["Chunked"])).encode() + b" " * 1000
    status, _, answer = _put_chunked(server, body)
    assert status == 201, answer


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/git/../../etc/passwd", 404),
        ("/git/..%2F..%2Fetc%2Fpasswd", 404),
        ("/git/%00", 404),
        ("/git/info/refs%00", 404),
        ("/git/objects/../../consign-publish.lock", 404),
        ("/git/git-upload-pack", 405),
        ("/git/git-receive-pack", 403),
        ("/git/info/refs?service=git-receive-pack", 403),
    ],
)
def test_git_errors_are_json_and_never_5xx(server: ServedRegistry, path: str, status: int) -> None:
    got, headers, body = _raw(
        server, f"GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n".encode()
    )
    assert (got, headers["content-type"]) == (status, "application/json"), body[:300]
    assert json.loads(body)["message"]


def test_git_clone_still_works(server: ServedRegistry, tmp_path: Path) -> None:
    assert put(server, publish_body(applications=["Clone"])).status_code in (200, 201)
    from consign.process import run

    run(["git", "clone", "-q", "--bare", f"{server.url}/git", str(tmp_path / "clone.git")])
    tags = run(["git", "--git-dir", str(tmp_path / "clone.git"), "tag"]).stdout.split()
    assert "Clone/R/1" in tags


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def test_alias_amplification_is_422_and_worker_memory_stays_bounded(
    server: ServedRegistry,
) -> None:
    """The issue's case: a 100 KB string repeated 1000 times through aliases was a 104 KB
    request that became a 110 MB descriptor and grew the worker by 200+ MB."""
    amplified = (
        'x-big: &a "' + "x" * 100_000 + '"\nservices:\n  web:\n    image: busybox\n'
        "    command: [" + ", ".join(["*a"] * 1000) + "]\n"
    )
    workers = server.worker_pids()
    before = sum(_rss_kib(pid) for pid in workers)
    for _ in range(2 * len(workers)):  # every worker gets one, whichever accepts it
        found = error(put(server, publish_body(amplified, applications=["Amplified"])), 422)
        assert "CONSIGN_MAX_FRAGMENT_BYTES" in found["message"]
        assert found["max_expanded_bytes"] == 1024 * 1024
    after = sum(_rss_kib(pid) for pid in server.worker_pids())
    assert after - before < 64 * 1024, f"workers grew from {before} to {after} KiB"
    apps = requests.get(f"{server.url}/api/applications", timeout=10).json()["applications"]
    assert "Amplified" not in apps


def test_the_descriptor_size_limit_names_itself(tmp_path: Path) -> None:
    env = {"CONSIGN_MAX_DESCRIPTOR_BYTES": "400"}
    log = tmp_path / "serve.log"
    with ServedRegistry(tmp_path / "registry.git", log, env=env, workers=1).start() as server:
        first = put(server, publish_body(applications=["Small"]))
        assert first.status_code == 201, first.text
        big = "services:\n  big:\n    image: busybox\n    command: [" + "a, " * 200 + "a]\n"
        found = error(put(server, publish_body(big, applications=["Small"])), 422)
        assert found["error"] == "descriptor_too_large"
        assert "the limit is 400 (CONSIGN_MAX_DESCRIPTOR_BYTES)" in found["message"]
        versions = requests.get(
            f"{server.url}/api/applications/Small/releases/R/versions", timeout=10
        ).json()["versions"]
        assert [v["version"] for v in versions] == [1]
