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

from registry.auth import EXTENSION as AUTH_EXTENSION
from registry.auth import Tokens
from registry.views.ui.setup import PROXIES_EXTENSION

#: Session keys.
DIGEST, IDENTITY, SIGNED_IN = "token_sha256", "identity", "signed_in"
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


def role_table() -> dict[str, tuple[str, ...]]:
    """Role -> its configured tokens. Any configured token reads; publish tokens also read."""
    tokens: Tokens = current_app.extensions[AUTH_EXTENSION]
    return {"publish": tokens.publish, "read": tokens.read}


def read_is_open() -> bool:
    """Reading needs no sign-in unless read tokens are configured (the API's rule)."""
    return not role_table()["read"]


def any_token_configured() -> bool:
    return any(role_table().values())


def roles_of(token_digest: str) -> frozenset[str]:
    """The roles whose tokens include one with this SHA-256 (compared in constant time,
    every token compared)."""
    roles: set[str] = set()
    given = token_digest.encode("ascii", "replace")
    for role, tokens in role_table().items():
        found = False
        for token in tokens:
            found |= hmac.compare_digest(given, digest(token).encode("ascii"))
        if found:
            roles.add(role)
    return frozenset(roles | {"read"}) if roles else frozenset()


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
    """The viewer of this request (proxy identity first, then the session)."""
    proxied = _proxy_identity()
    if proxied is not None:
        return Viewer(proxied, frozenset({"read"}), "proxy")
    stored = session.get(DIGEST)
    if not isinstance(stored, str):
        return ANONYMOUS
    roles = roles_of(stored)
    if not roles:
        session.clear()  # the token is no longer configured: signed out
        return ANONYMOUS
    return Viewer(str(session.get(IDENTITY) or token_identity(stored)), roles, "session")


def sign_in(token: str) -> Viewer | None:
    """Start a session for ``token``; None (and nothing stored) when no role has it."""
    token_digest = digest(token)
    roles = roles_of(token_digest)
    if not roles:
        return None
    session.clear()  # a fresh session (and CSRF token) at every sign-in: no fixation
    session.permanent = True
    session[DIGEST] = token_digest
    session[IDENTITY] = token_identity(token_digest)
    return Viewer(session[IDENTITY], roles, "session")


def sign_out() -> None:
    session.clear()
