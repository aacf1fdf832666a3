"""The gate's pure rules (registry/gate.py): standing from decisions, freezes in time, and
what stands in a promotion's way, with ledger records shaped like contract 5's
DeploymentRecord/ServiceRecord."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from registry.gate import (
    APPROVAL,
    REJECTION,
    Decision,
    Freeze,
    Policy,
    Source,
    health_in,
    standing,
    unmet,
)


@dataclass(frozen=True)
class ServiceRecord:
    service: str
    verdict: str
    detail: str = ""
    containers: list[str] = field(default_factory=list)
    image: str | None = None
    component: str | None = None
    build: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DeploymentRecord:
    id: str
    kind: str
    environment: str
    outcome: str
    finished: str
    services: list[ServiceRecord]
    application: str = "TLO GE"
    release: str = "QA"
    version: int | None = 41
    commit: str | None = "c" * 40
    rolled_back_to: int | None = None
    started: str = "2026-12-01T13:58:00Z"
    by: str = "deployer"
    engine: dict[str, Any] = field(default_factory=dict)
    source: str | None = None


def record(env: str, outcome: str, finished: str, kind: str = "deploy", **verdicts: str) -> Any:
    services = [ServiceRecord(name, verdict) for name, verdict in verdicts.items()]
    return DeploymentRecord(f"d-{finished}", kind, env, outcome, finished, services)


SOURCE = Source("TLO GE", "QA", 41)
NONE = standing(())


def decision(kind: str, who: str, text: str = "") -> Decision:
    return Decision(kind, 41, who, None, text, "2026-12-01T10:00:00Z")


def test_never_healthy_names_the_last_deploy_and_the_failed_service() -> None:
    deployments = [  # newest first
        record("qa-1", "failed", "2026-12-01T14:02:10Z", web="crash-looping", db="healthy"),
        record("qa-1", "failed", "2026-12-01T12:00:00Z", web="unhealthy"),
        record("qa-2", "ok", "2026-12-01T11:00:00Z", web="healthy"),
    ]
    policy = Policy(healthy_in=("qa-1", "qa-2"))
    assert unmet(policy, SOURCE, NONE, deployments) == [
        "version 41 was never healthy in qa-1: last deploy there failed at 2026-12-01 14:02 UTC,"
        " web crash-looping"
    ]


def test_an_ok_deploy_anywhere_in_the_history_counts() -> None:
    deployments = [
        record("qa-1", "rolled_back", "2026-12-01T15:00:00Z", web="exited"),
        record("qa-1", "ok", "2026-12-01T14:00:00Z", web="healthy"),
    ]
    assert health_in("qa-1", 41, deployments) is None


def test_a_rollback_or_drift_record_is_not_a_healthy_deploy() -> None:
    deployments = [
        record("qa-1", "ok", "2026-12-01T15:00:00Z", kind="rollback", web="healthy"),
        record("qa-1", "drift", "2026-12-01T16:00:00Z", kind="drift", web="exited"),
    ]
    why = health_in("qa-1", 41, deployments)
    assert why is not None and why.startswith("version 41 was never healthy in qa-1: last rollback")


def test_never_deployed_there() -> None:
    assert unmet(Policy(healthy_in=("prod",)), SOURCE, NONE, []) == [
        "version 41 was never deployed to prod"
    ]


def test_without_a_ledger_health_cannot_pass() -> None:
    (reason,) = unmet(Policy(healthy_in=("qa-1",)), SOURCE, NONE, None)
    assert "no deployment ledger" in reason and "qa-1" in reason
    assert unmet(Policy(approvals=0), SOURCE, NONE, None) == []


def test_every_unmet_condition_is_named() -> None:
    rejected = standing([decision(REJECTION, "qa", "BUG-7")])
    policy = Policy(from_releases=("Milestone",), approvals=1, healthy_in=("qa-1",))
    reasons = unmet(policy, SOURCE, rejected, [])
    assert reasons == [
        "version 41 of TLO GE/QA was rejected by qa at 2026-12-01T10:00:00Z: BUG-7",
        "promotions come only from Milestone, not from QA",
        "version 41 has 0 approvals; the policy needs 1",
        "version 41 was never deployed to qa-1",
    ]
    assert unmet(None, SOURCE, NONE, None) == []


def test_standing_reads_decisions_in_order() -> None:
    a, b = decision(APPROVAL, "ann"), decision(APPROVAL, "bob")
    r = decision(REJECTION, "cid", "BUG-1")
    assert standing([a, b, a]).approvals == (a, b)  # once per identity
    assert standing([a, r]).rejected == r and standing([a, r]).approvals == ()
    after = standing([a, r, b])  # a later approval lifts the rejection; earlier ones lapse
    assert after.rejected is None and after.approvals == (b,)
    token = Decision(APPROVAL, 41, "ann", "token-abc123", "", "t")
    assert standing([a, token]).approvals == (a, token)  # identity wins over `by`


def test_freeze_until() -> None:
    until = Freeze("go-live", "rm", None, "2026-12-01T10:00:00Z", "2026-12-24T18:00:00Z")
    assert until.holds(datetime(2026, 12, 24, 17, 59, tzinfo=UTC))
    assert not until.holds(datetime(2026, 12, 24, 18, 0, tzinfo=UTC))
    forever = Freeze("go-live", "rm", "rm-carol", "2026-12-01T10:00:00Z")
    assert forever.holds(datetime(2999, 1, 1, tzinfo=UTC))
    assert "frozen by rm-carol" in forever.describe() and "until it is thawed" in forever.describe()


@pytest.mark.parametrize(
    "policy",
    [Policy(), Policy(promotion_only=True, from_releases=("A",), approvals=2, healthy_in=("e",))],
)
def test_policy_round_trips(policy: Policy) -> None:
    assert Policy.from_json(policy.to_json()) == policy
