"""Bearer tokens: publishing (401/403/ok) and optional read tokens."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.registry.conftest import b64, fsck, refs

BODY = {
    "fragment": b64("services:\n  web:\n    image: busybox\n"),
    "applications": ["A"],
    "releases": ["R"],
}
READS = ["/api/applications", "/descriptor/application/A/R/1", "/api/applications/A/releases"]


def put(client: FlaskClient, token: str | None = None, scheme: str = "Bearer") -> Any:
    headers = {"Authorization": f"{scheme} {token}"} if token is not None else {}
    return client.put("/fragment", json=BODY, headers=headers)


@pytest.fixture
def guarded(make_app: Any, tmp_path: Path) -> FlaskClient:
    token_file = tmp_path / "tokens"
    token_file.write_text("# CI plans\nfrom-file\n\n")
    client: FlaskClient = make_app(
        PUBLISH_TOKENS="alpha, beta", PUBLISH_TOKENS_FILE=str(token_file)
    ).test_client()
    return client


def test_missing_token_is_401_with_challenge(guarded: FlaskClient, repo: Path) -> None:
    before = refs(repo)
    response = put(guarded)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.get_json()["error"] == "unauthorized"
    assert "Authorization: Bearer" in response.get_json()["message"]
    assert refs(repo) == before


@pytest.mark.parametrize(
    ("token", "scheme"),
    [
        ("gamma", "Bearer"),
        ("alph", "Bearer"),
        ("alpha2", "Bearer"),
        ("ALPHA", "Bearer"),
        ("é", "Bearer"),
    ],
)
def test_wrong_token_is_403(guarded: FlaskClient, repo: Path, token: str, scheme: str) -> None:
    before = refs(repo)
    response = put(guarded, token, scheme)
    assert response.status_code == 403
    assert response.get_json()["error"] == "forbidden"
    assert refs(repo) == before


def test_other_scheme_is_401(guarded: FlaskClient) -> None:
    basic = base64.b64encode(b"ci:alpha").decode()
    assert put(guarded, basic, "Basic").status_code == 401


@pytest.mark.parametrize("token", ["alpha", "beta", "from-file"])
def test_right_token_publishes(guarded: FlaskClient, token: str) -> None:
    assert put(guarded, token).status_code == 201


def test_auth_is_checked_before_the_body(guarded: FlaskClient) -> None:
    response = guarded.put("/fragment", data=b"garbage", content_type="application/json")
    assert response.status_code == 401


def test_reads_open_without_read_tokens(guarded: FlaskClient) -> None:
    put(guarded, "alpha")
    for path in READS:
        assert guarded.get(path).status_code == 200, path


def test_read_tokens(make_app: Any) -> None:
    client = make_app(PUBLISH_TOKENS="pub", READ_TOKENS="look,see").test_client()
    assert put(client, "pub").status_code == 201
    assert put(client, "look").status_code == 403  # a read token does not publish
    for path in READS:
        assert client.get(path).status_code == 401, path
        assert client.get(path, headers={"Authorization": "Bearer nope"}).status_code == 403
        for token in ("look", "see", "pub"):
            ok = client.get(path, headers={"Authorization": f"Bearer {token}"})
            assert ok.status_code == 200, (path, token)
    basic = base64.b64encode(b"git:see").decode()
    assert client.get(READS[0], headers={"Authorization": f"Basic {basic}"}).status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.get("/openapi.json").status_code == 200


def test_read_tokens_from_environment(
    make_app: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "read-tokens"
    path.write_text("r1\nr2\n")
    monkeypatch.setenv("CONSIGN_READ_TOKENS_FILE", str(path))
    from registry.http.app import create_app

    client = create_app({"REPO": str(tmp_path / "env.git")}).test_client()
    assert client.get("/api/applications").status_code == 401
    ok = client.get("/api/applications", headers={"Authorization": "Bearer r2"})
    assert ok.status_code == 200
    fsck(tmp_path / "env.git")


def test_identity_entries_and_default_identities() -> None:
    from registry.http.auth import Tokens, default_identity, grants

    parsed = grants(["qa-ann:s3cret", "plain", "x:y:z"], "approve")
    assert [(g.identity, g.token) for g in parsed] == [
        ("qa-ann", "s3cret"),
        (default_identity("plain"), "plain"),
        ("x", "y:z"),  # split at the first colon
    ]
    assert default_identity("plain").startswith("token-") and len(default_identity("p")) == 12
    assert "s3cret" not in repr(parsed)
    for bad in (":tok", "who:", " : "):
        with pytest.raises(ValueError, match="CONSIGN_APPROVE_TOKENS"):
            grants([bad], "approve")
    with pytest.raises(ValueError, match="unknown role"):
        Tokens.from_entries({"deploy": ["x"]})


def test_bad_identity_entry_fails_at_startup(make_app: Any) -> None:
    with pytest.raises(ValueError, match="CONSIGN_RELEASE_TOKENS"):
        make_app(RELEASE_TOKENS="rm:")


def test_require_report_is_its_own_role(make_app: Any) -> None:
    """The ledger's routes call require_report(); here through a route of its own."""
    from flask import jsonify

    from registry.http.auth import require_report

    app = make_app(REPORT_TOKENS="deployer:rep", PUBLISH_TOKENS="pub")

    @app.post("/report-probe")
    def probe() -> Any:
        return jsonify({"identity": require_report()})

    client = app.test_client()
    assert client.post("/report-probe").status_code == 401
    assert client.post("/report-probe", headers={"Authorization": "Bearer pub"}).status_code == 403
    ok = client.post("/report-probe", headers={"Authorization": "Bearer rep"})
    assert ok.get_json() == {"identity": "deployer"}
    assert put(client, "rep").status_code == 403  # a report token does not publish
    open_app = make_app()

    @open_app.post("/report-probe")
    def open_probe() -> Any:
        return jsonify({"identity": require_report()})

    assert open_app.test_client().post("/report-probe").get_json() == {"identity": None}


def test_every_open_write_role_is_warned_about(
    make_app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    with caplog.at_level(logging.WARNING, logger="registry"):
        make_app(PUBLISH_TOKENS="p", APPROVE_TOKENS="a")
    text = " ".join(r.getMessage() for r in caplog.records)
    assert "NO REPORT TOKENS" in text and "NO RELEASE TOKENS" in text
    assert "NO PUBLISH TOKENS" not in text and "NO APPROVE TOKENS" not in text
