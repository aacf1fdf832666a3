"""DescriptorStore: the registry's one interface to its bare Git repository.

Put together from parts, each an object with its own small interface over one Git layer
(:class:`~registry.store.repository.GitRepository`: objects, refs, the writer lock):

- :class:`~registry.store.versions.Versions` (``store.published``): applications, releases,
  versions, publishing;
- :class:`~registry.store.releasegate.ReleaseGate` (``store.gatekeeper``): policy, freeze,
  decisions, promotion;
- :class:`~registry.store.envledger.EnvironmentLedger` (``store.ledger``): deployment
  records, environment locks, retirement;
- :class:`~registry.store.ocilayers.OCILayers` (``store.oci``): OCI artifacts' layers and names.

Views talk to this class only (pypiserver's backend style): its methods are the parts'
public methods, by the same names. Ref names live in :mod:`.layout`, Git command lines in
:mod:`.gitrun`. Writers serialise on a ``flock`` (:mod:`.locking`); readers never lock:
refs only ever move forward, atomically, and objects never change.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from registry.assembly import Component
from registry.diffing import ServiceChanges
from registry.gate import Decision, Freeze, GateState, Policy
from registry.store import housekeeping
from registry.store.envledger import EnvironmentLedger
from registry.store.ocilayers import OCILayers
from registry.store.releasegate import ReleaseGate
from registry.store.repository import GitRepository
from registry.store.retirements import RetirementEvent
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
from registry.store.versions import DEFAULT_LIMIT, Versions

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


class DescriptorStore:
    """The parts, composed; every method hands the call to the part that owns it."""

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
        self.repository = GitRepository(
            path,
            gc_auto=gc_auto,
            gc_min_interval=gc_min_interval,
            durable=durable,
            lock_waited=lock_waited,
        )
        self.housekeeper = self.repository.housekeeper
        self.published = Versions(
            self.repository, admit=self._admit, max_descriptor_bytes=max_descriptor_bytes
        )
        self.ledger = EnvironmentLedger(self.repository, self.published)
        # the gate asks for a version's records through this store (one seam for tests)
        self.gatekeeper = ReleaseGate(
            self.repository, self.published, self.deployments_of_version, self.history
        )
        self.oci = OCILayers(self.repository, self.published)

    def _admit(self, targets: Sequence[Target]) -> None:
        """What a publish must pass before it writes (under the writer lock): each target's
        gate (freeze, promotion-only policy), then the OCI names of new ones."""
        for t in targets:
            self.gatekeeper.admit_publish(t)
        self.oci.check_names(targets)

    def repo_path(self) -> Path:
        return self.repository.path

    def close(self) -> None:
        """Release this process's Git helper processes (optional; also done on collection)."""
        self.repository.close()

    def gc(self) -> None:
        """Pack objects and refs (``git gc``) while holding the writer lock.

        Publishing writes small packs and loose tags, and repacks them geometrically when
        they pile up (see :mod:`.housekeeping`); this full gc is for maintenance windows.
        Readers keep working during it.
        """
        self.repository.gc()

    # -- versions (self.published) ---------------------------------------------------------

    def applications(self) -> list[str]:
        return self.published.applications()

    def releases(self, application: str) -> list[str]:
        return self.published.releases(application)

    def spelling(self, application: str, release: str | None = None) -> tuple[str, str | None]:
        return self.published.spelling(application, release)

    def version(self, application: str, release: str, number: int | None) -> VersionInfo:
        return self.published.version(application, release, number)

    def descriptor(
        self, application: str, release: str, number: int | None
    ) -> tuple[VersionInfo, bytes]:
        return self.published.descriptor(application, release, number)

    def versions(
        self, application: str, release: str, *, limit: int | None = None, before: int | None = None
    ) -> list[VersionInfo]:
        return self.published.versions(application, release, limit=limit, before=before)

    def components(
        self,
        application: str,
        release: str,
        number: int | None = None,
        *,
        only: Collection[str] | None = None,
    ) -> list[Component]:
        return self.published.components(application, release, number, only=only)

    def service_changes(self, old: VersionInfo | None, new: VersionInfo) -> ServiceChanges:
        return self.published.service_changes(old, new)

    def file(self, application: str, release: str, number: int, stored: str) -> bytes:
        return self.published.file(application, release, number, stored)

    def publish(
        self,
        targets: Sequence[Target],
        component: str | None,
        fragment: str,
        spec: dict[str, Any],
        build: dict[str, Any],
        files: Mapping[str, bytes] | None = None,
    ) -> list[PublishOutcome]:
        return self.published.publish(targets, component, fragment, spec, build, files)

    # -- the gate (self.gatekeeper) --------------------------------------------------------

    def gate(self, application: str, release: str) -> GateState:
        return self.gatekeeper.gate(application, release)

    def prepared_releases(self, application: str) -> list[str]:
        """Releases with no version yet whose policy or freeze was set."""
        return self.gatekeeper.prepared(application)

    def existing_releases(self, application: str) -> list[str]:
        """Releases with versions and prepared ones: what a promotion may go into."""
        return self.gatekeeper.existing(application)

    def set_policy(self, application: str, release: str, policy: Policy) -> GateState:
        return self.gatekeeper.set_policy(application, release, policy)

    def freeze(self, application: str, release: str, freeze: Freeze) -> GateState:
        return self.gatekeeper.freeze(application, release, freeze)

    def thaw(self, application: str, release: str, who: str) -> Freeze | None:
        return self.gatekeeper.thaw(application, release, who)

    def decide(self, application: str, release: str, decision: Decision) -> Decision:
        return self.gatekeeper.decide(application, release, decision)

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
        return self.gatekeeper.promote(target, source, number, promoted_by, who, create=create)

    def promoted_to(self, application: str, release: str, number: int) -> list[VersionInfo]:
        return self.gatekeeper.promoted_to(application, release, number)

    # -- environments: the ledger, locks, retirement (self.ledger) -------------------------

    def report(self, record: DeploymentRecord) -> tuple[DeploymentRecord, bool]:
        return self.ledger.report(record)

    def environments(self) -> list[EnvironmentState]:
        return self.ledger.environments()

    def environment(self, name: str) -> EnvironmentState:
        return self.ledger.environment(name)

    def deployments(
        self, environment: str, *, limit: int | None = None, before: int | None = None
    ) -> list[DeploymentRecord]:
        return self.ledger.deployments(environment, limit=limit, before=before)

    def drift(self, environment: str) -> dict[tuple[str, str], DeploymentRecord]:
        return self.ledger.drift(environment)

    def deployed_at(self, environment: str, when: str) -> list[DeploymentRecord]:
        return self.ledger.deployed_at(environment, when)

    def deployments_of_version(
        self, application: str, release: str, number: int
    ) -> list[DeploymentRecord]:
        return self.ledger.deployments_of_version(application, release, number)

    def deployments_of_versions(
        self, application: str, release: str, numbers: Collection[int]
    ) -> dict[int, list[DeploymentRecord]]:
        return self.ledger.deployments_of_versions(application, release, numbers)

    def admission(self, target: Target, source: Target, number: int) -> dict[str, Any]:
        """The gate's answer to a promotion, without promoting (ReleaseGate.admission)."""
        return self.gatekeeper.admission(target, source, number)

    def history(self, environment: str, application: str, release: str) -> list[DeploymentRecord]:
        return self.ledger.history(environment, application, release)

    def verified(self, application: str, release: str, number: int) -> list[str]:
        return self.ledger.verified(application, release, number)

    def lock(self, environment: str) -> EnvironmentLock | None:
        return self.ledger.lock(environment)

    def acquire_lock(
        self, environment: str, holder: dict[str, Any], ttl: int, replace: str | None = None
    ) -> tuple[EnvironmentLock, EnvironmentLock | None]:
        return self.ledger.acquire_lock(environment, holder, ttl, replace)

    def break_lock(
        self, environment: str, lock_id: str | None, by: str, reason: str
    ) -> tuple[EnvironmentLock, DeploymentRecord | None, str]:
        return self.ledger.break_lock(environment, lock_id, by, reason)

    def renew_lock(self, environment: str, lock_id: str, ttl: int | None) -> EnvironmentLock:
        return self.ledger.renew_lock(environment, lock_id, ttl)

    def release_lock(self, environment: str, lock_id: str) -> EnvironmentLock:
        return self.ledger.release_lock(environment, lock_id)

    def in_service(self) -> list[EnvironmentState]:
        return self.ledger.in_service()

    def retirements(self) -> dict[str, RetirementEvent]:
        return self.ledger.retirements()

    def retirement(self, environment: str) -> RetirementEvent | None:
        return self.ledger.retirement(environment)

    def retirement_history(self, environment: str) -> list[RetirementEvent]:
        return self.ledger.retirement_history(environment)

    def retire(self, event: RetirementEvent) -> tuple[RetirementEvent, bool]:
        return self.ledger.retire(event)

    def restore(self, event: RetirementEvent) -> RetirementEvent | None:
        return self.ledger.restore(event)

    # -- OCI (self.oci) --------------------------------------------------------------------

    def oci_layers(self, versions: Sequence[VersionInfo]) -> list[bytes]:
        return self.oci.oci_layers(versions)
