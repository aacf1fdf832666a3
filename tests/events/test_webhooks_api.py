"""``GET /api/webhooks`` and the deliveries route in-process (registry/http/views/webhooks.py):
the admin role closed while unconfigured, never a secret, unknown names with a hint."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from flask import Flask

ADMIN = {"Authorization": "Bearer adm"}


def test_the_admin_role_is_closed_until_configured(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    hooks = tmp_path / "hooks.yaml"
    hooks.write_text("subscriptions: [{name: ci-bus, url: 'http://h.example/x', events: ['*']}]")
    closed = make_app(WEBHOOKS_FILE=str(hooks)).test_client()
    refused = closed.get("/api/webhooks", headers=ADMIN)
    assert refused.status_code == 403 and "CONSIGN_ADMIN_TOKENS" in refused.get_json()["message"]

    (tmp_path / "secret").write_text("top-secret-value\n")
    hooks.write_text(
        "subscriptions: [{name: ci-bus, url: 'https://h.example/services/T0/B0/XYZ',"
        f" events: ['*'], secret_file: '{tmp_path / 'secret'}'}}]"
    )
    client = make_app(WEBHOOKS_FILE=str(hooks), ADMIN_TOKENS="ops:adm").test_client()
    assert client.get("/api/webhooks").status_code == 401
    assert client.get("/api/webhooks", headers={"Authorization": "Bearer x"}).status_code == 403
    listed = client.get("/api/webhooks", headers=ADMIN)
    assert listed.status_code == 200
    text = listed.get_data(as_text=True)
    assert "top-secret-value" not in text and "XYZ" not in text
    (sub,) = listed.get_json()["subscriptions"]
    assert sub["url"] == "https://h.example/…" and sub["pending"] == 0 and sub["last"] is None
    missing = client.get("/api/webhooks/ci-buss/deliveries", headers=ADMIN)
    assert missing.status_code == 404 and "did you mean ci-bus?" in missing.get_json()["message"]
    found = client.get("/api/webhooks/ci-bus/deliveries?limit=5", headers=ADMIN).get_json()
    assert found == {"subscription": "ci-bus", "pending": [], "deliveries": []}
    assert client.get("/api/webhooks/ci-bus/deliveries?limit=0", headers=ADMIN).status_code == 400


def test_without_a_webhooks_file_there_is_nothing_to_list(make_app: Callable[..., Flask]) -> None:
    client = make_app(ADMIN_TOKENS="adm").test_client()
    body = client.get("/api/webhooks", headers=ADMIN).get_json()
    assert body == {"file": None, "error": None, "subscriptions": []}
