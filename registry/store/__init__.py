"""DescriptorStore: application/release versions in a bare Git repository.

The only package that touches the Git repository (through `git` itself: persistent
``cat-file --batch`` and ``update-ref --stdin`` processes, loose objects written
in-process). Layout: branch ``refs/heads/<app>/<release>``,
tag ``refs/tags/<app>/<release>/<N>`` (names encoded by :mod:`registry.refnames`); each
version's tree holds ``docker-compose.yml``, ``fragments/<component>.yml`` and
``consign.json``. Writers serialise on a ``flock`` (see :mod:`.locking`); readers never
lock: refs only ever move forward, atomically, and objects never change.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from consign.process import CommandFailed, run
from registry import diffing, ocinames, refnames
from registry.assembly import AttachedFile, Component
from registry.cache import LRU
from registry.diffing import ServiceChanges
from registry.errors import (
    BadRequest,
    GateRefused,
    InvalidRecord,
    Locked,
    NotFound,
    StoreError,
)
from registry.gate import (
    APPROVAL,
    Decision,
    DeploymentLike,
    Freeze,
    GateState,
    Policy,
    Source,
    unmet,
)
from registry.store import (
    gatestore,
    head,
    housekeeping,
    locking,
    manifest,
    promoter,
    publisher,
)
from registry.store.envlocks import EnvLocks
from registry.store.gitobjects import ObjectStore, init_bare
from registry.store.ledger import Ledger, Snapshot, check_environment
from registry.store.reader import Reader, tag_name
from registry.store.refs import RefDB
from registry.store.types import (
    ComponentInfo,
    DeploymentRecord,
    EnvironmentLock,
    EnvironmentState,
    FileInfo,
    PromoteOutcome,
    Promotion,
    PublishOutcome,
    ServiceRecord,
    Target,
    VersionInfo,
)

__all__ = [
    "DEFAULT_LIMIT",
    "ComponentInfo",
    "DeploymentRecord",
    "DescriptorStore",
    "EnvironmentLock",
    "EnvironmentState",
    "FileInfo",
    "PromoteOutcome",
    "Promotion",
    "PublishOutcome",
    "ServiceRecord",
    "Target",
    "VersionInfo",
]

# A page of the versions listing. Each version carries every component with its build
# (~9 KB of JSON at 50 components), so 20 versions are ~180 KB and a few milliseconds,
# where 100 were ~900 KB and ~20 ms; older versions are one `before=` away.
DEFAULT_LIMIT = 20
NUMBERED = 1024  # numbered versions whose (VersionInfo, descriptor bytes) stay in memory


class DescriptorStore:
    def __init__(
        self,
        path: str | Path,
        *,
        gc_auto: int = housekeeping.GC_AUTO,
        gc_min_interval: int = housekeeping.MIN_INTERVAL,
        durable: bool = True,
        lock_waited: Callable[[float], None] | None = None,
        max_descriptor_bytes: int | None = None,
    ) -> None:
        """``gc_auto``: loose objects before a publish runs ``git gc --auto`` (0: never);
        ``gc_min_interval``: publishes of one process between two such runs; ``durable``:
        objects and refs reach the disk before a publish returns (fsync; on by default);
        ``lock_waited``: told the seconds each wait for the writer lock took (metrics);
        ``max_descriptor_bytes``: the largest descriptor a publish may assemble (None: any)."""
        self.max_descriptor_bytes = max_descriptor_bytes
        self._path = Path(path).resolve()
        self._lock_waited = lock_waited
        init_bare(self._path)
        self.housekeeper = housekeeping.Housekeeper(
            self._path, gc_auto=gc_auto, min_interval=gc_min_interval
        )
        self._objects = ObjectStore(self._path, durable=durable)
        self._refs = RefDB(self._path, before_commit=self._objects.flush, durable=durable)
        head.ensure(self._path, self._objects, self._refs)
        self._reader = Reader(self._objects)
        self._gate = gatestore.GateStore(self._objects, self._refs)
        self._locks: dict[int, threading.RLock] = {}
        self._numbered: LRU[tuple[str, str, int], tuple[VersionInfo, bytes]] = LRU(NUMBERED)
        self._ledger = Ledger(self._path, self._objects, self._refs)
        self._envlocks = EnvLocks(self._path)

    def repo_path(self) -> Path:
        return self._path

    def close(self) -> None:
        """Release this process's Git helper processes (optional; also done on collection)."""
        self._objects.close()
        self._refs.close()

    def gc(self) -> None:
        """Pack objects and refs (``git gc``) while holding the publish lock.

        Publishing writes loose objects and loose tags, and runs ``git gc --auto`` itself when
        they pile up (see :mod:`.housekeeping`); this full gc is for maintenance windows.
        Readers keep working during it.
        """
        with self._guard(), locking.exclusive(self._path, self._lock_waited):
            try:
                run(["git", "--git-dir", str(self._path), "gc", "--quiet"], tied_to_caller=True)
            except CommandFailed as e:
                raise StoreError(f"git gc failed: {e}") from e

    def _guard(self) -> threading.RLock:
        """A per-process lock: one cat-file pipe must not serve two threads at once."""
        return self._locks.setdefault(os.getpid(), threading.RLock())

    def applications(self) -> list[str]:
        with self._guard():
            found = self._refs.children("refs/heads/")
            return sorted(
                refnames.decode(a)
                for a in found
                if refnames.is_encoded(a) and self._release_refs(a)
            )

    def _release_refs(self, encoded_app: str) -> list[str]:
        found = self._refs.children(f"refs/heads/{encoded_app}/")
        return [r for r in found if refnames.is_encoded(r)]

    def releases(self, application: str) -> list[str]:
        with self._guard():
            found = self._release_refs(refnames.encode(application, "application"))
            if not found:
                raise NotFound(f"unknown application {application!r}")
            return sorted(refnames.decode(r) for r in found)

    def _tip(self, application: str, release: str) -> str:
        branch = publisher.branch_ref(application, release)
        tip = self._refs.resolve(branch)
        if tip is None:
            self.releases(application)  # NotFound naming the application if it is unknown
            raise NotFound(f"application {application!r} has no release {release!r}")
        return tip

    def _commit(self, application: str, release: str, number: int | None) -> str:
        tip = self._tip(application, release)
        if number is None:
            return tip
        latest = self._reader.info(tip).number
        if number == latest:
            return tip
        found = None
        if 1 <= number < latest:
            found = self._refs.resolve("refs/tags/" + tag_name(application, release, number))
        if found is None:
            raise NotFound(f"{application}/{release} has no version {number} (latest is {latest})")
        return found

    def version(self, application: str, release: str, number: int | None) -> VersionInfo:
        if number is not None:
            return self.descriptor(application, release, number)[0]
        with self._guard():
            return self._reader.info(self._commit(application, release, number))

    def descriptor(
        self, application: str, release: str, number: int | None
    ) -> tuple[VersionInfo, bytes]:
        """A version and its descriptor bytes. A numbered version never changes, so once read
        it is answered from memory: no ref read, no Git call, no lock."""
        if number is not None:
            found = self._numbered.get((application, release, number))
            if found is not None:
                return found
        with self._guard():
            commit = self._commit(application, release, number)
            answer = self._reader.info(commit), self._reader.descriptor(commit)
            return self._numbered.put((application, release, answer[0].number), answer)

    def versions(
        self,
        application: str,
        release: str,
        *,
        limit: int | None = None,
        before: int | None = None,
    ) -> list[VersionInfo]:
        """Newest first: at most ``limit`` (default 20) versions numbered below ``before``."""
        limit = DEFAULT_LIMIT if limit is None else limit
        if limit < 1:
            raise BadRequest(f"limit must be at least 1, not {limit}")
        with self._guard():
            tip = self._tip(application, release)
            start = self._reader.info(tip).number
            if before is not None:
                if before <= 1:
                    return []
                start = min(start, before - 1)
            stop = max(0, start - limit)
            tags = [tag_name(application, release, n) for n in range(start, stop, -1)]
            return self._reader.page(tags)

    def components(
        self,
        application: str,
        release: str,
        number: int | None = None,
        *,
        only: Collection[str] | None = None,
    ) -> list[Component]:
        """The components of a version (None: the latest); [] for a target never published.
        ``only``: just the components with these names."""
        with self._guard():
            if number is None:
                tip = self._refs.resolve(publisher.branch_ref(application, release))
                return list(self._reader.components(tip, only)) if tip else []
            commit = self._commit(application, release, number)
            return list(self._reader.components(commit, only))

    def service_changes(self, old: VersionInfo | None, new: VersionInfo) -> ServiceChanges:
        """Which services differ from ``old`` (None: nothing, as before a first version) to
        ``new``, which may belong to another release or application. Only the fragments
        whose services' definitions must be compared are read (see :func:`diffing.to_read`)."""
        before = old.components if old is not None else []
        read = diffing.to_read(before, new.components)
        return diffing.compare(
            before,
            new.components,
            self.components(old.application, old.release, old.number, only=read)
            if old is not None and read
            else [],
            self.components(new.application, new.release, new.number, only=read) if read else [],
        )

    def file(self, application: str, release: str, number: int, stored: str) -> bytes:
        """An attached file of a version, by its path in the tree (``fragments/<c>/<path>``);
        NotFound unless a component of that version has it."""
        for c in self.components(application, release, number):
            for where in c.stored_files().values():
                if where == stored:
                    with self._guard():
                        return self._reader.file(self._commit(application, release, number), where)
        raise NotFound(f"version {number} of {application}/{release} has no file {stored!r}")

    def oci_layers(self, versions: Sequence[VersionInfo]) -> list[bytes]:
        """The compose file of each version's OCI artifact (one Git round trip for all): the
        descriptor, or when the version has attached env files, ``oci/docker-compose.yml``
        (the descriptor with them renamed to their flat names)."""

        def path(info: VersionInfo) -> str:
            files = any(c.files for c in info.components)
            return manifest.OCI_LAYER if files else manifest.DESCRIPTOR

        with self._guard():
            found = self._objects.read_many([f"{v.commit}:{path(v)}" for v in versions])
        missing = [f"{v.commit}:{path(v)}" for v, o in zip(versions, found, strict=True) if not o]
        if missing:
            raise StoreError(f"Git object {missing[0]} is missing")
        return [o.data for o in found if o is not None]

    def _check_oci_names(self, targets: Sequence[Target]) -> None:
        """Conflict (409) when a new application or release would share its OCI repository
        name with an existing one (or another new one): see :mod:`registry.ocinames`."""
        branches = (publisher.branch_ref(t.application, t.release) for t in targets)
        if all(self._refs.resolve(b) is not None for b in branches):
            return  # nothing new: the common case costs one cached ref read per target
        existing: dict[str, list[str]] = {}
        for app in self.applications():
            existing[app] = self.releases(app)
        ocinames.check_new(existing, [(t.application, t.release) for t in targets])

    def publish(
        self,
        targets: Sequence[Target],
        component: str | None,
        fragment: str,
        spec: dict[str, Any],
        build: dict[str, Any],
        files: Mapping[str, bytes] | None = None,
    ) -> list[PublishOutcome]:
        """Publish one fragment to every target, atomically (see ARCHITECTURE.md).

        ``files``: env files published with the fragment, {normalised path as referenced:
        bytes} (checked by the caller: :func:`registry.envfiles.confine`)."""
        files = dict(sorted((files or {}).items()))
        if not targets:
            raise BadRequest("publish needs at least one application/release target")
        unique = list(dict.fromkeys(targets))
        for t in unique:
            publisher.branch_ref(t.application, t.release)  # InvalidName before any work
        if component is not None:
            refnames.validate(component, "component")
        new = Component(
            name=component or "",
            fragment=fragment,
            spec=spec,
            build=dict(build),
            sha256=hashlib.sha256(fragment.encode()).hexdigest(),
            files=tuple(AttachedFile.of(path, data) for path, data in files.items()),
        )
        with self._guard(), locking.exclusive(self._path, self._lock_waited):
            for t in unique:  # under the lock: a freeze or policy set now is seen
                self._admit_publish(t)
            self._check_oci_names(unique)
            outcomes = publisher.publish(
                self._objects,
                self._refs,
                self._reader,
                unique,
                component,
                new,
                files,
                max_descriptor_bytes=self.max_descriptor_bytes,
            )
            if any(o.created for o in outcomes):
                self.housekeeper.after_publish()
            return outcomes

    # -- the gate (registry/gate.py: the rules; store/gatestore.py: the records) ---------

    def gate(self, application: str, release: str) -> GateState:
        """The policy, freeze and decisions kept for a release (empty when none were set;
        a release need not exist yet: its first promotion may create it)."""
        with self._guard():
            publisher.branch_ref(application, release)  # InvalidName
            return self._gate.state(application, release)

    def _locked(self, application: str, release: str, doing: str) -> None:
        frozen = self._gate.state(application, release).frozen()
        if frozen is not None:
            raise Locked(
                f"{application}/{release} is {frozen.describe()}; {doing} into it is refused "
                "while it is frozen",
                details=frozen.to_json(),
            )

    def _admit_publish(self, target: Target) -> None:
        self._locked(target.application, target.release, "publishing")
        policy = self._gate.state(target.application, target.release).policy
        if policy is not None and policy.promotion_only:
            raise GateRefused(
                f"{target.application}/{target.release} accepts versions only by promotion "
                f"(policy set by {policy.set_by or 'unknown'} at {policy.set_at}): CI publishes "
                "are refused; promote a version into it with POST "
                ".../releases/{release}/promotions",
                details={"application": target.application, "release": target.release},
            )

    def _change_gate(
        self,
        application: str,
        release: str,
        files: dict[str, bytes | None],
        summary: str,
        trailers: dict[str, str],
    ) -> GateState:
        with self._guard(), locking.exclusive(self._path, self._lock_waited):
            return self._gate.change(application, release, files, summary, trailers)

    def set_policy(self, application: str, release: str, policy: Policy) -> GateState:
        """Replace the release's policy (an empty one removes it)."""
        publisher.branch_ref(application, release)
        data = None if policy.empty else gatestore.policy_bytes(policy)
        conditions = _describe_policy(policy)
        return self._change_gate(
            application,
            release,
            {gatestore.POLICY: data},
            f"{application}/{release}: policy set by {policy.set_by}: {conditions}",
            {"Consign-Gate": "policy", "Consign-Identity": policy.set_by},
        )

    def freeze(self, application: str, release: str, freeze: Freeze) -> GateState:
        publisher.branch_ref(application, release)
        who = freeze.identity or freeze.by
        return self._change_gate(
            application,
            release,
            {gatestore.FREEZE: gatestore.freeze_bytes(freeze)},
            f"{application}/{release}: frozen by {who}: {freeze.reason}",
            {"Consign-Gate": "freeze", "Consign-Identity": who},
        )

    def thaw(self, application: str, release: str, who: str) -> Freeze | None:
        """Lift the freeze; the freeze that was recorded (None: there was none, nothing written)."""
        publisher.branch_ref(application, release)
        with self._guard(), locking.exclusive(self._path, self._lock_waited):
            recorded = self._gate.state(application, release).freeze
            if recorded is None:
                return None
            self._gate.change(
                application,
                release,
                {gatestore.FREEZE: None},
                f"{application}/{release}: thawed by {who}",
                {"Consign-Gate": "thaw", "Consign-Identity": who},
            )
            return recorded

    def decide(self, application: str, release: str, decision: Decision) -> Decision:
        """Record an approval or rejection of an existing version (appended, never rewritten)."""
        with self._guard(), locking.exclusive(self._path, self._lock_waited):
            self.version(application, release, decision.version)  # NotFound
            files = self._gate.snapshot(application, release).files
            verb = "approved" if decision.kind == APPROVAL else "rejected"
            text = f": {decision.text}" if decision.text else ""
            self._gate.change(
                application,
                release,
                {gatestore.DECISIONS: gatestore.appended(files, decision)},
                f"{application}/{release} v{decision.version}: {verb} by {decision.who}{text}",
                {
                    "Consign-Gate": decision.kind,
                    "Consign-Version": str(decision.version),
                    "Consign-Identity": decision.who,
                },
            )
            return decision

    def _deployments(self, application: str, release: str, number: int) -> Sequence[DeploymentLike]:
        """The ledger's records of a version, for the gate's ``healthy_in``."""
        return self.deployments_of_version(application, release, number)

    def promote(
        self,
        target: Target,
        source: Target,
        number: int,
        promoted_by: dict[str, Any],
        who: str,
    ) -> PromoteOutcome:
        """Make the next version of ``target`` from version ``number`` of ``source``.

        Refused with 423 while the target is frozen, 409 naming every unmet condition
        (rejected source, policy); a retry (the target's latest already came from this
        source) answers the existing version with ``created=False``.
        """
        publisher.branch_ref(target.application, target.release)
        if source == target:
            raise BadRequest(
                f"cannot promote {source.application}/{source.release} into itself",
                details={"field": "from_release"},
            )
        source_info = self.version(source.application, source.release, number)  # NotFound
        # Read before the writer lock: the ledger may have its own locking, and an "ok"
        # deploy, once recorded, stays recorded.
        deployments = self._deployments(source.application, source.release, number)
        with self._guard(), locking.exclusive(self._path, self._lock_waited):
            self._locked(target.application, target.release, "promoting")
            tip = self._refs.resolve(publisher.branch_ref(target.application, target.release))
            tip_info = self._reader.info(tip) if tip else None
            if tip_info is not None and promoter.already(tip_info, source_info):
                return PromoteOutcome(tip_info, False)
            standing = self._gate.state(source.application, source.release).standing(number)
            policy = self._gate.state(target.application, target.release).policy
            reasons = unmet(
                policy,
                Source(source.application, source.release, number),
                standing,
                deployments,
            )
            if reasons:
                raise GateRefused(
                    f"cannot promote {source.application}/{source.release} v{number} into "
                    f"{target.application}/{target.release}: " + "; ".join(reasons),
                    details={"unmet": reasons},
                )
            outcome = promoter.promote(
                self._objects, self._refs, self._reader, target, source_info, promoted_by, who
            )
            self.housekeeper.after_publish()
            return outcome

    # -- the deployment ledger (store/ledger.py, store/envlocks.py) -------------------------

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
        self, environment: str, holder: dict[str, Any], ttl: int
    ) -> tuple[EnvironmentLock, EnvironmentLock | None]:
        """Take the environment's lock: (lock, an expired lock taken over or None); Locked
        (409, naming the holder) while another holds it."""
        check_environment(environment)
        with self._guard(), locking.exclusive(self._path, self._lock_waited):
            return self._envlocks.acquire(environment, holder, ttl)

    def renew_lock(self, environment: str, lock_id: str, ttl: int | None) -> EnvironmentLock:
        check_environment(environment)
        with self._guard(), locking.exclusive(self._path, self._lock_waited):
            return self._envlocks.renew(environment, lock_id, ttl)

    def release_lock(self, environment: str, lock_id: str) -> EnvironmentLock:
        check_environment(environment)
        with self._guard(), locking.exclusive(self._path, self._lock_waited):
            return self._envlocks.release(environment, lock_id)


def _describe_policy(policy: Policy) -> str:
    parts = ["promotion only"] if policy.promotion_only else []
    if policy.from_releases:
        parts.append("from " + ", ".join(policy.from_releases))
    if policy.approvals:
        parts.append(f"{policy.approvals} approval(s)")
    if policy.healthy_in:
        parts.append("healthy in " + ", ".join(policy.healthy_in))
    return "; ".join(parts) or "no conditions"
