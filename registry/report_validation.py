"""Parse and bound a deployment report (``POST /api/environments/{env}/deployments``) and a
lock request before anything touches the store.

Every refusal is a 400 naming the field at fault (``services[2].containers[0]``); a record
over ``MAX_RECORD_BYTES`` is a 413. Whether the version exists is the store's question (422).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from registry.errors import BadRequest, RecordTooLarge
from registry.store import DeploymentRecord, ServiceRecord
from registry.store.ledger import check_environment
from registry.validation import check_name

KINDS = {
    "deploy": ("ok", "failed", "timed_out", "rolled_back", "interrupted"),
    "rollback": ("ok", "failed", "timed_out", "interrupted"),
    "teardown": ("torn_down", "failed", "moved"),
    "drift": ("drift", "ok"),
}
FIELDS = (
    "id", "kind", "application", "release", "version", "commit", "outcome", "rolled_back_to",
    "started", "finished", "by", "engine", "source", "services", "environment",
)  # fmt: skip
SERVICE_FIELDS = (
    "service", "verdict", "detail", "containers", "image", "component", "build", "config_hash",
)  # fmt: skip
ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,127}")
COMMIT_RE = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
#: A container ID (hex), or a Swarm task ID (25 characters of base 36) for a task whose
#: container the deployer could not inspect (another node, or none created).
CONTAINER_RE = re.compile(r"[0-9a-f]{12,64}|[0-9a-z]{25}")
MAX_SERVICES = 2000
MAX_CONTAINERS = 1000
MAX_TEXT = 4000
MAX_SHORT = 200
MAX_OBJECT_BYTES = 16 * 1024
MIN_TTL, MAX_TTL = 10, 24 * 3600


@dataclass(frozen=True)
class LockRequest:
    holder: dict[str, Any]
    ttl: int
    replace: str | None = None  # the id of a held lock whose holder is known gone


@dataclass(frozen=True)
class BreakRequest:
    by: str
    reason: str
    id: str | None  # break only this lock (None: whichever is held)


def _fail(message: str, where: str) -> BadRequest:
    return BadRequest(message, details={"field": where})


def _text(value: Any, where: str, *, limit: int = MAX_SHORT, empty: bool = False) -> str:
    if not isinstance(value, str):
        raise _fail(f"{where} must be a string", where)
    if not empty and not value.strip():
        raise _fail(f"{where} must not be empty", where)
    if len(value) > limit:
        raise _fail(f"{where} is {len(value)} characters; the limit is {limit}", where)
    if any(ord(c) < 32 and c not in "\n\t" for c in value) or (
        limit <= MAX_SHORT and ("\n" in value or "\t" in value)
    ):
        raise _fail(f"{where} must not contain control characters", where)
    return value


def _optional_text(value: Any, where: str, limit: int = MAX_SHORT) -> str | None:
    return None if value is None else _text(value, where, limit=limit)


def _number(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value < 10**18:
        raise _fail(f"{where} must be a positive integer or null", where)
    return value


def _object(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _fail(f"{where} must be a JSON object", where)
    size = len(json.dumps(value, ensure_ascii=False).encode())
    if size > MAX_OBJECT_BYTES:
        raise _fail(f"{where} is {size} bytes of JSON; the limit is {MAX_OBJECT_BYTES}", where)
    return value


def parse_time(value: Any, where: str) -> str:
    """ISO-8601 with a time zone -> UTC ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (sortable as text)."""
    if not isinstance(value, str) or len(value) > 64:
        raise _fail(f"{where} must be an ISO-8601 time string", where)
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as e:
        raise _fail(f"{where} is not an ISO-8601 time: {value!r}", where) from e
    if when.tzinfo is None:
        raise _fail(f"{where} needs a time zone (e.g. a trailing Z for UTC): {value!r}", where)
    text = when.astimezone(UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def _unknown(body: dict[str, Any], allowed: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        name = f"{where}{unknown[0]}"
        raise _fail(f"unknown field {name!r} (allowed: {', '.join(allowed)})", name)


def _service(value: Any, where: str, max_build: int) -> ServiceRecord:
    if not isinstance(value, dict):
        raise _fail(f"{where} must be a JSON object", where)
    _unknown(value, SERVICE_FIELDS, f"{where}.")
    for key in ("service", "verdict"):
        if key not in value:
            raise _fail(f"the field {where}.{key} is missing", f"{where}.{key}")
    containers = value.get("containers")
    containers = [] if containers is None else containers
    if not isinstance(containers, list) or len(containers) > MAX_CONTAINERS:
        raise _fail(
            f"{where}.containers must be a list of container (or task) IDs", f"{where}.containers"
        )
    for i, c in enumerate(containers):
        if not isinstance(c, str) or not CONTAINER_RE.fullmatch(c):
            name = f"{where}.containers[{i}]"
            raise _fail(
                f"{name} must be a hexadecimal container ID or a Swarm task ID, not {c!r}", name
            )
    build = _object(value.get("build"), f"{where}.build")
    if len(json.dumps(build).encode()) > max_build:
        raise _fail(f"{where}.build exceeds {max_build} bytes", f"{where}.build")
    return ServiceRecord(
        service=_text(value["service"], f"{where}.service"),
        verdict=_text(value["verdict"], f"{where}.verdict", limit=50),
        detail=_text(value.get("detail", ""), f"{where}.detail", limit=MAX_TEXT, empty=True),
        containers=list(containers),
        image=_optional_text(value.get("image"), f"{where}.image"),
        component=_optional_text(value.get("component"), f"{where}.component"),
        build=build,
        config_hash=_optional_text(value.get("config_hash"), f"{where}.config_hash"),
    )


def parse_record(
    body: dict[str, Any], environment: str, *, size: int, max_bytes: int, max_build: int
) -> DeploymentRecord:
    """A validated record for ``environment`` (the URL's; a body ``environment`` must match)."""
    if size > max_bytes:
        raise RecordTooLarge(f"the record is {size} bytes; the limit is {max_bytes}")
    check_environment(environment)
    _unknown(body, FIELDS, "")
    for key in ("id", "kind", "application", "release", "outcome", "started", "finished", "by"):
        if key not in body:
            raise _fail(f"the field {key!r} is missing", key)
    if body.get("environment", environment) != environment:
        raise _fail(
            f"environment {body['environment']!r} differs from the URL's {environment!r}",
            "environment",
        )
    if not isinstance(body["id"], str) or not ID_RE.fullmatch(body["id"]):
        raise _fail("id must be 8 to 128 characters of A-Z a-z 0-9 . _ : - (a UUID)", "id")
    kind = body["kind"]
    if not isinstance(kind, str) or kind not in KINDS:
        raise _fail(f"kind must be one of {', '.join(KINDS)}, not {kind!r}", "kind")
    outcome = body["outcome"]
    if not isinstance(outcome, str) or outcome not in KINDS[kind]:
        allowed = ", ".join(KINDS[kind])
        raise _fail(f"the outcome of a {kind} is one of {allowed}, not {outcome!r}", "outcome")
    version = _number(body.get("version"), "version")
    if version is None and kind in ("deploy", "rollback"):
        raise _fail(f"a {kind} record needs its version", "version")
    rolled_back_to = _number(body.get("rolled_back_to"), "rolled_back_to")
    if (rolled_back_to is None) == (outcome == "rolled_back"):
        raise _fail(
            "rolled_back_to is required with outcome rolled_back, and only then", "rolled_back_to"
        )
    commit = body.get("commit")
    if commit is not None and (not isinstance(commit, str) or not COMMIT_RE.fullmatch(commit)):
        raise _fail("commit must be a full hexadecimal Git commit id or null", "commit")
    started, finished = (
        parse_time(body["started"], "started"),
        parse_time(body["finished"], "finished"),
    )
    if finished < started:
        raise _fail(f"finished ({finished}) is before started ({started})", "finished")
    services = body.get("services")
    services = [] if services is None else services
    if not isinstance(services, list) or len(services) > MAX_SERVICES:
        raise _fail(f"services must be a list of at most {MAX_SERVICES} objects", "services")
    parsed = [_service(s, f"services[{i}]", max_build) for i, s in enumerate(services)]
    names = [s.service for s in parsed]
    if len(set(names)) != len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise _fail(f"services names {twice!r} twice", "services")
    return DeploymentRecord(
        id=body["id"],
        kind=kind,
        environment=environment,
        application=check_name(body["application"], "application"),
        release=check_name(body["release"], "release"),
        version=version,
        commit=commit,
        outcome=outcome,
        rolled_back_to=rolled_back_to,
        started=started,
        finished=finished,
        by=_text(body["by"], "by"),
        engine=_object(body.get("engine"), "engine"),
        source=_optional_text(body.get("source"), "source", limit=2000),
        services=parsed,
    )


def parse_lock(body: dict[str, Any], default_ttl: int) -> LockRequest:
    """``{"holder": {...}, "ttl": seconds, "replace"?: lock id}``; the holder must say ``by``."""
    _unknown(body, ("holder", "ttl", "replace"), "")
    holder = _object(body.get("holder"), "holder")
    if "by" not in holder:
        raise _fail("holder.by (who deploys) is missing", "holder.by")
    _text(holder["by"], "holder.by")
    ttl = body.get("ttl", default_ttl)
    if isinstance(ttl, bool) or not isinstance(ttl, int) or not MIN_TTL <= ttl <= MAX_TTL:
        raise _fail(f"ttl must be a number of seconds from {MIN_TTL} to {MAX_TTL}", "ttl")
    return LockRequest(holder, ttl, _optional_text(body.get("replace"), "replace"))


def parse_break(body: dict[str, Any]) -> BreakRequest:
    """``{"by": who, "reason": why, "id"?: the lock's id}`` (both recorded in the ledger)."""
    _unknown(body, ("by", "reason", "id"), "")
    for key in ("by", "reason"):
        if key not in body:
            raise _fail(f"the field {key!r} is missing", key)
    return BreakRequest(
        by=_text(body["by"], "by"),
        reason=_text(body["reason"], "reason", limit=MAX_TEXT),
        id=_optional_text(body.get("id"), "id"),
    )


def parse_ttl(body: dict[str, Any]) -> int | None:
    _unknown(body, ("ttl",), "")
    ttl = body.get("ttl")
    if ttl is not None and (
        isinstance(ttl, bool) or not isinstance(ttl, int) or not MIN_TTL <= ttl <= MAX_TTL
    ):
        raise _fail(f"ttl must be a number of seconds from {MIN_TTL} to {MAX_TTL}", "ttl")
    return ttl
