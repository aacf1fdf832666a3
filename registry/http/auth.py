"""Bearer-token access control: one table of roles, each with its own tokens.

Roles (docs: README "Configuration"): ``publish`` (CI), ``report`` (the deployer reports
deployments), ``approve`` (QA: approvals and rejections), ``release`` (release managers:
freeze, policy, promote), ``admin`` (operators: the webhook subscriptions and their delivery
logs) and ``read``. Each is configured with ``CONSIGN_<ROLE>_TOKENS``
(comma-separated) and/or ``CONSIGN_<ROLE>_TOKENS_FILE`` (one per line); an entry is
``token`` or ``identity:token``, and a decision records the identity the presented token
maps to (``token-<first 6 hex of its sha256>`` for an entry without one), never only what
the client says. One token may hold several roles by being listed under each.

A write role with no token configured is open (a warning at startup says so); reading is
open unless read tokens are set, and then any configured token of any role reads. ``admin``
is the exception: with no admin token configured its routes are refused to everyone (what
they show names where deliveries go, which an open registry must not tell anyone).
Tokens are compared with :func:`hmac.compare_digest` against every configured token, so
timing tells nothing about which one (or which prefix) matched. HTTP Basic credentials are
accepted for reads with the token as password, because ``git`` over smart HTTP can only
send Basic.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from flask import current_app, g, request

from registry.errors import Forbidden, Unauthorized

EXTENSION = "consign.auth"

#: Every role, in the order of the README's table.
ROLES = ("publish", "report", "approve", "release", "admin", "read")
#: The roles that are open while no token is configured for them (admin is closed instead).
WRITE_ROLES = ("publish", "report", "approve", "release")
#: What each role lets a client do, for messages ("... is not allowed to approve").
ACTIONS = {
    "publish": "publish",
    "report": "report deployments",
    "approve": "approve or reject versions",
    "release": "manage releases (freeze, policy, promote)",
    "admin": "administer the registry (webhooks)",
    "read": "read",
}


@dataclass(frozen=True)
class Grant:
    """One configured entry: the secret and the identity decisions record for it."""

    identity: str
    token: str = field(repr=False)


def default_identity(token: str) -> str:
    """The identity of an entry written without ``identity:``: a stable, non-secret name."""
    return "token-" + hashlib.sha256(token.encode("utf-8")).hexdigest()[:6]


def grants(entries: Sequence[str], role: str) -> tuple[Grant, ...]:
    """Parse ``token`` / ``identity:token`` entries (split at the first ``:``)."""
    found: list[Grant] = []
    for entry in entries:
        identity, sep, token = entry.partition(":")
        if not sep:
            identity, token = default_identity(entry), entry
        identity, token = identity.strip(), token.strip()
        if not identity or not token:
            variable = f"CONSIGN_{role.upper()}_TOKENS"
            raise ValueError(f"{variable}: an 'identity:token' entry needs both parts")
        found.append(Grant(identity, token))
    return tuple(found)


@dataclass(frozen=True)
class Tokens:
    """The role table: role -> its grants (an empty tuple: the role is open)."""

    roles: Mapping[str, tuple[Grant, ...]]

    @classmethod
    def from_entries(cls, entries: Mapping[str, Sequence[str]]) -> Tokens:
        unknown = sorted(set(entries) - set(ROLES))
        if unknown:
            raise ValueError(f"unknown role {unknown[0]!r} (roles: {', '.join(ROLES)})")
        return cls({role: grants(entries.get(role, ()), role) for role in ROLES})

    def of(self, role: str) -> tuple[Grant, ...]:
        return self.roles.get(role, ())

    def is_open(self, role: str) -> bool:
        return not self.of(role)

    @property
    def publish_open(self) -> bool:
        return self.is_open("publish")

    def open_write_roles(self) -> list[str]:
        return [role for role in WRITE_ROLES if self.is_open(role)]

    def readers(self) -> tuple[Grant, ...]:
        """Who may read once read tokens are set: every configured token of every role."""
        return tuple(grant for role in ROLES for grant in self.of(role))


def _match(candidate: str, allowed: Sequence[Grant]) -> Grant | None:
    given = candidate.encode("utf-8", "surrogateescape")
    found: Grant | None = None
    for grant in allowed:  # no early exit: every token is compared
        if hmac.compare_digest(given, grant.token.encode("utf-8")) and found is None:
            found = grant
    return found


def _presented(allow_basic: bool) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if allow_basic and scheme.lower() == "basic" and value.strip():
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return ""
        return decoded.partition(":")[2]
    return None


def _tokens() -> Tokens:
    tokens: Tokens = current_app.extensions[EXTENSION]
    return tokens


def _check(allowed: Sequence[Grant], action: str, allow_basic: bool) -> Grant:
    presented = _presented(allow_basic)
    challenge = 'Bearer realm="consign"' + (', Basic realm="consign"' if allow_basic else "")
    if presented is None:
        raise Unauthorized(
            f"this request needs an 'Authorization: Bearer <token>' header (to {action})",
            details={"www_authenticate": challenge},
        )
    grant = _match(presented, allowed)
    if grant is None:
        raise Forbidden(f"the token presented is not allowed to {action}")
    return grant


def require(role: str) -> str | None:
    """Raise 401/403 unless the request holds ``role``; the identity of the token presented
    (None while the role is open: no token is asked for)."""
    allowed = _tokens().of(role)
    if not allowed:
        return None
    identity = _check(allowed, ACTIONS[role], allow_basic=False).identity
    g.consign_identity = identity
    return identity


def require_publish() -> str | None:
    """Raise 401/403 unless the request may publish (always allowed when no tokens are set)."""
    return require("publish")


def require_report() -> str | None:
    """Raise 401/403 unless the request may report deployments (the deployer's role)."""
    return require("report")


def require_approve() -> str | None:
    """Raise 401/403 unless the request may approve or reject versions (QA)."""
    return require("approve")


def require_release() -> str | None:
    """Raise 401/403 unless the request may freeze, set policy and promote."""
    return require("release")


def require_admin() -> str:
    """Raise 401/403 unless the request holds the ``admin`` role; 403 for everyone while
    no admin token is configured (the one role closed by default)."""
    allowed = _tokens().of("admin")
    if not allowed:
        raise Forbidden(
            "no admin token is configured: set CONSIGN_ADMIN_TOKENS or "
            "CONSIGN_ADMIN_TOKENS_FILE to read this"
        )
    identity = _check(allowed, ACTIONS["admin"], allow_basic=False).identity
    g.consign_identity = identity
    return identity


def require_read() -> None:
    """``before_request`` hook for read blueprints: open unless read tokens are configured;
    then any configured token of any role reads."""
    tokens = _tokens()
    if tokens.of("read"):
        _check(tokens.readers(), ACTIONS["read"], allow_basic=True)
