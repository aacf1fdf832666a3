"""Registry configuration: defaults, the environment, and token lists.

`create_app` layers three sources, later ones winning: :data:`DEFAULTS`, the ``CONSIGN_*``
environment (``Flask.config.from_prefixed_env``), then the ``test_config`` mapping. Tokens
may come as a comma-separated string, a list, or a file with one token per line.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

DEFAULTS: dict[str, Any] = {
    "REPO": "./var/registry.git",
    "PUBLISH_TOKENS": "",
    "READ_TOKENS": "",
    "PUBLISH_TOKENS_FILE": "",
    "READ_TOKENS_FILE": "",
    "REPORT_TOKENS": "",
    "REPORT_TOKENS_FILE": "",
    "APPROVE_TOKENS": "",
    "APPROVE_TOKENS_FILE": "",
    "RELEASE_TOKENS": "",
    "RELEASE_TOKENS_FILE": "",
    "MAX_BODY_BYTES": 1024 * 1024,
    "MAX_TARGETS": 50,
    "MAX_BUILD_BYTES": 16 * 1024,
    "MAX_LIST_LIMIT": 1000,
    "DEFAULT_LIST_LIMIT": 20,
    "RUNDECK_LIST_LIMIT": 100,
    "MAX_COMMENT_BYTES": 4096,
    # A fragment's size with its YAML aliases expanded, and an assembled descriptor's size.
    "MAX_FRAGMENT_BYTES": 1024 * 1024,
    "MAX_DESCRIPTOR_BYTES": 8 * 1024 * 1024,
    "MAX_RECORD_BYTES": 256 * 1024,
    "LOCK_TTL": 300,
    "MAX_FILES": 100,
    "MAX_FILE_BYTES": 256 * 1024,
    # `consign serve` announces open publishing once, in the master; its workers do not.
    "ANNOUNCE_OPEN_PUBLISH": True,
    # fsync objects and refs before a publish answers (see registry/store/packwriter.py)
    "DURABLE": True,
    # What a publish's secret-looking literals do when the release's policy does not say:
    # warn | refuse (registry/secretpolicy.py, docs/secrets.md)
    "SECRETS": "warn",
    # The web UI (registry/http/views/ui): the key signing its session cookie and CSRF tokens
    # (when neither is set, a random key is kept in the repository folder, see ui/setup.py),
    # the Rundeck deploy link, the trusted reverse proxy's identity header (off when empty).
    "SECRET_KEY": None,
    "SECRET_KEY_FILE": "",
    "UI_RUNDECK_URL_TEMPLATE": "",
    "UI_IDENTITY_HEADER": "",
    "UI_TRUSTED_PROXIES": "127.0.0.1,::1",
    "UI_FIND_SCAN": 1000,
    "PERMANENT_SESSION_LIFETIME": 8 * 3600,
    # Events pushed to webhooks (registry/http/events.py, docs/events.md); the admin role
    # reads the subscriptions and their delivery logs.
    "ADMIN_TOKENS": "",
    "ADMIN_TOKENS_FILE": "",
    "WEBHOOKS_FILE": "",
    "WEBHOOKS_DIR": "",
    "WEBHOOKS_DURABLE": False,
    "WEBHOOKS_RETRY_FOR": "1h",
    "WEBHOOKS_BACKOFF": "1s",
    "WEBHOOKS_MAX_BACKOFF": "5m",
    "WEBHOOKS_TIMEOUT": "10s",
    "WEBHOOKS_CA_FILE": "",
    # set by `consign serve` in its workers only: they run the delivery worker's claimant
    "WEBHOOKS_DELIVER": False,
    "PUBLIC_URL": "",
}

INTEGER_KEYS = (
    "MAX_BODY_BYTES",
    "MAX_TARGETS",
    "MAX_BUILD_BYTES",
    "MAX_LIST_LIMIT",
    "DEFAULT_LIST_LIMIT",
    "RUNDECK_LIST_LIMIT",
    "MAX_COMMENT_BYTES",
    "MAX_FRAGMENT_BYTES",
    "MAX_DESCRIPTOR_BYTES",
    "MAX_RECORD_BYTES",
    "LOCK_TTL",
    "MAX_FILES",
    "MAX_FILE_BYTES",
    "UI_FIND_SCAN",
)

# Keys whose environment value must stay a raw string: from_prefixed_env would turn a
# token such as "123" or "true" into a number or a boolean.
RAW_STRING_KEYS = ("PUBLISH_TOKENS", "READ_TOKENS", "PUBLISH_TOKENS_FILE", "READ_TOKENS_FILE")
#: The token settings of the roles added beside publish and read (registry/http/auth.py).
ROLE_TOKEN_KEYS = tuple(
    f"{role}_TOKENS{suffix}"
    for role in ("REPORT", "APPROVE", "RELEASE", "ADMIN")
    for suffix in ("", "_FILE")
)
UI_RAW_STRING_KEYS = ("SECRET_KEY", "UI_RUNDECK_URL_TEMPLATE")
ENV_PREFIX = "CONSIGN"


def raw_env_strings(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The token settings exactly as written in the environment."""
    env = os.environ if environ is None else environ
    return {
        key: env[f"{ENV_PREFIX}_{key}"]
        for key in (*RAW_STRING_KEYS, *ROLE_TOKEN_KEYS, *UI_RAW_STRING_KEYS)
        if f"{ENV_PREFIX}_{key}" in env
    }


def _split(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    items: Iterable[Any] = value.split(",") if isinstance(value, str) else value
    return [str(item).strip() for item in items if str(item).strip()]


def _read_file(path: Any) -> list[str]:
    """One token per line; blank lines and ``#`` comments are ignored."""
    if not path:
        return []
    try:
        lines = Path(str(path)).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"cannot read the token file {path}: {e}") from e
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


def load_tokens(config: Mapping[str, Any], kind: str) -> tuple[str, ...]:
    """The configured entries of a role (``kind``: "PUBLISH", "READ", "REPORT", ...), from the
    list and the file, in order, without duplicates; each entry is ``token`` or
    ``identity:token`` (split by :func:`registry.http.auth.grants`)."""
    tokens = _split(config.get(f"{kind}_TOKENS")) + _read_file(config.get(f"{kind}_TOKENS_FILE"))
    return tuple(dict.fromkeys(tokens))


def positive_int(config: Mapping[str, Any], key: str) -> int:
    """An integer setting that must be >= 1 (fails at startup, not at the first request)."""
    value = config.get(key)
    if isinstance(value, bool):
        raise ValueError(f"{ENV_PREFIX}_{key} must be a positive integer, not {value!r}")
    try:
        number = int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as e:
        raise ValueError(f"{ENV_PREFIX}_{key} must be a positive integer, not {value!r}") from e
    if number < 1:
        raise ValueError(f"{ENV_PREFIX}_{key} must be a positive integer, not {value!r}")
    return number
