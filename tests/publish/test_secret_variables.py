"""`consign publish --interpolate/--set` never resolve a secret-named variable
(publisher/command.py prepare; the name rule is consign/secrets/names.py). Unit tests on
recorded fragments; tests/registry/test_secrets_served.py runs the command for real."""

from __future__ import annotations

import pytest

from publisher.command import left_line, left_lines, prepare

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
    monkeypatch.setenv("DB_PASSWORD", "/run/secrets/db")  # a path: the detector lets it be
    done = prepare(TEXT.encode(), {"TAG": "1", "API_TOKEN": "x"}, interpolate=True)
    assert "POSTGRES_PASSWORD: /run/secrets/db" in done.text.decode()
    assert done.left == ("DB_NAME",) and done.flagged == {}
    # The name rule switched off, the value is still looked at (by the keyword, here).
    monkeypatch.setenv("DB_PASSWORD", "now-resolved")
    done = prepare(TEXT.encode(), {"TAG": "1"}, interpolate=True)
    assert "now-resolved" not in done.text.decode()
    assert done.flagged == {"DB_PASSWORD": "Secret Keyword"}


# The trial's CI agent (issue 24, "Not baked by CI"): names that mark nothing, values that
# are secrets. Recorded values, made up: a GitHub token's format, an AWS key id's format.
GITHUB_PAT = "ghp_Zq8wX2vB6nR4tY9uK1mL3pO5iJ7hG0fD2sA4"
AWS_ID = "AKIAZQ8WX2VB6NR4TY9U"
CI = (
    "services:\n  worker:\n    image: shop/worker:${BUILD_TAG}\n    environment:\n"
    "      GITHUB_PAT: ${GITHUB_PAT}\n      SMTP_CREDENTIAL: ${SMTP_CREDENTIAL}\n"
    "      CLONE: https://ci:${GITHUB_PAT}@github.com/shop/worker.git\n"
    "      UPLOADER: ${UPLOADER_ID:-none}\n      DB_PASSWORD: ${DB_PASSWORD}\n"
)


def test_interpolate_leaves_a_variable_whose_value_looks_like_a_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = {
        "BUILD_TAG": "1",
        "GITHUB_PAT": GITHUB_PAT,
        "SMTP_CREDENTIAL": "SmtpCiSecret-canary",
        "UPLOADER_ID": AWS_ID,
        "DB_PASSWORD": "s3cr3t-canary",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    done = prepare(CI.encode(), {}, interpolate=True)
    text = done.text.decode()
    assert "image: shop/worker:1" in text
    assert "GITHUB_PAT: ${GITHUB_PAT}" in text
    assert "CLONE: https://ci:${GITHUB_PAT}@github.com/shop/worker.git" in text
    assert "SMTP_CREDENTIAL: ${SMTP_CREDENTIAL}" in text  # by its name now
    assert "UPLOADER: ${UPLOADER_ID:-none}" in text
    for value in (GITHUB_PAT, AWS_ID, "canary"):
        assert value not in text
    assert done.left == ("SMTP_CREDENTIAL", "DB_PASSWORD")
    assert done.flagged == {"GITHUB_PAT": "GitHub Token", "UPLOADER_ID": "AWS Access Key"}
    lines = left_lines(done)
    assert lines[0].startswith("left ${SMTP_CREDENTIAL}, ${DB_PASSWORD} for the deploy host")
    assert lines[1] == (
        "left ${GITHUB_PAT} for the deploy host to resolve: its value looks like a secret "
        "(GitHub Token), so it is not baked into the registry's history"
    )
    assert "(AWS Access Key)" in lines[2]
    assert not any(value in line for line in lines for value in env.values() if value != "1")


def test_set_of_a_flagged_value_is_left_and_said_the_same() -> None:
    done = prepare(CI.encode(), {"GITHUB_PAT": GITHUB_PAT, "BUILD_TAG": "7"}, interpolate=False)
    text = done.text.decode()
    assert GITHUB_PAT not in text and "GITHUB_PAT: ${GITHUB_PAT}" in text
    assert "shop/worker:7" in text
    assert "SMTP_CREDENTIAL: ${SMTP_CREDENTIAL}" in text  # not --set: untouched, not said
    assert done.left == () and done.flagged == {"GITHUB_PAT": "GitHub Token"}


def test_a_plain_value_is_resolved(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPLOADER_ID", "ci-agent-3")
    monkeypatch.setenv("GITHUB_PAT", "")  # empty: nothing to bake
    for name in ("BUILD_TAG", "SMTP_CREDENTIAL", "DB_PASSWORD"):
        monkeypatch.setenv(name, "x")
    done = prepare(CI.encode(), {}, interpolate=True)
    text = done.text.decode()
    assert "UPLOADER: ci-agent-3" in text and 'GITHUB_PAT: ""\n' in text
    assert done.flagged == {}
