"""The ledger's request bodies: a deployment report (``POST /api/environments/{env}/
deployments``) and the lock requests (take, renew, break), parsed and bounded before anything
touches the store. A record over ``MAX_RECORD_BYTES`` is a 413; whether the version exists
is the store's question (422)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from registry.errors import RecordTooLarge
from registry.http.parsing.fields import (
    check_fields,
    check_name,
    fail,
    json_object,
    optional_text,
    optional_whole_number,
    text,
    timestamp,
    whole_number,
)
from registry.http.parsing.verification import parse_verification
from registry.store import DeploymentRecord, ServiceRecord
from registry.store.ledger import check_environment

KINDS = {
    "deploy": (
        "ok", "failed", "timed_out", "rolled_back", "interrupted", "verified",
        "verification_failed",
    ),
    "rollback": ("ok", "failed", "timed_out", "interrupted"),
    "teardown": ("torn_down", "failed", "moved"),
    "drift": ("drift", "ok"),
    # a re-run of the verification of what is deployed (`consign verify`): an event
    "verify": ("verified", "verification_failed"),
}  # fmt: skip
#: Outcomes that may name the version a failed deploy was rolled back to.
ROLLED_BACK = ("rolled_back", "verification_failed")
#: The mark ``consign bisect`` puts on the records of its steps (bytes of UTF-8).
MAX_BISECT = 200
FIELDS = (
    "id", "kind", "application", "release", "version", "commit", "outcome", "rolled_back_to",
    "started", "finished", "by", "engine", "source", "services", "environment", "bisect",
    "verification",
)  # fmt: skip
REQUIRED = ("id", "kind", "application", "release", "outcome", "started", "finished", "by")
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
#: Limits in bytes of UTF-8 (fields.py): a one-line value (who, a service, an image) and a
#: detail; a source (a URL or a path) between them.
MAX_SHORT = 200
MAX_TEXT = 4000
MAX_SOURCE = 2000
MAX_VERDICT = 50
MAX_OBJECT_BYTES = 16 * 1024
MIN_TTL, MAX_TTL = 10, 24 * 3600
TTL_MEANING = f"a number of seconds from {MIN_TTL} to {MAX_TTL}"


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


def _short(value: Any, where: str) -> str:
    return text(value, where, limit=MAX_SHORT, one_line=True)


def _optional_short(value: Any, where: str) -> str | None:
    return optional_text(value, where, limit=MAX_SHORT, one_line=True)


def _object(value: Any, where: str) -> dict[str, Any]:
    return {} if value is None else json_object(value, where, max_bytes=MAX_OBJECT_BYTES)


def _service(value: Any, where: str, max_build: int) -> ServiceRecord:
    if not isinstance(value, dict):
        raise fail(f"{where} must be a JSON object", where)
    check_fields(value, ("service", "verdict"), SERVICE_FIELDS[2:], prefix=f"{where}.")
    containers = value.get("containers")
    containers = [] if containers is None else containers
    if not isinstance(containers, list) or len(containers) > MAX_CONTAINERS:
        raise fail(
            f"{where}.containers must be a list of container (or task) IDs", f"{where}.containers"
        )
    for i, c in enumerate(containers):
        if not isinstance(c, str) or not CONTAINER_RE.fullmatch(c):
            name = f"{where}.containers[{i}]"
            raise fail(
                f"{name} must be a hexadecimal container ID or a Swarm task ID, not {c!r}", name
            )
    build = _object(value.get("build"), f"{where}.build")
    if len(json.dumps(build).encode()) > max_build:
        raise fail(f"{where}.build exceeds {max_build} bytes", f"{where}.build")
    return ServiceRecord(
        service=_short(value["service"], f"{where}.service"),
        verdict=text(value["verdict"], f"{where}.verdict", limit=MAX_VERDICT, one_line=True),
        detail=text(value.get("detail", ""), f"{where}.detail", limit=MAX_TEXT, blank=True),
        containers=list(containers),
        image=_optional_short(value.get("image"), f"{where}.image"),
        component=_optional_short(value.get("component"), f"{where}.component"),
        build=build,
        config_hash=_optional_short(value.get("config_hash"), f"{where}.config_hash"),
    )


def parse_record(
    body: dict[str, Any], environment: str, *, size: int, max_bytes: int, max_build: int
) -> DeploymentRecord:
    """A validated record for ``environment`` (the URL's; a body ``environment`` must match)."""
    if size > max_bytes:
        raise RecordTooLarge(f"the record is {size} bytes; the limit is {max_bytes}")
    check_environment(environment)
    check_fields(body, REQUIRED, tuple(f for f in FIELDS if f not in REQUIRED))
    if body.get("environment", environment) != environment:
        raise fail(
            f"environment {body['environment']!r} differs from the URL's {environment!r}",
            "environment",
        )
    if not isinstance(body["id"], str) or not ID_RE.fullmatch(body["id"]):
        raise fail("id must be 8 to 128 characters of A-Z a-z 0-9 . _ : - (a UUID)", "id")
    kind = body["kind"]
    if not isinstance(kind, str) or kind not in KINDS:
        raise fail(f"kind must be one of {', '.join(KINDS)}, not {kind!r}", "kind")
    outcome = body["outcome"]
    if not isinstance(outcome, str) or outcome not in KINDS[kind]:
        allowed = ", ".join(KINDS[kind])
        raise fail(f"the outcome of a {kind} is one of {allowed}, not {outcome!r}", "outcome")
    version = optional_whole_number(body.get("version"), "version")
    if version is None and kind in ("deploy", "rollback", "verify"):
        raise fail(f"a {kind} record needs its version", "version")
    rolled_back_to = optional_whole_number(body.get("rolled_back_to"), "rolled_back_to")
    if (outcome == "rolled_back" and rolled_back_to is None) or (
        rolled_back_to is not None and (outcome not in ROLLED_BACK or kind != "deploy")
    ):
        raise fail(
            "rolled_back_to is required with outcome rolled_back, allowed with a deploy's "
            "verification_failed, and only then",
            "rolled_back_to",
        )
    verification = parse_verification(body.get("verification"), kind, outcome)
    commit = body.get("commit")
    if commit is not None and (not isinstance(commit, str) or not COMMIT_RE.fullmatch(commit)):
        raise fail("commit must be a full hexadecimal Git commit id or null", "commit")
    started = timestamp(body["started"], "started")
    finished = timestamp(body["finished"], "finished")
    if finished < started:
        raise fail(f"finished ({finished}) is before started ({started})", "finished")
    services = body.get("services")
    services = [] if services is None else services
    if not isinstance(services, list) or len(services) > MAX_SERVICES:
        raise fail(f"services must be a list of at most {MAX_SERVICES} objects", "services")
    parsed = [_service(s, f"services[{i}]", max_build) for i, s in enumerate(services)]
    names = [s.service for s in parsed]
    if len(set(names)) != len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise fail(f"services names {twice!r} twice", "services")
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
        by=_short(body["by"], "by"),
        engine=_object(body.get("engine"), "engine"),
        source=optional_text(body.get("source"), "source", limit=MAX_SOURCE),
        services=parsed,
        bisect=optional_text(body.get("bisect"), "bisect", limit=MAX_BISECT, one_line=True),
        verification=verification,
    )


