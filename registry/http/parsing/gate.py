"""The gate's request bodies (promotions, policy, freeze, decisions) and the small bodies
parsed with the same rules (retirements): who acts (``by``, one line, :data:`MAX_BY` bytes)
and free text (a comment or reason, ``CONSIGN_MAX_COMMENT_BYTES`` bytes), stripped."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from registry.gate import iso, parse_iso
from registry.http.parsing.fields import (
    boolean,
    check_fields,
    check_name,
    fail,
    name_list,
    text,
    whole_number,
)
from registry.soak import MAX_SOAK_MINUTES, Soak

MAX_BY = 200
MAX_APPROVALS = 100


def free_text(body: dict[str, Any], key: str, *, limit: int, required: bool) -> str:
    """A comment or reason: not blank when required, absent (null) is "" when not."""
    value = body.get(key)
    if value is None and not required:
        return ""
    return text(value, key, limit=limit, blank=not required).strip()


def by(body: dict[str, Any], *, required: bool) -> str:
    """Who the client says acts (recorded beside the token's identity): one line."""
    value = body.get("by")
    if value is None and not required:
        return ""
    return text(value, "by", limit=MAX_BY, blank=not required, one_line=True).strip()


@dataclass(frozen=True)
class PromotionRequest:
    from_application: str
    from_release: str
    version: int
    by: str
    create: bool = False  # the target release may be created by this promotion


def parse_promotion(body: dict[str, Any], application: str) -> PromotionRequest:
    check_fields(body, ("from_release", "version"), ("from_application", "by", "create"))
    create = boolean(body.get("create", False), "create")
    from_release = check_name(body["from_release"], "from_release")
    from_application = application
    if body.get("from_application") is not None:
        from_application = check_name(body["from_application"], "from_application")
    version = whole_number(body["version"], "version")
    return PromotionRequest(
        from_application, from_release, version, by(body, required=False), create
    )


def parse_promotion_query(args: dict[str, str], application: str) -> PromotionRequest:
    """``?from_release=&version=[&from_application=]`` of a promotion check."""
    check_fields(args, ("from_release", "version"), ("from_application",))
    version = args["version"]
    if not version.isdigit() or int(version) < 1:
        raise fail(f"version must be a positive whole number, not {version!r}", "version")
    from_application = check_name(args.get("from_application") or application, "from_application")
    return PromotionRequest(
        from_application, check_name(args["from_release"], "from_release"), int(version), ""
    )


@dataclass(frozen=True)
class PolicyRequest:
    promotion_only: bool
    from_releases: tuple[str, ...]
    approvals: int
    healthy_in: tuple[str, ...]
    by: str
    verified_in: tuple[str, ...] = ()
    soak: Soak | None = None


def parse_soak(value: Any) -> Soak | None:
    """``{"environment": E, "minutes": M}`` (M from 1 to 90 days), or null: no soak."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise fail('soak must be an object {"environment": ..., "minutes": ...} or null', "soak")
    check_fields(value, ("environment", "minutes"), (), prefix="soak.")
    environment = check_name(value["environment"], "soak.environment")
    minutes = whole_number(value["minutes"], "soak.minutes", low=1, high=MAX_SOAK_MINUTES)
    return Soak(environment, minutes)


def parse_policy(body: dict[str, Any], release: str) -> PolicyRequest:
    check_fields(
        body,
        (),
        ("promotion_only", "from_releases", "approvals", "healthy_in", "verified_in", "soak", "by"),
    )
    promotion_only = boolean(body.get("promotion_only", False), "promotion_only")
    approvals = whole_number(body.get("approvals", 0), "approvals", low=0, high=MAX_APPROVALS)
    from_releases = name_list(body.get("from_releases"), "from_releases", at_least_one=False)
    if release in from_releases:
        raise fail(
            f"from_releases names {release!r} itself: a release cannot be promoted into itself",
            "from_releases",
        )
    healthy_in = name_list(body.get("healthy_in"), "healthy_in", at_least_one=False)
    verified_in = name_list(body.get("verified_in"), "verified_in", at_least_one=False)
    soak = parse_soak(body.get("soak"))
    who = by(body, required=False)
    return PolicyRequest(
        promotion_only, from_releases, approvals, healthy_in, who, verified_in, soak
    )


@dataclass(frozen=True)
class FreezeRequest:
    reason: str
    by: str
    until: str | None


def parse_freeze(body: dict[str, Any], now: datetime, max_text: int) -> FreezeRequest:
    check_fields(body, ("reason", "by"), ("until",))
    reason = free_text(body, "reason", limit=max_text, required=True)
    until = body.get("until")
    if until is not None:
        moment = parse_iso(until) if isinstance(until, str) else None
        if moment is None:
            raise fail(
                f"until must be an ISO-8601 time with a zone (2026-12-24T18:00:00Z), not {until!r}",
                "until",
            )
        if moment <= now:
            raise fail(f"until {until!r} is already past", "until")
        until = iso(moment)
    return FreezeRequest(reason, by(body, required=True), until)


@dataclass(frozen=True)
class DecisionRequest:
    by: str
    text: str


def parse_decision(body: dict[str, Any], key: str, max_text: int) -> DecisionRequest:
    """An approval (``key`` "comment", optional) or a rejection (``key`` "reason", required)."""
    required = key == "reason"
    check_fields(body, ("by", key) if required else ("by",), () if required else (key,))
    who = by(body, required=True)
    return DecisionRequest(who, free_text(body, key, limit=max_text, required=required))
