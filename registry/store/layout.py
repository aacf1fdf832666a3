"""The repository's ref layout: the one module that knows where each kind of ref lives.

- a release's branch ``refs/heads/<app>/<release>`` and its version tags
  ``refs/tags/<app>/<release>/<N>`` (names encoded by :mod:`consign.compose.refnames`);
- the gate's records of a release ``refs/consign/gate/<app>/<release>``;
- an environment's ledger ``refs/ledger/<env>``, what it runs
  ``refs/deployed/<env>/<app>/<release>``, and its retirement ``refs/consign/retired/<env>``;
- ``refs/heads/registry.readme``, which HEAD names (see :mod:`.head`).

Every other module asks here for a ref's name (no ``refs/...`` literal elsewhere).
"""

from __future__ import annotations

import re

from consign.compose import refnames
from consign.compose.errors import InvalidName

BRANCHES = "refs/heads/"
TAGS = "refs/tags/"
GATE = "refs/consign/gate/"
RETIRED = "refs/consign/retired/"
LEDGER = "refs/ledger/"
DEPLOYED = "refs/deployed/"
README_BRANCH = "registry.readme"  # a "." never appears in an encoded application name
README_REF = BRANCHES + README_BRANCH

# Compose's own project-name rule, so a project name is always a valid environment name;
# also a valid Git ref component, URL segment and file name as it is (no encoding).
ENVIRONMENT_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")


def check_environment(name: object, where: str = "environment") -> str:
    if not isinstance(name, str) or not ENVIRONMENT_RE.fullmatch(name):
        raise InvalidName(
            f"{where} must be 1 to 63 lower-case letters, digits, '-' or '_', starting with "
            f"a letter or digit, not {name!r}",
            details={"field": where},
        )
    return name


def _app_release(application: str, release: str) -> str:
    app = refnames.encode(application, "application")
    return f"{app}/{refnames.encode(release, 'release')}"


def branch_ref(application: str, release: str) -> str:
    """The release's branch (InvalidName for a name that cannot be stored)."""
    return BRANCHES + _app_release(application, release)


def releases_prefix(encoded_application: str) -> str:
    """Where an (encoded) application's release branches are listed."""
    return f"{BRANCHES}{encoded_application}/"


def tag_name(application: str, release: str, number: int) -> str:
    """A version's tag, without ``refs/tags/`` (the ``tag`` field of a version)."""
    return f"{refnames.encode(application)}/{refnames.encode(release)}/{number}"


def tag_ref(tag: str) -> str:
    """The full ref of a tag named by :func:`tag_name`."""
    return TAGS + tag


def gate_ref(application: str, release: str) -> str:
    return GATE + _app_release(application, release)


def ledger_ref(environment: str) -> str:
    return LEDGER + check_environment(environment)


def deployed_ref(environment: str, application: str, release: str) -> str:
    return f"{DEPLOYED}{environment}/{_app_release(application, release)}"


def retired_ref(environment: str) -> str:
    return RETIRED + check_environment(environment)
