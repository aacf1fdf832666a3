"""The ledger part of the store: environments, their deployment records (store/ledger.py),
their one-deploy-at-a-time locks (store/envlocks.py) and their retirement
(store/retirements.py)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from registry.errors import InvalidRecord, NotFound
from registry.store.envlocks import EnvLocks, lock_json
from registry.store.layout import check_environment
from registry.store.ledger import LedgerRecords, LedgerSnapshot
from registry.store.repository import GitRepository
from registry.store.retirements import RESTORED, RETIRED, RetirementEvent, Retirements
from registry.store.types import (
    DeploymentRecord,
    EnvironmentLock,
    EnvironmentState,
)
from registry.store.versions import DEFAULT_LIMIT, Versions


class EnvironmentLedger:
    """What the deployers tell the registry about environments: records, locks, retirement."""

    def __init__(self, repo: GitRepository, versions: Versions) -> None:
        self._repo = repo
        self._versions = versions  # records name versions: they must exist
        self._records = LedgerRecords(repo.path, repo.objects, repo.refs)
        self._envlocks = EnvLocks(repo.path)
        self._retirements = Retirements(repo.objects, repo.refs)

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
                info = self._versions.version(record.application, record.release, number)
            except NotFound as e:
                raise InvalidRecord(f"{field}: {e.message}", details={"field": field}) from e
            commits[number] = info.commit
        if record.version is None:
            try:
                self._versions.tip(record.application, record.release)
            except NotFound as e:
                raise InvalidRecord(e.message, details={"field": "release"}) from e
        elif record.commit is not None and record.commit != commits[record.version]:
            raise InvalidRecord(
                f"commit {record.commit} is not the commit of {record.application}/"
                f"{record.release} version {record.version} ({commits[record.version]})",
                details={"field": "commit"},
            )
        with self._repo.writing():
            stored, created = self._records.append(record, commits)
            if created:  # a record is one small pack, like a publish: same housekeeping
                self._repo.housekeeper.after_publish()
            return stored, created

    def environments(self) -> list[EnvironmentState]:
        """Every environment with a ledger, by name."""
        with self._repo.guard():
            names = self._records.environments()
            snaps = self._records.snapshots(names)
            locks = self._envlocks.held()
        return [self._state(n, s, locks.get(n)) for n, s in zip(names, snaps, strict=True)]

    def environment(self, name: str) -> EnvironmentState:
        check_environment(name)
        with self._repo.guard():
            snap = self._records.snapshot(name)
        state = self._state(name, snap, self.lock(name))
        if snap is None and state.lock is None:
            raise NotFound(f"no deployment was ever recorded for the environment {name!r}")
        return state

    @staticmethod
    def _state(
        name: str, snap: LedgerSnapshot | None, lock: EnvironmentLock | None
    ) -> EnvironmentState:
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
        with self._repo.guard():
            return self._records.page(environment, limit or DEFAULT_LIMIT, before)

    def drift(self, environment: str) -> dict[tuple[str, str], DeploymentRecord]:
        """(application, release) -> the newest ``drift`` record reported for what runs
        there since the record that left it running (absent: none reported since)."""
        state = self.environment(environment)  # NotFound for an unknown one
        with self._repo.guard():
            return self._records.drift_since(environment, state.deployed)

    def deployed_at(self, environment: str, when: str) -> list[DeploymentRecord]:
        """What ran in the environment at ``when`` (ISO-8601 UTC, ``...Z``, milliseconds)."""
        self.environment(environment)
        with self._repo.guard():
            return self._records.at(environment, when)

    def deployments_of_version(
        self, application: str, release: str, number: int
    ) -> list[DeploymentRecord]:
        """Every record of this version (deployed, or rolled back to), newest first."""
        self._versions.version(application, release, number)  # NotFound for an unknown version
        with self._repo.guard():
            found = self._records.of_version(application, release, number)
        return sorted(found, key=lambda r: (r.finished, r.received), reverse=True)

    def deployments_of_versions(
        self, application: str, release: str, numbers: Collection[int]
    ) -> dict[int, list[DeploymentRecord]]:
        """For each of these versions (known to exist: a page of ``versions``), its records
        as :meth:`deployments_of_version` gives them, the ledger read once for all."""
        with self._repo.guard():
            found = self._records.of_versions(application, release, set(numbers))
        ordered = sorted(found, key=lambda r: (r.finished, r.received), reverse=True)
        return {n: [r for r in ordered if n in (r.version, r.rolled_back_to)] for n in numbers}

    def history(self, environment: str, application: str, release: str) -> list[DeploymentRecord]:
        """Every record of the application/release in the environment, oldest first ([] for
        an environment never seen)."""
        check_environment(environment)
        with self._repo.guard():
            if self._records.tip(environment) is None:
                return []
            return self._records.of_release(environment, application, release)

    def verified(self, application: str, release: str, number: int) -> list[str]:
        """Environments where a healthy ("ok", or "verified": healthy and its verification
        passed) deploy (or rollback) of this version was recorded."""
        return sorted(
            {
                r.environment
                for r in self.deployments_of_version(application, release, number)
                if r.outcome in ("ok", "verified")
                and r.version == number
                and r.kind in ("deploy", "rollback")
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
        with self._repo.writing():
            return self._envlocks.acquire(environment, holder, ttl, replace)

    def break_lock(
        self, environment: str, lock_id: str | None, by: str, reason: str
    ) -> tuple[EnvironmentLock, DeploymentRecord | None, str]:
        """Break the environment's lock whoever holds it (``lock_id``: only that one) and
        record it in the ledger as an ``unlock`` event: (the broken lock, the record or None,
        why it could not be recorded). NotFound when it is not locked."""
        check_environment(environment)
        with self._repo.writing():
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
        with self._repo.writing():
            return self._envlocks.renew(environment, lock_id, ttl)

    def release_lock(self, environment: str, lock_id: str) -> EnvironmentLock:
        check_environment(environment)
        with self._repo.writing():
            return self._envlocks.release(environment, lock_id)

    def in_service(self) -> list[EnvironmentState]:
        """Every environment with a ledger that is not retired, by name: what the lists
        (the matrix, where versions run, the Rundeck option, finding a build) show."""
        retired = self.retirements()
        return [state for state in self.environments() if state.name not in retired]

    def retirements(self) -> dict[str, RetirementEvent]:
        """The environments retired now, with the retirement in force."""
        with self._repo.guard():
            found = {n: self._retirements.snapshot(n).current for n in self._retirements.names()}
        return {name: event for name, event in found.items() if event is not None}

    def retirement(self, environment: str) -> RetirementEvent | None:
        """The retirement in force (None: in service)."""
        check_environment(environment)
        with self._repo.guard():
            return self._retirements.snapshot(environment).current

    def retirement_history(self, environment: str) -> list[RetirementEvent]:
        """Every retirement and restoration of the environment, oldest first."""
        check_environment(environment)
        with self._repo.guard():
            return list(self._retirements.snapshot(environment).events)

    def retire(self, event: RetirementEvent) -> tuple[RetirementEvent, bool]:
        """Retire an environment the ledger knows: (the retirement in force, created). One
        already retired stays as it was (a retry changes nothing: ``created`` False)."""
        assert event.kind == RETIRED
        with self._repo.writing():
            if self._records.tip(check_environment(event.environment)) is None:
                raise NotFound(
                    f"no deployment was ever recorded for the environment {event.environment!r}"
                    ": there is nothing to retire"
                )
            current = self._retirements.snapshot(event.environment).current
            if current is not None:
                return current, False
            self._retirements.record(event)
            return event, True

    def restore(self, event: RetirementEvent) -> RetirementEvent | None:
        """Put a retired environment back in service; the retirement lifted (None: it was
        not retired, nothing written)."""
        assert event.kind == RESTORED
        with self._repo.writing():
            current = self._retirements.snapshot(check_environment(event.environment)).current
            if current is None:
                return None
            self._retirements.record(event)
            return current


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
