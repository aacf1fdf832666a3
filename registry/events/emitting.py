"""The one hook point: :class:`EventedStore` is the store with every write that makes an
event followed by its event, written to the outbox before the method returns (so before the
request answers, and only when the write succeeded: a write that raises emits nothing).

Views (API and UI alike) call the store's methods; none of them emits anything itself.
A retry that wrote nothing (a publish or report answered ``created: false``, a thaw of a
release that was not frozen) emits nothing either.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from registry.events import catalog
from registry.events.catalog import Event
from registry.events.outbox import Outbox
from registry.gate import Decision, Freeze, GateState
from registry.store import DescriptorStore
from registry.store.types import (
    DeploymentRecord,
    EnvironmentLock,
    PromoteOutcome,
    PublishOutcome,
    SecretsFound,
    Target,
)

log = logging.getLogger("registry.events")


class EventedStore(DescriptorStore):
    """A :class:`DescriptorStore` that emits; ``wanted()`` says whether anyone subscribes
    (no subscription: nothing is written, not even to the outbox)."""

    def __init__(
        self,
        path: str | Path,
        *,
        outbox: Outbox,
        wanted: Callable[[], bool],
        **options: Any,
    ) -> None:
        super().__init__(path, **options)
        self.outbox = outbox
        self.wanted = wanted

    def emit(self, *events: Event | None) -> None:
        if not self.wanted():
            return
        for event in events:
            if event is not None:  # what the store cannot give back after a crash is fsynced
                self.outbox.append(event, sync=event.kind not in catalog.DERIVED)

    def replenish(self) -> None:
        """The store's spare files, then the outbox's (after a write's answer was sent)."""
        super().replenish()
        self.outbox.spares.replenish()

    def close(self) -> None:
        super().close()
        self.outbox.spares.discard()

    def publish(
        self,
        targets: Sequence[Target],
        component: str | None,
        fragment: str,
        spec: dict[str, Any],
        build: dict[str, Any],
        files: Mapping[str, bytes] | None = None,
        secrets: SecretsFound | None = None,
    ) -> list[PublishOutcome]:
        outcomes = super().publish(targets, component, fragment, spec, build, files, secrets)
        self.emit(*(catalog.version_published(o.version) for o in outcomes if o.created))
        return outcomes

    def promote(
        self,
        target: Target,
        source: Target,
        number: int,
        promoted_by: dict[str, Any],
        who: str,
        *,
        create: bool = False,
    ) -> PromoteOutcome:
        outcome = super().promote(target, source, number, promoted_by, who, create=create)
        if outcome.created:
            self.emit(catalog.version_promoted(outcome.version))
        return outcome

    def decide(self, application: str, release: str, decision: Decision) -> Decision:
        stored = super().decide(application, release, decision)
        self.emit(catalog.decided(application, release, stored))
        return stored

    def freeze(self, application: str, release: str, freeze: Freeze) -> GateState:
        state = super().freeze(application, release, freeze)
        self.emit(catalog.frozen(application, release, state.freeze or freeze))
        return state

    def thaw(self, application: str, release: str, who: str) -> Freeze | None:
        lifted = super().thaw(application, release, who)
        if lifted is not None:
            self.emit(catalog.thawed(application, release, lifted, who))
        return lifted

    def report(self, record: DeploymentRecord) -> tuple[DeploymentRecord, bool]:
        stored, created = super().report(record)
        if created:
            self.emit(catalog.recorded(stored))
        return stored, created

    def acquire_lock(
        self, environment: str, holder: dict[str, Any], ttl: int, replace: str | None = None
    ) -> tuple[EnvironmentLock, EnvironmentLock | None]:
        lock, previous = super().acquire_lock(environment, holder, ttl, replace)
        took_over = catalog.lock_data(previous) if previous is not None else None
        self.emit(catalog.lock_event("lock.taken", lock, took_over=took_over))
        return lock, previous

    def release_lock(self, environment: str, lock_id: str) -> EnvironmentLock:
        released = super().release_lock(environment, lock_id)
        self.emit(catalog.lock_event("lock.released", released))
        return released

    def break_lock(
        self, environment: str, lock_id: str | None, by: str, reason: str
    ) -> tuple[EnvironmentLock, DeploymentRecord | None, str]:
        broken, stored, why_not = super().break_lock(environment, lock_id, by, reason)
        self.emit(catalog.lock_event("lock.broken", broken, broken_by=by, reason=reason))
        return broken, stored, why_not
