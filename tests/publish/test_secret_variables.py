"""`consign publish --interpolate/--set` never resolve a secret-named variable
(publisher/command.py prepare; the name rule is consign/secrets/names.py). Unit tests on
recorded fragments; tests/registry/test_secrets_served.py runs the command for real."""

from __future__ import annotations

import pytest

from publisher.command import left_line, prepare

TEXT = (
    "services:\n  db:\n    image: postgres:${TAG}  # the build's tag\n    environment:\n"
    "      POSTGRES_PASSWORD: ${DB_PASSWORD}\n      API: ${API_TOKEN:-none}\n"
    "      URL: postgres://app:${DB_PASSWORD}@db/${DB_NAME}\n"
)


def test_interpolate_resolves_the_rest_and_names_what_it_left(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in {"TAG": "16", "DB_PASSWORD": "s3cr3t-canary", "DB_NAME": "shop"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("API_TOKEN", "t0k3n-canary")
    done = prepare(TEXT.encode(), {}, interpolate=True)
    text = done.text.decode()
    assert "image: postgres:16  # the build's tag" in text
    assert "POSTGRES_PASSWORD: ${DB_PASSWORD}" in text
    assert "URL: postgres://app:${DB_PASSWORD}@db/shop" in text
    assert "API: ${API_TOKEN:-none}" in text
    assert "canary" not in text
    assert done.left == ("DB_PASSWORD", "API_TOKEN")
    assert left_line(done.left).startswith("left ${DB_PASSWORD}, ${API_TOKEN} for the deploy host")


def test_set_does_not_resolve_a_secret_name_either() -> None:
    done = prepare(TEXT.encode(), {"DB_PASSWORD": "s3cr3t-canary", "TAG": "16"}, interpolate=False)
    assert "s3cr3t-canary" not in done.text.decode()
    assert "postgres:16" in done.text.decode()
    assert done.left == ("DB_PASSWORD",)


def test_the_markers_are_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONSIGN_SECRET_NAMES", "name")
    monkeypatch.setenv("DB_PASSWORD", "now-resolved")
    done = prepare(TEXT.encode(), {"TAG": "1", "API_TOKEN": "x"}, interpolate=True)
    assert "POSTGRES_PASSWORD: now-resolved" in done.text.decode()
    assert done.left == ("DB_NAME",)
