"""The gate, pure: release policies, freezes, approvals/rejections, and the rules that say
whether a version may enter a release.

Nothing here touches Git or Flask: the store keeps these records in the repository
(:mod:`registry.store.gatestore`) and asks :func:`unmet` what stands in a promotion's way.
The deployment records of the ledger are read through :class:`DeploymentLike`, the shape
of ``DeploymentRecord`` (docs/ARCHITECTURE.md, "Ledger"), so the rule is tested without one.

Decisions are append-only: a new approval or rejection is a new record, nothing is ever
rewritten. A version's standing is read from its records in order: it is **rejected** when
its latest rejection has no approval after it, and its **approvals** are the approvals
recorded after its latest rejection, counted once per identity.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from registry.soak import Recorded, Soak, soak_unmet, verification_unmet

APPROVAL = "approval"
REJECTION = "rejection"
OK_VERDICTS = frozenset({"healthy", "running", "completed"})


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """``2026-12-01T21:40:05Z``: the form every gate record uses."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime | None:
    """An ISO-8601 time with a zone, as UTC; None when it is not one."""
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class Policy:
    """What a version needs to enter a release (all conditions must hold)."""

    promotion_only: bool = False  # CI publishes are refused: versions enter by promotion
    from_releases: tuple[str, ...] = ()  # promotions only from these releases (empty: any)
    approvals: int = 0  # approvals the source version needs (distinct identities)
    healthy_in: tuple[str, ...] = ()  # environments where it must have deployed healthy
    verified_in: tuple[str, ...] = ()  # environments where its verification must have passed
    soak: Soak | None = None  # how long it must have run undisturbed in one environment
    secrets: str | None = None  # "warn" | "refuse" a publish with secret-looking literals;
    # None: the registry's CONSIGN_SECRETS (registry/secretpolicy.py)
    set_by: str = ""  # the identity (or, on an open registry, the `by`) that set it
    set_at: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "promotion_only": self.promotion_only,
            "from_releases": list(self.from_releases),
            "approvals": self.approvals,
            "healthy_in": list(self.healthy_in),
            "verified_in": list(self.verified_in),
            "soak": self.soak.to_json() if self.soak else None,
            "secrets": self.secrets,
            "set_by": self.set_by,
            "set_at": self.set_at,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Policy:
        return cls(
            promotion_only=bool(data.get("promotion_only", False)),
            from_releases=tuple(data.get("from_releases") or ()),
            approvals=int(data.get("approvals") or 0),
            healthy_in=tuple(data.get("healthy_in") or ()),
            verified_in=tuple(data.get("verified_in") or ()),
            soak=Soak.from_json(data.get("soak")),
            secrets=str(data["secrets"]) if data.get("secrets") else None,
            set_by=str(data.get("set_by") or ""),
            set_at=str(data.get("set_at") or ""),
        )

    @property
    def empty(self) -> bool:
        return not (
            self.promotion_only
            or self.from_releases
            or self.approvals
            or self.healthy_in
            or self.verified_in
            or self.soak
            or self.secrets
        )

    @property
    def needs_ledger(self) -> tuple[str, ...]:
        """The environments whose ledger the policy reads (health, verification, soak)."""
        soaked = (self.soak.environment,) if self.soak else ()
        return tuple(dict.fromkeys((*self.healthy_in, *self.verified_in, *soaked)))


@dataclass(frozen=True)
class Freeze:
    reason: str
    by: str  # what the client said
    identity: str | None  # the token's identity (None: the release role is open)
    since: str
    until: str | None = None  # ISO-8601 UTC; past it the freeze no longer holds

    def to_json(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "by": self.by,
            "identity": self.identity,
            "since": self.since,
            "until": self.until,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Freeze:
        return cls(
            reason=str(data["reason"]),
            by=str(data["by"]),
            identity=data.get("identity"),
            since=str(data["since"]),
            until=data.get("until"),
        )

    def holds(self, now: datetime) -> bool:
        end = parse_iso(self.until) if self.until else None
        return end is None or now < end

    def describe(self) -> str:
        who = self.identity or self.by
        until = f" until {self.until}" if self.until else " until it is thawed"
        return f"frozen by {who} since {self.since}{until}: {self.reason}"


@dataclass(frozen=True)
class Decision:
    """One approval or rejection of one version, as recorded (never changed afterwards)."""

    kind: str  # APPROVAL | REJECTION
    version: int
    by: str
    identity: str | None
    text: str  # the approval's comment, the rejection's reason
    at: str

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"kind": self.kind, "version": self.version, "by": self.by}
        body["identity"] = self.identity
        body["comment" if self.kind == APPROVAL else "reason"] = self.text
        body["at"] = self.at
        return body

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Decision:
        kind = str(data["kind"])
        text = data.get("comment" if kind == APPROVAL else "reason") or ""
        version, by, at = int(data["version"]), str(data["by"]), str(data["at"])
        return cls(kind, version, by, data.get("identity"), str(text), at)

    @property
    def who(self) -> str:
        return self.identity or self.by


@dataclass(frozen=True)
class Standing:
    """A version's standing at the gate, from its decisions."""

    rejected: Decision | None
    approvals: tuple[Decision, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "rejected": self.rejected.to_json() if self.rejected else None,
            "approvals": [a.to_json() for a in self.approvals],
        }


