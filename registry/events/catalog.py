"""The events the registry emits: their names, and the one builder per kind from what the
store hands back after a successful write.

An event carries the attributes subscriptions filter on (application, release, environment,
outcome) beside its data; its ``id`` is made once, when it is emitted, and every delivery
attempt of it to every subscriber carries the same id (receivers deduplicate by it).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from registry.gate import Decision, Freeze
from registry.store.records import to_json
from registry.store.types import DeploymentRecord, EnvironmentLock, VersionInfo

#: Every event name a subscription may list, and what it means (docs/events.md).
KINDS: dict[str, str] = {
    "version.published": "a publish created a version",
    "version.promoted": "a promotion created a version from another release's",
    "version.approved": "a version was approved",
    "version.rejected": "a version was rejected",
    "release.frozen": "a release was frozen",
    "release.thawed": "a release was thawed",
    "deployment.recorded": "a deploy, rollback, teardown or verification was recorded",
    "drift.recorded": "a drift report was recorded",
    "lock.taken": "an environment's lock was taken",
    "lock.released": "an environment's lock was released by its holder",
    "lock.broken": "an environment's lock was broken by someone else",
}
#: The CloudEvents ``type`` of an event: reverse-DNS, as the spec recommends.
TYPE_PREFIX = "io.consignment."
#: The attributes a subscription's filters match (docs/events.md, "Filters").
FILTERED = ("application", "release", "environment", "outcome")
#: The kinds re-derived from the store after a crash (registry/events/recovery.py), whose
#: ids are therefore made from what the store keeps; the others are fsynced when emitted.
DERIVED = frozenset(
    {"version.published", "version.promoted", "deployment.recorded", "drift.recorded"}
)
_IDS = uuid.UUID("6f1c2b1e-25e0-4c0b-9d1e-0c0a5e7e0025")


def derived_id(kind: str, key: str) -> str:
    """The same id whenever the same write's event is made (at the write, or re-derived)."""
    return str(uuid.uuid5(_IDS, f"{kind}\n{key}"))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Event:
    """One thing the registry wrote. ``subject`` names what it is about, as a path
    (``TLO/Milestone/41``, ``qa-1``); ``data`` is the event's JSON payload."""

    kind: str
    subject: str
    data: dict[str, Any]
    application: str | None = None
    release: str | None = None
    environment: str | None = None
    outcome: str | None = None
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    time: str = field(default_factory=_now)

    @property
    def type(self) -> str:
        return TYPE_PREFIX + self.kind

    def attribute(self, name: str) -> str | None:
        value: str | None = getattr(self, name)
        return value

    def filtered_as(self, name: str) -> tuple[str, ...]:
        """The values a filter on ``name`` matches: the attribute, and for the outcome of a
        record that was rolled back (``rolled_back_to`` set, e.g. a ``verification_failed``
        deploy) ``rolled_back`` too, so one filter hears every rollback."""
        value = self.attribute(name)
        if value is None:
            return ()
        if name == "outcome" and value != "rolled_back" and self.data.get("rolled_back_to"):
            return (value, "rolled_back")
        return (value,)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "time": self.time,
            "subject": self.subject,
            **{name: getattr(self, name) for name in FILTERED},
            "data": self.data,
        }

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Event:
        return cls(
            kind=str(body["kind"]),
            subject=str(body["subject"]),
            data=dict(body["data"]),
            id=str(body["id"]),
            time=str(body["time"]),
            **{name: body.get(name) for name in FILTERED},
        )


def _version_data(info: VersionInfo) -> dict[str, Any]:
    return {
        "application": info.application,
        "release": info.release,
        "version": info.number,
        "commit": info.commit,
        "created": info.created,
        "component": info.component,
        "build": info.build,
        "state": info.state,
        "warnings": list(info.warnings),
    }


def version_event(info: VersionInfo) -> Event:
    """``version.published``, or ``version.promoted`` for a version made by a promotion."""
    return version_promoted(info) if info.promoted_from is not None else version_published(info)


def version_published(info: VersionInfo) -> Event:
    return Event(
        "version.published",
        f"{info.application}/{info.release}/{info.number}",
        _version_data(info),
        application=info.application,
        release=info.release,
        id=derived_id("version.published", info.commit),
        time=info.created,
    )


def version_promoted(info: VersionInfo) -> Event:
    source = info.promoted_from
    data = _version_data(info)
    data["promoted_from"] = (
        {"application": source.application, "release": source.release, "version": source.version}
        if source is not None
        else None
    )
    data["promoted_by"] = info.promoted_by
    return Event(
        "version.promoted",
        f"{info.application}/{info.release}/{info.number}",
        data,
        application=info.application,
        release=info.release,
        id=derived_id("version.promoted", info.commit),
        time=info.created,
    )


def decided(application: str, release: str, decision: Decision) -> Event:
    kind = "version.approved" if decision.kind == "approval" else "version.rejected"
    return Event(
        kind,
        f"{application}/{release}/{decision.version}",
        {"application": application, "release": release, **decision.to_json()},
        application=application,
        release=release,
    )


def frozen(application: str, release: str, freeze: Freeze) -> Event:
    return Event(
        "release.frozen",
        f"{application}/{release}",
        {"application": application, "release": release, "frozen": freeze.to_json()},
        application=application,
        release=release,
    )


def thawed(application: str, release: str, lifted: Freeze, who: str) -> Event:
    return Event(
        "release.thawed",
        f"{application}/{release}",
        {"application": application, "release": release, "thawed": lifted.to_json(), "by": who},
        application=application,
        release=release,
    )


def recorded(record: DeploymentRecord) -> Event | None:
    """``deployment.recorded`` (deploy, rollback, teardown, verify, ...) or
    ``drift.recorded``; None for an ``unlock`` record (its event is ``lock.broken``)."""
    if record.kind == "unlock":
        return None
    kind = "drift.recorded" if record.kind == "drift" else "deployment.recorded"
    return Event(
        kind,
        f"{record.environment}/{record.application}/{record.release}",
        to_json(record),
        application=record.application,
        release=record.release,
        environment=record.environment,
        outcome=record.outcome,
        id=derived_id(kind, f"{record.environment}\n{record.id}"),
        time=record.received or _now(),
    )


def lock_data(lock: EnvironmentLock) -> dict[str, Any]:
    return {
        "environment": lock.environment,
        "holder": lock.holder,
        "since": lock.since,
        "expires": lock.expires,
        "ttl": lock.ttl,
    }


def _holder_name(lock: EnvironmentLock, key: str) -> str | None:
    value = lock.holder.get(key)
    return value if isinstance(value, str) else None


def lock_event(kind: str, lock: EnvironmentLock, **extra: Any) -> Event:
    """``lock.taken`` / ``lock.released`` / ``lock.broken``; the lock's id (its holder's
    handle for renewing and releasing it) is never part of an event."""
    return Event(
        kind,
        lock.environment,
        {**lock_data(lock), **extra},
        application=_holder_name(lock, "application"),
        release=_holder_name(lock, "release"),
        environment=lock.environment,
    )
