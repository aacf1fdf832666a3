"""Who is looking at a page, and what they may do: from the session (a token entered once
on the sign-in page) or from a trusted reverse proxy's identity header (off by default).

The session keeps the token's SHA-256, never the token: the cookie is signed, not
encrypted. Each request matches that digest against the tokens configured *now*, so a
token removed from the configuration signs its sessions out at their next request.
:func:`role_table` is the one place that reads the configured roles.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from dataclasses import dataclass

from flask import current_app, request, session

from registry.http.auth import EXTENSION as AUTH_EXTENSION
from registry.http.auth import WRITE_ROLES
from registry.http.views.ui.setup import PROXIES_EXTENSION

#: The session key: the digest of the token signed in with (the identity and roles are
#: looked up again at every request, from the configuration in force).
DIGEST = "token_sha256"
MAX_IDENTITY = 200


@dataclass(frozen=True)
class Viewer:
    identity: str | None  # None: nobody signed in
    roles: frozenset[str]
    via: str  # "session", "proxy" or "" (anonymous)

    def can(self, role: str) -> bool:
        return role in self.roles


ANONYMOUS = Viewer(None, frozenset(), "")


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def token_identity(token_digest: str) -> str:
    """The identity of a token entry without ``identity:`` (the roles contract)."""
    return f"token-{token_digest[:6]}"


def role_table() -> dict[str, tuple[tuple[str, str], ...]]:
    """Role -> its configured (identity, token) pairs: the one place that reads the roles.

    Works with the role table of ``registry/http/auth.py`` (``Tokens.roles``: role -> grants with
    ``identity`` and ``token``, ``identity:token`` entries) and with the older publish/read
    pair (an entry's identity is then ``token-<6 hex>``)."""
    tokens = current_app.extensions[AUTH_EXTENSION]
    roles = getattr(tokens, "roles", None)
    if roles is not None:
        return {
            str(role): tuple((str(g.identity), str(g.token)) for g in grants)
            for role, grants in roles.items()
        }
    pairs = {role: tuple(getattr(tokens, role, ())) for role in ("publish", "read")}
    return {
        role: tuple((token_identity(digest(t)), t) for t in found) for role, found in pairs.items()
    }


def read_is_open() -> bool:
    """Reading needs no sign-in unless read tokens are configured (the API's rule)."""
    return not role_table().get("read")


def any_token_configured() -> bool:
    return any(role_table().values())


def open_roles() -> frozenset[str]:
    """The write roles with no token configured: open to anyone, as the API is (a form of
    such a role asks who acts instead of a sign-in)."""
    table = role_table()
    return frozenset(role for role in WRITE_ROLES if not table.get(role))


def match(token_digest: str) -> tuple[str | None, frozenset[str]]:
    """The identity and roles of the configured token with this SHA-256 (compared in
    constant time, every token compared); any configured token also reads."""
    roles: set[str] = set()
    identity: str | None = None
    given = token_digest.encode("ascii", "replace")
    for role, pairs in role_table().items():
        for name, token in pairs:
            if hmac.compare_digest(given, digest(token).encode("ascii")):
                roles.add(role)
                identity = identity or name
    return identity, frozenset(roles | {"read"}) if roles else frozenset()


def roles_of(token_digest: str) -> frozenset[str]:
    return match(token_digest)[1]


def proxy_roles(identity: str) -> frozenset[str]:
    """A proxy-named user reads, and holds every role with an entry of that identity."""
    named = {role for role, pairs in role_table().items() for name, _ in pairs if name == identity}
    return frozenset(named | {"read"})


def _proxy_identity() -> str | None:
    header = str(current_app.config.get("UI_IDENTITY_HEADER") or "")
    if not header:
        return None
    value = request.headers.get(header, "").strip()
    if not value or len(value) > MAX_IDENTITY or not value.isprintable():
        return None
    try:
        peer = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return None
    if not any(peer in network for network in current_app.extensions[PROXIES_EXTENSION]):
        return None  # anyone can send the header: only the proxy's word counts
    return value


def current() -> Viewer:
    """The viewer of this request (proxy identity first, then the session); everyone holds
    the open roles (:func:`open_roles`)."""
    free = open_roles()
    proxied = _proxy_identity()
    if proxied is not None:
        return Viewer(proxied, proxy_roles(proxied) | free, "proxy")
    stored = session.get(DIGEST)
    if not isinstance(stored, str):
        return Viewer(None, free, "")
    identity, roles = match(stored)
    if not roles:
        session.clear()  # the token is no longer configured: signed out
        return Viewer(None, free, "")
    return Viewer(identity or token_identity(stored), roles | free, "session")


def sign_in(token: str) -> Viewer | None:
    """Start a session for ``token``; None (and nothing stored) when no role has it."""
    token_digest = digest(token)
    identity, roles = match(token_digest)
    if not roles:
        return None
    session.clear()  # a fresh session (and CSRF token) at every sign-in: no fixation
    session.permanent = True
    session[DIGEST] = token_digest
    return Viewer(identity or token_identity(token_digest), roles, "session")


def sign_out() -> None:
    session.clear()
