"""create_app: configuration layers, the one error shape, the request log, the startup warning."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from registry.errors import StoreError
from registry.http.app import create_app
from tests.registry.conftest import fsck, publish

WEB = "services:\n  web:\n    image: busybox\n"


def test_environment_then_test_config(
    make_app: Any, repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONSIGN_REPO", str(tmp_path / "from-env.git"))
    monkeypatch.setenv("CONSIGN_MAX_TARGETS", "7")
    monkeypatch.setenv("CONSIGN_MAX_BODY_BYTES", "4096")
    monkeypatch.setenv("CONSIGN_PUBLISH_TOKENS", "123,true")
    app = create_app()
    assert app.config["REPO"] == str(tmp_path / "from-env.git")
    assert (tmp_path / "from-env.git" / "HEAD").is_file()
    assert app.config["MAX_TARGETS"] == 7
    assert app.config["MAX_CONTENT_LENGTH"] == 4096
    grants = app.extensions["consign.auth"].of("publish")
    assert [g.token for g in grants] == ["123", "true"]  # kept as strings
    overridden = create_app({"REPO": str(repo), "MAX_TARGETS": 3})
    assert overridden.config["REPO"] == str(repo)
    assert overridden.config["MAX_TARGETS"] == 3
    fsck(tmp_path / "from-env.git")


@pytest.mark.parametrize(
    ("key", "value"),
    [("MAX_BODY_BYTES", 0), ("MAX_TARGETS", "many"), ("MAX_LIST_LIMIT", -5), ("MAX_TARGETS", True)],
)
def test_bad_limit_fails_at_startup(make_app: Any, key: str, value: Any) -> None:
    with pytest.raises(ValueError, match=key):
        make_app(**{key: value})


def test_open_publishing_is_warned_about(make_app: Any, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="registry"):
        make_app()
    assert any("NO PUBLISH TOKENS" in r.getMessage() for r in caplog.records)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="registry"):
        make_app(PUBLISH_TOKENS="s3cret")
    assert not any("NO PUBLISH TOKENS" in r.getMessage() for r in caplog.records)


def test_unknown_route_is_json_404(app: Flask) -> None:
    response = app.test_client().get("/no/such/thing")
    assert response.status_code == 404
    assert response.get_json() == {"error": "not_found", "message": "no such URL: /no/such/thing"}


def test_wrong_method_is_json_405(app: Flask) -> None:
    response = app.test_client().delete("/fragment")
    assert response.status_code == 405
    assert response.get_json()["error"] == "method_not_allowed"
    assert "PUT" in response.get_json()["message"]
    assert "PUT" in response.headers["Allow"]


def test_unexpected_exception_is_json_500_and_logged(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    @app.get("/boom")
    def boom() -> str:
        raise ZeroDivisionError("nope")

    with caplog.at_level(logging.ERROR, logger="registry"):
        response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert response.get_json() == {
        "error": "internal_error",
        "message": "internal error: ZeroDivisionError",
    }
    assert any(r.exc_info and "GET /boom" in r.getMessage() for r in caplog.records)


def test_registry_error_keeps_its_status(app: Flask) -> None:
    @app.get("/store-broke")
    def store_broke() -> str:
        raise StoreError("the disk is full", details={"path": "/x"})

    response = app.test_client().get("/store-broke")
    assert response.status_code == 500
    assert response.get_json() == {
        "error": "store_error",
        "message": "the disk is full",
        "path": "/x",
    }


def test_every_request_is_logged(app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    client = app.test_client()
    with caplog.at_level(logging.INFO, logger="registry.access"):
        publish(client, WEB, ["TLO GE", "TLO EE"], ["Milestone"])
        client.get("/healthz")
    lines = [r.getMessage() for r in caplog.records if r.name == "registry.access"]
    assert len(lines) == 2
    method, path, status, ms, created = lines[0].split(" ", 4)
    assert (method, path, status) == ("PUT", "/fragment", "201")
    assert ms.endswith("ms") and float(ms[:-2]) >= 0
    assert created == "created=TLO GE/Milestone/1,TLO EE/Milestone/1"
    assert lines[1].startswith("GET /healthz 200 ")


def test_healthz(app: Flask, repo: Path) -> None:
    client = app.test_client()
    assert client.get("/healthz").get_json() == {"status": "ok"}
    (repo / "HEAD").unlink()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "unavailable"
    (repo / "HEAD").write_text("ref: refs/heads/main\n")
