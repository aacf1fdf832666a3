"""The deployment ledger's part of the store: records and environments (store/ledger.py)
and the one-deploy-at-a-time environment locks (store/envlocks.py)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from registry.errors import InvalidRecord, NotFound
from registry.store import locking
from registry.store.core import DEFAULT_LIMIT, StoreCore
from registry.store.envlocks import lock_json
from registry.store.layout import check_environment
from registry.store.ledger import Snapshot
from registry.store.types import (
    DeploymentRecord,
    EnvironmentLock,
    EnvironmentState,
)


class LedgerFacade(StoreCore):
    """DescriptorStore's ledger and environment-lock methods (see :mod:`.core`)."""

    def report(self, record: DeploymentRecord) -> tuple[DeploymentRecord, bool]:
        """Record a deployment; (stored record, created). A retry of the same id and content
        is (the stored record, False); the same id with another content is a Conflict.

        InvalidRecord (422) when it names a version (or ``rolled_back_to``) that does not
        exist or a commit that is not that version's; nothing is written then.
        """
        check_environment(record.environment)
        commits: dict[int, str] = {}
        for field, number in (
            ("version", record.version),
            ("rolled_back_to", record.rolled_back_to),
        ):
            if number is None:
                continue
            try:
                info = self.version(record.application, record.release, number)
            except NotFound as e:
                raise InvalidRecord(f"{field}: {e.message}", details={"field": field}) from e
            commits[number] = info.commit
        if record.version is None:
            try:
                self._tip(record.application, record.release)
            except NotFound as e:
                raise InvalidRecord(e.message, details={"field": "release"}) from e
        elif record.commit is not None and record.commit != commits[record.version]:
            raise InvalidRecord(
                f"commit {record.commit} is not the commit of {record.application}/"
                f"{record.release} version {record.version} ({commits[record.version]})",
                details={"field": "commit"},
            )
        with self._guard(), locking.exclusive(self._path, self._lock_waited):
            stored, created = self._ledger.append(record, commits)
            if created:  # a record is a few loose objects, like a publish: same housekeeping
                self.housekeeper.after_publish()
            return stored, created

    def environments(self) -> list[EnvironmentState]:
        """Every environment with a ledger, by name."""
        with self._guard():
            names = self._ledger.environments()
            snaps = self._ledger.snapshots(names)
            locks = self._envlocks.held()
        return [self._state(n, s, locks.get(n)) for n, s in zip(names, snaps, strict=True)]

    def environment(self, name: str) -> EnvironmentState:
        check_environment(name)
        with self._guard():
            snap = self._ledger.snapshot(name)
        state = self._state(name, snap, self.lock(name))
        if snap is None and state.lock is None:
            raise NotFound(f"no deployment was ever recorded for the environment {name!r}")
        return state

    @staticmethod
    def _state(name: str, snap: Snapshot | None, lock: EnvironmentLock | None) -> EnvironmentState:
        if snap is None:
            return EnvironmentState(name, 0, None, [], lock)
        deployed = list(snap.deployed)
        return EnvironmentState(name, snap.count, snap.last, deployed, lock, snap.tip)

    def deployments(
        self, environment: str, *, limit: int | None = None, before: int | None = None
    ) -> list[DeploymentRecord]:
        """The environment's records newest first (arrival order): ``limit`` (default 20)
        with ``seq`` below ``before``."""
        self.environment(environment)  # NotFound for an unknown one
        with self._guard():
            return self._ledger.page(environment, limit or DEFAULT_LIMIT, before)

    def drift(self, environment: str) -> dict[tuple[str, str], DeploymentRecord]:
        """(application, release) -> the newest ``drift`` record reported for what runs
        there since the record that left it running (absent: none reported since)."""
        state = self.environment(environment)  # NotFound for an unknown one
        with self._guard():
            return self._ledger.drift_since(environment, state.deployed)

    def deployed_at(self, environment: str, when: str) -> list[DeploymentRecord]:
        """What ran in the environment at ``when`` (ISO-8601 UTC, ``...Z``, milliseconds)."""
        self.environment(environment)
        with self._guard():
            return self._ledger.at(environment, when)

    def deployments_of_version(
        self, application: str, release: str, number: int
    ) -> list[DeploymentRecord]:
        """Every record of this version (deployed, or rolled back to), newest first."""
        self.version(application, release, number)  # NotFound for an unknown version
        with self._guard():
            found = self._ledger.of_version(application, release, number)
        return sorted(found, key=lambda r: (r.finished, r.received), reverse=True)

    def deployments_of_versions(
        self, application: str, release: str, numbers: Collection[int]
    ) -> dict[int, list[DeploymentRecord]]:
        """For each of these versions (known to exist: a page of ``versions``), its records
        as :meth:`deployments_of_version` gives them, the ledger read once for all."""
        with self._guard():
            found = self._ledger.of_versions(application, release, set(numbers))
        ordered = sorted(found, key=lambda r: (r.finished, r.received), reverse=True)
        return {n: [r for r in ordered if n in (r.version, r.rolled_back_to)] for n in numbers}

    def verified(self, application: str, release: str, number: int) -> list[str]:
        """Environments where an "ok" deploy (or rollback) of this version was recorded."""
        return sorted(
            {
                r.environment
                for r in self.deployments_of_version(application, release, number)
                if r.outcome == "ok" and r.version == number and r.kind in ("deploy", "rollback")
            }
        )

    def lock(self, environment: str) -> EnvironmentLock | None:
        """The environment's lock if held and not expired."""
        return self._envlocks.get(check_environment(environment))

    def acquire_lock(
        self, environment: str, holder: dict[str, Any], ttl: int, replace: str | None = None
    ) -> tuple[EnvironmentLock, EnvironmentLock | None]:
        """Take the environment's lock: (lock, the lock taken over or None: an expired one,
        or the one ``replace`` names); Locked (409, naming the holder) while another holds it."""
        check_environment(environment)
        with self._guard(), locking.exclusive(self._path, self._lock_waited):
            return self._envlocks.acquire(environment, holder, ttl, replace)

    def break_lock(
        self, environment: str, lock_id: str | None, by: str, reason: str
    ) -> tuple[EnvironmentLock, DeploymentRecord | None, str]:
        """Break the environment's lock whoever holds it (``lock_id``: only that one) and
        record it in the ledger as an ``unlock`` event: (the broken lock, the record or None,
        why it could not be recorded). NotFound when it is not locked."""
        check_environment(environment)
        with self._guard(), locking.exclusive(self._path, self._lock_waited):
            broken = self._envlocks.break_(environment, lock_id)
        holder = broken.holder
        application, release = holder.get("application"), holder.get("release")
        if not (isinstance(application, str) and isinstance(release, str)):
            return broken, None, "the lock's holder names no application and release"
        version = holder.get("version")
        number = (
            int(version) if isinstance(version, (int, str)) and str(version).isdigit() else None
        )
        record = unlock_record(broken, application, release, number, by, reason)
        try:
            stored, _ = self.report(record)
        except InvalidRecord:
            try:  # the holder's version may be gone (or was never published)
                stored, _ = self.report(dataclasses.replace(record, version=None))
            except InvalidRecord as e:
                return broken, None, e.message
        return broken, stored, ""

    def renew_lock(self, environment: str, lock_id: str, ttl: int | None) -> EnvironmentLock:
        check_environment(environment)
        with self._guard(), locking.exclusive(self._path, self._lock_waited):
            return self._envlocks.renew(environment, lock_id, ttl)

    def release_lock(self, environment: str, lock_id: str) -> EnvironmentLock:
        check_environment(environment)
        with self._guard(), locking.exclusive(self._path, self._lock_waited):
            return self._envlocks.release(environment, lock_id)


def unlock_record(
    lock: EnvironmentLock,
    application: str,
    release: str,
    version: int | None,
    by: str,
    reason: str,
) -> DeploymentRecord:
    """The ledger's ``unlock`` event: who broke which lock and why (never changes what runs)."""
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return DeploymentRecord(
        id=f"unlock-{uuid.uuid4()}",
        kind="unlock",
        environment=lock.environment,
        application=application,
        release=release,
        version=version,
        commit=None,
        outcome="broken",
        rolled_back_to=None,
        started=lock.since,
        finished=now,
        by=by,
        engine={},
        source=None,
        services=[],
        reason=reason,
        lock=lock_json(lock),
    )
