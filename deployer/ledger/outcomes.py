"""The records of a finished ``consign deploy`` (the deploy and its rollback) and of a
``consign down``, made from what the deployer saw.

:class:`Observer` is given to :func:`deployer.deploy.rollback.deploy`: it notes each
attempt's end time and inspects its containers *before* the rollback replaces them, so the
failed deploy's record carries the image IDs that actually ran. A failed deploy that was
rolled back is recorded with outcome ``rolled_back`` and ``rolled_back_to`` (only when the
last rollback came up healthy; otherwise the deploy is ``failed``/``timed_out``), followed by
a ``rollback`` record of the older version with its own verdicts for each rollback, in the
order they happened: on a stack, the rollback Swarm made by itself
(``update_config.failure_action: rollback``, its services' details say so) and then the
deployer's own. An attempt stopped by Ctrl-C is recorded with outcome ``interrupted`` and
what it left running (:mod:`deployer.ledger.endings`); a rollback that could not even
start (its version unreadable, refused by Compose) is a ``rollback`` record ``failed``.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from deployer.deploy.outcome import Outcome
from deployer.deploy.sources import Descriptor
from deployer.engine.inspect import inspect_all
from deployer.ledger import endings, record
from deployer.swarm import tasks as swarm_tasks
from deployer.verification.rules import Verification


@dataclass
class _Seen:
    outcome: Outcome
    descriptor: Descriptor
    finished: str
    services: list[dict[str, Any]]


@dataclass
class Observer:
    """Collects each attempt of one deploy (the requested one, then the rollback)."""

    client: Any
    seen: list[_Seen] = field(default_factory=list)
    #: The attempt Ctrl-C stopped ("deploy" or "rollback", with what it left running).
    stopped: tuple[str, _Seen] | None = None

    def __call__(self, outcome: Outcome, descriptor: Descriptor) -> None:
        finished = record.utc_now()
        origin = record.origins(descriptor.components)
        services: list[dict[str, Any]] = []
        with contextlib.suppress(Exception):  # a record without image IDs beats no record
            origin = {**self.origins(), **origin}  # the version's manifest first
            services = record.services(outcome.verdicts, self.inspect(outcome), origin)
        if not services:
            services = record.services(outcome.verdicts, {}, origin)
        self.seen.append(_Seen(outcome, descriptor, finished, services))

    def interrupt(self, descriptor: Descriptor, project: str, kind: str) -> None:
        """Ctrl-C stopped the ``kind`` ("deploy"/"rollback") attempt at ``descriptor``
        (Compose has stopped): what it left running is read now."""
        d = descriptor
        outcome = Outcome(
            d.application, d.release, d.version, d.kind, d.location, d.commit, project
        )
        services: list[dict[str, Any]] = []
        with contextlib.suppress(Exception):  # a record without containers beats no record
            services = endings.left_running(self.client, project)
        self.stopped = (kind, _Seen(outcome, d, record.utc_now(), services))

    def inspect(self, outcome: Outcome) -> dict[str, dict[str, Any]]:
        """What runs, by the IDs the verdicts name (Compose: ``docker inspect``)."""
        ids = [c for sv in outcome.verdicts.values() for c in sv.containers]
        return inspect_all(self.client, ids)

    def origins(self) -> dict[str, record.Origin]:
        """Origins the engine knows for services the version's manifest does not name
        (Compose: none)."""
        return {}


@dataclass
class SwarmObserver(Observer):
    """The Swarm path's observer: its verdicts name tasks, inspected by
    :func:`deployer.swarm.tasks.inspect_tasks` (the task's container where this manager
    can inspect it, else the task and the image its spec names). Component and build are
    those the deploy put on the services' labels (:mod:`deployer.swarm.labels`, made from
    the version's manifest, which is read first: when Swarm rolled an update back the
    labels already name the older version again); a service the manifest does not name
    gets its labels'."""

    stack: str = ""

    def inspect(self, outcome: Outcome) -> dict[str, dict[str, Any]]:
        ids = [c for sv in outcome.verdicts.values() for c in sv.containers]
        return swarm_tasks.inspect_tasks(self.client, ids)

    def origins(self) -> dict[str, record.Origin]:
        found = swarm_tasks.origins(self.client, self.stack)
        return {name: record.Origin(o["component"], o["build"]) for name, o in found.items()}


