"""Parse and bound the gate's request bodies (promotions, policy, freeze, decisions).

Every refusal is a 400 naming the field at fault, raised before anything touches the store.
Free text (``by``, comments, reasons) is bounded: ``by`` to :data:`MAX_BY` characters, a
comment or reason to ``CONSIGN_MAX_COMMENT_BYTES`` bytes of UTF-8.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from registry.errors import BadRequest
from registry.gate import iso, parse_iso
from registry.validation import check_name

MAX_BY = 200
MAX_APPROVALS = 100


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    return "null" if value is None else names.get(type(value), "a number")


def _fields(body: dict[str, Any], required: Sequence[str], optional: Sequence[str]) -> None:
    allowed = (*required, *optional)
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise BadRequest(
            f"unknown field {unknown[0]!r} (allowed: {', '.join(allowed)})",
            details={"field": unknown[0]},
        )
    for key in required:
        if key not in body:
            raise BadRequest(f"the field {key!r} is missing", details={"field": key})


#: The fields check, for other small bodies parsed with these rules (retirements).
fields = _fields


def text(body: dict[str, Any], key: str, *, limit: int, required: bool) -> str:
    """A free-text field: a string, not blank when required, at most ``limit`` bytes."""
    value = body.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise BadRequest(f"{key} must be a string, not {_kind(value)}", details={"field": key})
    if required and not value.strip():
        raise BadRequest(f"{key} must not be blank", details={"field": key})
    size = len(value.encode("utf-8", "surrogatepass"))
    if size > limit:
        raise BadRequest(
            f"{key} is {size} bytes; the limit is {limit}", details={"field": key, "limit": limit}
        )
    if any(ord(c) < 32 and c not in "\n\t" for c in value):
        raise BadRequest(f"{key} must not contain control characters", details={"field": key})
    return value.strip()


def by(body: dict[str, Any], *, required: bool) -> str:
    """Who the client says acts (recorded beside the token's identity)."""
    value = text(body, "by", limit=MAX_BY, required=required)
    if "\n" in value:
        raise BadRequest("by must be one line", details={"field": "by"})
    return value


def _names(body: dict[str, Any], key: str) -> tuple[str, ...]:
    value = body.get(key)
    if value is None:
        return ()
    if not isinstance(value, list):
        raise BadRequest(
            f"{key} must be an array of names, not {_kind(value)}", details={"field": key}
        )
    names = [check_name(item, f"{key}[{i}]") for i, item in enumerate(value)]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise BadRequest(f"{key} names {duplicates[0]!r} twice", details={"field": key})
    return tuple(names)


@dataclass(frozen=True)
class PromotionRequest:
    from_application: str
    from_release: str
    version: int
    by: str
    create: bool = False  # the target release may be created by this promotion


def parse_promotion(body: dict[str, Any], application: str) -> PromotionRequest:
    _fields(body, ("from_release", "version"), ("from_application", "by", "create"))
    create = body.get("create", False)
    if not isinstance(create, bool):
        raise BadRequest(
            f"create must be true or false, not {_kind(create)}", details={"field": "create"}
        )
    from_release = check_name(body["from_release"], "from_release")
    from_application = application
    if body.get("from_application") is not None:
        from_application = check_name(body["from_application"], "from_application")
    version = body["version"]
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version < 10**18:
        raise BadRequest(
            f"version must be a positive whole number, not {version!r}",
            details={"field": "version"},
        )
    return PromotionRequest(
        from_application, from_release, version, by(body, required=False), create
    )


@dataclass(frozen=True)
class PolicyRequest:
    promotion_only: bool
    from_releases: tuple[str, ...]
    approvals: int
    healthy_in: tuple[str, ...]
    by: str


def parse_policy(body: dict[str, Any], release: str) -> PolicyRequest:
    _fields(body, (), ("promotion_only", "from_releases", "approvals", "healthy_in", "by"))
    promotion_only = body.get("promotion_only", False)
    if not isinstance(promotion_only, bool):
        raise BadRequest(
            f"promotion_only must be true or false, not {_kind(promotion_only)}",
            details={"field": "promotion_only"},
        )
    approvals = body.get("approvals", 0)
    if (
        isinstance(approvals, bool)
        or not isinstance(approvals, int)
        or not 0 <= approvals <= MAX_APPROVALS
    ):
        raise BadRequest(
            f"approvals must be a whole number from 0 to {MAX_APPROVALS}, not {approvals!r}",
            details={"field": "approvals"},
        )
    from_releases = _names(body, "from_releases")
    if release in from_releases:
        raise BadRequest(
            f"from_releases names {release!r} itself: a release cannot be promoted into itself",
            details={"field": "from_releases"},
        )
    healthy_in = _names(body, "healthy_in")
    who = by(body, required=False)
    return PolicyRequest(promotion_only, from_releases, approvals, healthy_in, who)


@dataclass(frozen=True)
class FreezeRequest:
    reason: str
    by: str
    until: str | None


def parse_freeze(body: dict[str, Any], now: datetime, max_text: int) -> FreezeRequest:
    _fields(body, ("reason", "by"), ("until",))
    reason = text(body, "reason", limit=max_text, required=True)
    until = body.get("until")
    if until is not None:
        moment = parse_iso(until) if isinstance(until, str) else None
        if moment is None:
            raise BadRequest(
                f"until must be an ISO-8601 time with a zone (2026-12-24T18:00:00Z), not {until!r}",
                details={"field": "until"},
            )
        if moment <= now:
            raise BadRequest(f"until {until!r} is already past", details={"field": "until"})
        until = iso(moment)
    return FreezeRequest(reason, by(body, required=True), until)


@dataclass(frozen=True)
class DecisionRequest:
    by: str
    text: str


def parse_decision(body: dict[str, Any], key: str, max_text: int) -> DecisionRequest:
    """An approval (``key`` "comment", optional) or a rejection (``key`` "reason", required)."""
    required = key == "reason"
    _fields(body, ("by", key) if required else ("by",), () if required else (key,))
    who = by(body, required=True)
    return DecisionRequest(who, text(body, key, limit=max_text, required=required))
