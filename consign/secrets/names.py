"""Which variable names mark a secret: Bamboo's masking rule, configurable once.

Bamboo hides a variable's value in its logs when the name contains ``password``,
``secret`` or ``passphrase`` (case-insensitive); we add ``token``, ``key`` (an API key,
a token) and ``credential`` (``SMTP_CREDENTIAL``, ``AWS_CREDENTIALS``).
``CONSIGN_SECRET_NAMES`` (comma-separated parts of names) replaces the list.

Left out on purpose, because a marker is a substring and these mark everyday names:
``auth`` (``AUTHOR``, ``OAUTH_URL``, ``AUTH_ENABLED``), ``pat`` (``PATH``, ``PATTERN``,
``COMPAT_MODE``) and ``private`` (``PRIVATE_REGISTRY``, ``PRIVATE_NETWORK``; a
``PRIVATE_KEY`` is already marked by ``key``). A secret under such a name (``GITHUB_PAT``)
is caught by its value instead: ``consign publish`` also leaves a variable unresolved when
:func:`consign.secrets.detector.scan` flags the value it would bake in.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

#: Parts of a name, any case, that mark the variable as a secret.
DEFAULT_MARKERS: tuple[str, ...] = (
    "password",
    "secret",
    "passphrase",
    "token",
    "key",
    "credential",
)

#: The environment variable that replaces DEFAULT_MARKERS.
ENVIRONMENT_VARIABLE = "CONSIGN_SECRET_NAMES"


def markers(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The markers in force: ``CONSIGN_SECRET_NAMES`` when set (empty parts ignored),
    else the defaults. An empty setting means no name marks a secret."""
    env = os.environ if environ is None else environ
    raw = env.get(ENVIRONMENT_VARIABLE)
    if raw is None:
        return DEFAULT_MARKERS
    return tuple(part.strip().lower() for part in raw.split(",") if part.strip())


def is_secret_name(name: str, marked_by: Iterable[str] | None = None) -> bool:
    """True when *name* contains one of the markers (case-insensitive)."""
    lowered = name.lower()
    return any(marker in lowered for marker in (markers() if marked_by is None else marked_by))