def _ttl(value: Any) -> int:
    return whole_number(value, "ttl", low=MIN_TTL, high=MAX_TTL, meaning=TTL_MEANING)


def parse_lock(body: dict[str, Any], default_ttl: int) -> LockRequest:
    """``{"holder": {...}, "ttl": seconds, "replace"?: lock id}``; the holder must say ``by``."""
    check_fields(body, (), ("holder", "ttl", "replace"))
    holder = _object(body.get("holder"), "holder")
    if "by" not in holder:
        raise fail("holder.by (who deploys) is missing", "holder.by")
    _short(holder["by"], "holder.by")
    ttl = _ttl(body.get("ttl", default_ttl))
    return LockRequest(holder, ttl, _optional_short(body.get("replace"), "replace"))


def parse_break(body: dict[str, Any]) -> BreakRequest:
    """``{"by": who, "reason": why, "id"?: the lock's id}`` (both recorded in the ledger)."""
    check_fields(body, ("by", "reason"), ("id",))
    return BreakRequest(
        by=_short(body["by"], "by"),
        reason=text(body["reason"], "reason", limit=MAX_TEXT),
        id=_optional_short(body.get("id"), "id"),
    )


def parse_ttl(body: dict[str, Any]) -> int | None:
    check_fields(body, (), ("ttl",))
    ttl = body.get("ttl")
    return None if ttl is None else _ttl(ttl)
