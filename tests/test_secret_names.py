"""The one rule for secret-looking variable names (consign/secrets/names.py)."""

from __future__ import annotations

import pytest

from consign.secrets.names import DEFAULT_MARKERS, is_secret_name, markers


@pytest.mark.parametrize(
    "name",
    [
        "DB_PASSWORD",
        "db_password",
        "SECRET_KEY",
        "API_TOKEN",
        "SSH_PASSPHRASE",
        "AWS_ACCESS_KEY_ID",
        "SMTP_CREDENTIAL",
        "aws_credentials_file",
    ],
)
def test_secret_names_are_found_whatever_their_case(name: str) -> None:
    assert is_secret_name(name)


# Everyday names that "auth", "pat" or "private" would have marked (the module says why).
@pytest.mark.parametrize(
    "name",
    ["TAG", "DB_HOST", "REPLICAS", "LOG_LEVEL", "PATH", "AUTHOR", "OAUTH_URL", "PRIVATE_NETWORK"],
)
def test_other_names_are_not_secrets(name: str) -> None:
    assert not is_secret_name(name)


def test_the_setting_replaces_the_markers() -> None:
    assert markers({}) == DEFAULT_MARKERS
    assert markers({"CONSIGN_SECRET_NAMES": " Cred , ,pin"}) == ("cred", "pin")
    assert markers({"CONSIGN_SECRET_NAMES": ""}) == ()
    assert is_secret_name("DB_CRED", markers({"CONSIGN_SECRET_NAMES": "cred"}))
    assert not is_secret_name("DB_PASSWORD", markers({"CONSIGN_SECRET_NAMES": "cred"}))