def _number(version: str | None) -> int | None:
    return int(version) if version and version.isdigit() else None


def _outcome(outcome: Outcome, rolled_back_to: int | None) -> str:
    if not outcome.verdicts:  # Compose failed before any service could be judged
        return "failed"
    return record.deploy_outcome(outcome.verdicts, rolled_back_to, outcome.verification)


def _iso(epoch: float | None, default: str) -> str:
    if epoch is None:
        return default
    when = datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")
    return when.replace("+00:00", "Z")


def deploy_records(
    observer: Observer,
    *,
    started: str,
    environment: str,
    by: str,
    engine: dict[str, Any],
) -> list[dict[str, Any]]:
    """The deploy's record and, when it was rolled back, each rollback's (in that order);
    an attempt Ctrl-C stopped is last, with outcome ``interrupted``."""
    common = {"environment": environment, "by": by, "engine": engine}
    stopped = observer.stopped
    if not observer.seen:
        if stopped is None:
            return []
        return [_one(stopped[1], stopped[0], started, endings.INTERRUPTED, None, common)]
    first, backs = observer.seen[0], observer.seen[1:]
    last = backs[-1] if backs else None
    back_ok = last is not None and last.outcome.ok and bool(last.outcome.verdicts)
    to = _number(last.outcome.version) if last is not None and back_ok else None
    word = _outcome(first.outcome, to)
    out = [_one(first, "deploy", started, word, to, common, first.outcome.verification)]
    before = first
    for back in backs:
        # Swarm's own rollback notes when it was seen to begin; the deployer's, on the deploy
        when = back.outcome.rollback_started
        if when is None and back is last:
            when = first.outcome.rollback_started
        begun = _iso(when, before.finished)
        out.append(_one(back, "rollback", begun, _outcome(back.outcome, None), None, common))
        before = back
    if stopped is not None:  # the rollback was stopped
        begun = _iso(first.outcome.rollback_started, before.finished)
        out.append(_one(stopped[1], stopped[0], begun, endings.INTERRUPTED, None, common))
    return out


def _one(
    seen: _Seen,
    kind: str,
    started: str,
    outcome: str,
    to: int | None,
    common: dict[str, Any],
    verification: Verification | None = None,
) -> dict[str, Any]:
    d = seen.descriptor
    return record.build(
        kind=kind,
        application=d.application or "",
        release=d.release or "",
        version=_number(d.version),
        commit=d.commit,
        outcome=outcome,
        started=started,
        finished=seen.finished,
        source=d.location,
        service_entries=seen.services,
        rolled_back_to=to,
        verification=verification,
        **common,
    )


def teardown_record(
    *,
    application: str,
    release: str,
    version: str | None,
    commit: str | None,
    source: str | None,
    started: str,
    environment: str,
    by: str,
    engine: dict[str, Any],
    outcome: str = "torn_down",
) -> dict[str, Any]:
    """The record of ``consign down`` of a project deployed from ``application/release``
    (outcome ``moved``: it left ``environment`` for another, ``engine["moved_to"]``)."""
    return record.build(
        kind="teardown",
        environment=environment,
        application=application,
        release=release,
        version=_number(version),
        commit=commit,
        outcome=outcome,
        started=started,
        finished=record.utc_now(),
        by=by,
        engine=engine,
        source=source,
        service_entries=[],
    )


def verify_record(
    *,
    application: str,
    release: str,
    version: str | None,
    commit: str | None,
    source: str | None,
    started: str,
    environment: str,
    by: str,
    engine: dict[str, Any],
    verification: Verification,
) -> dict[str, Any]:
    """The record of ``consign verify``: kind ``verify``, outcome ``verified`` or
    ``verification_failed``, the verification's verdicts; an event (what runs is unchanged)."""
    return record.build(
        kind="verify",
        environment=environment,
        application=application,
        release=release,
        version=_number(version),
        commit=commit,
        outcome=verification.outcome or "verification_failed",
        started=started,
        finished=record.utc_now(),
        by=by,
        engine=engine,
        source=source,
        service_entries=[],
        verification=verification,
    )