@dataclass(frozen=True)
class GateState:
    """Everything the gate keeps for one application/release (empty when nothing was set)."""

    policy: Policy | None = None
    freeze: Freeze | None = None  # as recorded; see :meth:`frozen` for whether it holds
    decisions: tuple[Decision, ...] = ()
    commit: str | None = None  # the gate commit these were read from
    _by_version: dict[int, list[Decision]] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        for decision in self.decisions:
            self._by_version.setdefault(decision.version, []).append(decision)

    def frozen(self, now: datetime | None = None) -> Freeze | None:
        """The freeze in force now, if any."""
        if self.freeze is not None and self.freeze.holds(now or utc_now()):
            return self.freeze
        return None

    def standing(self, version: int) -> Standing:
        return standing(self._by_version.get(version, ()))


def standing(decisions: Sequence[Decision]) -> Standing:
    """Rejected if the latest rejection has no approval after it; approvals after it count."""
    last_rejection = max((i for i, d in enumerate(decisions) if d.kind == REJECTION), default=-1)
    later = [d for d in decisions[last_rejection + 1 :] if d.kind == APPROVAL]
    rejected = decisions[last_rejection] if last_rejection >= 0 and not later else None
    seen: dict[str, Decision] = {}
    for approval in later:
        seen.setdefault(approval.who, approval)
    return Standing(rejected, tuple(seen.values()))


class ServiceLike(Protocol):
    @property
    def service(self) -> str: ...
    @property
    def verdict(self) -> str: ...


class DeploymentLike(Protocol):
    """The fields of the ledger's ``DeploymentRecord`` that the gate reads."""

    @property
    def kind(self) -> str: ...
    @property
    def environment(self) -> str: ...
    @property
    def outcome(self) -> str: ...
    @property
    def finished(self) -> str: ...
    @property
    def services(self) -> Sequence[ServiceLike]: ...
    @property
    def version(self) -> int | None: ...
    @property
    def rolled_back_to(self) -> int | None: ...
    @property
    def seq(self) -> int: ...


@dataclass(frozen=True)
class Source:
    """The version a promotion would move on."""

    application: str
    release: str
    number: int


def _at(finished: str) -> str:
    moment = parse_iso(finished)
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else finished


def health_in(environment: str, number: int, deployments: Sequence[DeploymentLike]) -> str | None:
    """None when an ``ok`` deploy of the version to ``environment`` is recorded; else why not
    (``deployments`` are the version's records, newest first)."""
    here = [d for d in deployments if d.environment == environment]
    # healthy: "ok", or "verified" (healthy, and its verification passed too)
    if any(d.kind == "deploy" and d.outcome in ("ok", "verified") for d in here):
        return None
    if not here:
        return f"version {number} was never deployed to {environment}"
    last = here[0]
    failed = [f"{s.service} {s.verdict}" for s in last.services if s.verdict not in OK_VERDICTS]
    what = "deploy" if last.kind == "deploy" else last.kind
    detail = f", {', '.join(failed)}" if failed else ""
    outcome = last.outcome.replace("_", " ")
    return (
        f"version {number} was never healthy in {environment}: last {what} there "
        f"{outcome} at {_at(last.finished)}{detail}"
    )


def unmet(
    policy: Policy | None,
    source: Source,
    standing: Standing,
    deployments: Sequence[DeploymentLike] | None,
    soak_records: Sequence[Recorded] | None = None,
    now: datetime | None = None,
) -> list[str]:
    """Every condition a promotion of ``source`` fails, in words (empty: it may enter).

    ``deployments`` is None when no deployment ledger is available: a policy that needs
    health, verification or soak then refuses, saying so, rather than passing unchecked.
    ``soak_records``: every record of the source's application/release in the policy's
    soak environment (registry/soak.py), judged at ``now`` (default: the clock).
    """
    reasons: list[str] = []
    if standing.rejected is not None:
        r = standing.rejected
        reasons.append(
            f"version {source.number} of {source.application}/{source.release} was rejected "
            f"by {r.who} at {r.at}: {r.text}"
        )
    if policy is None:
        return reasons
    if policy.from_releases and source.release not in policy.from_releases:
        allowed = ", ".join(policy.from_releases)
        reasons.append(f"promotions come only from {allowed}, not from {source.release}")
    if len(standing.approvals) < policy.approvals:
        have = len(standing.approvals)
        reasons.append(
            f"version {source.number} has {have} approval{'s' if have != 1 else ''}; "
            f"the policy needs {policy.approvals}"
        )
    if policy.needs_ledger and deployments is None:
        reasons.append(
            "the policy needs the deployment ledger of "
            + ", ".join(policy.needs_ledger)
            + " but this registry has no deployment ledger to check it against"
        )
        return reasons
    for environment in policy.healthy_in:
        why = health_in(environment, source.number, deployments or ())
        if why:
            reasons.append(why)
    for environment in policy.verified_in:
        why = verification_unmet(environment, source.number, deployments or ())
        if why:
            reasons.append(why)
    if policy.soak is not None:
        why = soak_unmet(policy.soak, source.number, soak_records or (), now or utc_now())
        if why:
            reasons.append(why)
    return reasons
