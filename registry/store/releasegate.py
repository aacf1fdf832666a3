"""The gate part of the store: a release's policy, freeze and decisions, and promotion
(registry/gate.py: the rules; store/gatestore.py: the records; store/promoter.py: the write)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from consign.compose import refnames
from consign.compose.errors import InvalidName
from registry.closest import closest, suggestion
from registry.errors import BadRequest, GateRefused, Locked, NotFound, ReleaseMissing
from registry.gate import (
    APPROVAL,
    Decision,
    DeploymentLike,
    Freeze,
    GateState,
    Policy,
    Source,
    unmet,
    utc_now,
)
from registry.soak import Recorded, soaking, verification_unmet
from registry.store import gatestore, layout, promoter
from registry.store.promotions import Promotions
from registry.store.repository import GitRepository
from registry.store.types import PromoteOutcome, Target, VersionInfo
from registry.store.versions import Versions

DeploymentsOf = Callable[[str, str, int], Sequence[DeploymentLike]]
#: (environment, application, release) -> every record of it there, oldest first
HistoryOf = Callable[[str, str, str], Sequence[Recorded]]


class ReleaseGate:
    """A release's policy, freeze and decisions, and promotion between releases."""

    def __init__(
        self,
        repo: GitRepository,
        versions: Versions,
        deployments: DeploymentsOf,
        history: HistoryOf,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        """``deployments``: the ledger's records of a version (what a policy's
        ``healthy_in`` and ``verified_in`` are judged on), newest first; ``history``: an
        application/release's records in one environment (its ``soak``); ``clock``: now,
        as the soak is judged (injected for tests)."""
        self._repo = repo
        self._versions = versions
        self._deployments_of = deployments
        self._history = history
        self._clock = clock
        self._gate = gatestore.GateStore(repo.objects, repo.refs)
        self._promotions = Promotions(repo.path, repo.refs)

    def gate(self, application: str, release: str) -> GateState:
        """The policy, freeze and decisions kept for a release (empty when none were set;
        a release need not exist yet: its first promotion may create it)."""
        with self._repo.guard():
            layout.branch_ref(application, release)  # InvalidName
            return self._gate.state(application, release)

    def _locked(self, application: str, release: str, doing: str) -> None:
        frozen = self._gate.state(application, release).frozen()
        if frozen is not None:
            raise Locked(
                f"{application}/{release} is {frozen.describe()}; {doing} into it is refused "
                "while it is frozen",
                details=frozen.to_json(),
            )

    def admit_publish(self, target: Target) -> None:
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
        with self._repo.writing():
            return self._gate.change(application, release, files, summary, trailers)

    def set_policy(self, application: str, release: str, policy: Policy) -> GateState:
        """Replace the release's policy (an empty one removes it)."""
        layout.branch_ref(application, release)
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
        layout.branch_ref(application, release)
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
        layout.branch_ref(application, release)
        with self._repo.writing():
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
        with self._repo.writing():
            self._versions.version(application, release, decision.version)  # NotFound
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
        return self._deployments_of(application, release, number)

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
        """Make the next version of ``target`` from version ``number`` of ``source``.

        Refused with 423 while the target is frozen, 409 naming every unmet condition
        (rejected source, policy), 409 ``release_missing`` when the target release does
        not exist and ``create`` is false (a misspelt name must not make a release with no
        policy: the gate's side door); a retry (the target's latest already came from this
        source) answers the existing version with ``created=False``.
        """
        layout.branch_ref(target.application, target.release)
        if source == target:
            raise BadRequest(
                f"cannot promote {source.application}/{source.release} into itself",
                details={"field": "from_release"},
            )
        source_info = self._versions.version(source.application, source.release, number)  # NotFound
        # Read before the writer lock: the ledger may have its own locking, and an "ok"
        # deploy, once recorded, stays recorded.
        deployments = self._deployments(source.application, source.release, number)
        soak_records = self._soak_records(target, source)
        with self._repo.writing():
            self._locked(target.application, target.release, "promoting")
            tip = self._repo.refs.resolve(layout.branch_ref(target.application, target.release))
            if tip is None and not create and not self._prepared(target):
                raise self._missing(target)
            tip_info = self._repo.reader.info(tip) if tip else None
            if tip_info is not None and promoter.already(tip_info, source_info):
                return PromoteOutcome(tip_info, False)
            standing = self._gate.state(source.application, source.release).standing(number)
            policy = self._gate.state(target.application, target.release).policy
            if policy is not None and policy.soak is not None and soak_records is None:
                # the policy was set after the read above: read the soak's records now
                soak_records = self._history(
                    policy.soak.environment, source.application, source.release
                )
            reasons = unmet(
                policy,
                Source(source.application, source.release, number),
                standing,
                deployments,
                soak_records,
                self._clock(),
            )
            if reasons:
                raise GateRefused(
                    f"cannot promote {source.application}/{source.release} v{number} into "
                    f"{target.application}/{target.release}: " + "; ".join(reasons),
                    details={"unmet": reasons},
                )
            outcome = promoter.promote(
                self._repo.objects,
                self._repo.refs,
                self._repo.reader,
                target,
                source_info,
                promoted_by,
                who,
            )
            self._repo.housekeeper.after_publish()
            return outcome

    def _soak_records(self, target: Target, source: Target) -> Sequence[Recorded] | None:
        """The source's records in the soak environment of the target's policy (None: no
        soak in the policy as read now)."""
        with self._repo.guard():
            policy = self._gate.state(target.application, target.release).policy
        if policy is None or policy.soak is None:
            return None
        return self._history(policy.soak.environment, source.application, source.release)

    def admission(self, target: Target, source: Target, number: int) -> dict[str, Any]:
        """What the gate says now of promoting version ``number`` of ``source`` into
        ``target``, without promoting: every unmet condition, and the soak and verification
        as measured (GET .../promotions/check)."""
        self._versions.version(source.application, source.release, number)  # NotFound
        with self._repo.guard():
            state = self._gate.state(target.application, target.release)
            standing = self._gate.state(source.application, source.release).standing(number)
        policy = state.policy
        deployments = self._deployments(source.application, source.release, number)
        records = self._soak_records(target, source)
        now = self._clock()
        reasons = unmet(
            policy,
            Source(source.application, source.release, number),
            standing,
            deployments,
            records,
            now,
        )
        frozen = state.frozen(now)
        body: dict[str, Any] = {
            "admissible": not reasons and frozen is None,
            "unmet": reasons,
            "frozen": frozen.to_json() if frozen else None,
            "policy": policy.to_json() if policy else None,
            "verified_in": {},
            "soak": None,
        }
        if policy is not None:
            body["verified_in"] = {
                env: verification_unmet(env, number, deployments) is None
                for env in policy.verified_in
            }
            if policy.soak is not None:
                measured = soaking(policy.soak.environment, number, records or (), now)
                body["soak"] = measured.to_json(policy.soak.minutes)
        return body

    def _prepared(self, target: Target) -> bool:
        """A release with no version yet whose gate was set on purpose (a policy or a
        freeze) exists for promotion: its first promotion goes through that gate."""
        state = self._gate.state(target.application, target.release)
        return state.policy is not None or state.freeze is not None

    def prepared(self, application: str) -> list[str]:
        """The application's releases that have no version yet but whose policy or freeze
        was set (README's recommended setup: a gate before the first promotion). They exist
        for promotion (:meth:`_prepared`), so every list of existing releases offers them."""
        with self._repo.guard():
            try:
                encoded = refnames.encode(application, "application")
            except InvalidName:
                return []
            gated = self._repo.refs.children(f"{layout.GATE}{encoded}/")
            names = sorted(refnames.decode(r) for r in gated if refnames.is_encoded(r))
            return [
                name
                for name in names
                if self._repo.refs.resolve(layout.branch_ref(application, name)) is None
                and self._prepared(Target(application, name))
            ]

    def existing(self, application: str) -> list[str]:
        """Every release of the application that exists for promotion: those with versions
        and the prepared ones (:meth:`prepared`), sorted; NotFound when there is none."""
        prepared = self.prepared(application)
        try:
            versioned = self._versions.releases(application)
        except NotFound:
            if not prepared:
                raise
            versioned = []
        return sorted({*versioned, *prepared})

    def _missing(self, target: Target) -> ReleaseMissing:
        """The refusal of a promotion into a release that does not exist, naming the
        existing releases (or, for an unknown application, applications) closest in
        spelling."""
        app, release = target.application, target.release
        try:
            releases = self.existing(app)
        except NotFound:
            apps = closest(app, self._versions.applications())
            return ReleaseMissing(
                f"there is no application {app!r}{suggestion(apps)}: promoting into "
                f"{app}/{release} would create it; ask for that explicitly "
                '(consign promote --create-release, "create": true)',
                details={
                    "application": app,
                    "release": release,
                    "closest": [],
                    "closest_applications": apps,
                },
            )
        near = closest(release, releases)
        return ReleaseMissing(
            f"{app} has no release {release!r}{suggestion(near)}: promoting into it would "
            "create it, with no policy; ask for that explicitly "
            '(consign promote --create-release, "create": true)',
            details={"application": app, "release": release, "closest": near},
        )

    def promoted_to(self, application: str, release: str, number: int) -> list[VersionInfo]:
        """The versions of other releases promoted from this one, by application, release
        and number (the reverse of their ``promoted_from``)."""
        with self._repo.guard():
            found = self._promotions.to((application, release, number))
        return [self._versions.version(*where) for where in found]


def _describe_policy(policy: Policy) -> str:
    parts = ["promotion only"] if policy.promotion_only else []
    if policy.from_releases:
        parts.append("from " + ", ".join(policy.from_releases))
    if policy.approvals:
        parts.append(f"{policy.approvals} approval(s)")
    if policy.healthy_in:
        parts.append("healthy in " + ", ".join(policy.healthy_in))
    if policy.verified_in:
        parts.append("verified in " + ", ".join(policy.verified_in))
    if policy.soak is not None:
        parts.append(f"soaked {policy.soak.minutes} minutes in {policy.soak.environment}")
    return "; ".join(parts) or "no conditions"
