"""Bearer-token access control.

Publishing needs a publish token once any is configured; reading needs a read token (or a
publish token) once any read token is configured. Tokens are compared with
:func:`hmac.compare_digest` against every configured token, so timing tells nothing about
which one (or which prefix) matched. HTTP Basic credentials are accepted for reads with the
token as password, because ``git`` over smart HTTP can only send Basic.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Sequence
from dataclasses import dataclass

from flask import current_app, request

from registry.errors import Forbidden, Unauthorized

EXTENSION = "consign.auth"


@dataclass(frozen=True)
class Tokens:
    publish: tuple[str, ...]
    read: tuple[str, ...]
    report: tuple[str, ...] = ()  # the deployer: deployment reports, environment locks

    @property
    def publish_open(self) -> bool:
        return not self.publish

    @property
    def report_open(self) -> bool:
        return not self.report


def _matches(candidate: str, tokens: Sequence[str]) -> bool:
    given = candidate.encode("utf-8", "surrogateescape")
    found = False
    for token in tokens:  # no early exit: every token is compared
        found |= hmac.compare_digest(given, token.encode("utf-8"))
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


def _check(allowed: Sequence[str], action: str, allow_basic: bool) -> None:
    presented = _presented(allow_basic)
    challenge = 'Bearer realm="consign"' + (', Basic realm="consign"' if allow_basic else "")
    if presented is None:
        raise Unauthorized(
            f"{action} needs an 'Authorization: Bearer <token>' header",
            details={"www_authenticate": challenge},
        )
    if not _matches(presented, allowed):
        raise Forbidden(f"the token presented is not allowed to {action.lower()}")


def require_publish() -> None:
    """Raise 401/403 unless the request may publish (always allowed when no tokens are set)."""
    tokens = _tokens()
    if tokens.publish:
        _check(tokens.publish, "Publishing", allow_basic=False)


def require_report() -> None:
    """Raise 401/403 unless the request may report deployments and take environment locks
    (always allowed when no report tokens are set)."""
    tokens = _tokens()
    if tokens.report:
        _check(tokens.report, "Reporting", allow_basic=False)


def require_read() -> None:
    """``before_request`` hook for read blueprints: open unless read tokens are configured."""
    tokens = _tokens()
    if tokens.read:
        _check(tokens.read + tokens.publish + tokens.report, "Reading", allow_basic=True)
