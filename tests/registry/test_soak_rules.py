"""The gate's soak and verified_in rules (registry/soak.py) on recorded ledger records,
with a test clock: what starts, resets and ends a soak, and which verification verdict wins."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from registry.gate import Policy, Source, Standing, unmet
from registry.soak import Soak, soak_unmet, soaking, verification_unmet

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Rec:
    kind: str
    version: int | None
    outcome: str
    minute: int
    rolled_back_to: int | None = None
    environment: str = "qa-1"
    seq: int = 0
    services: tuple[()] = ()

    @property
    def finished(self) -> str:
        return (T0 + timedelta(minutes=self.minute)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def at(minute: float) -> datetime:
    return T0 + timedelta(minutes=minute)


def test_a_healthy_deploy_starts_the_soak_and_a_redeploy_keeps_it() -> None:
    records = [Rec("deploy", 7, "ok", 0), Rec("deploy", 7, "verified", 30)]
    state = soaking("qa-1", 7, records, at(41.5))
    assert state.minutes() == 41 and state.since == at(0)
    assert soak_unmet(Soak("qa-1", 120), 7, records, at(41.5)) == (
        "version 7 soaked 41 of 120 minutes in qa-1 (running since 2026-12-01 12:00 UTC): "
        "79 minutes left"
    )
    assert soak_unmet(Soak("qa-1", 120), 7, records, at(120)) is None


def test_a_replacement_ends_it_and_a_teardown_too() -> None:
    replaced = [Rec("deploy", 7, "ok", 0), Rec("deploy", 8, "ok", 10)]
    why = soak_unmet(Soak("qa-1", 5), 7, replaced, at(60))
    assert why and "soaked 0 of 5 minutes" in why and "replaced by version 8" in why
    gone = [Rec("deploy", 7, "ok", 0), Rec("teardown", 7, "torn_down", 10)]
    assert "torn down" in (soak_unmet(Soak("qa-1", 5), 7, gone, at(60)) or "")
    back = [*replaced, Rec("deploy", 7, "ok", 20)]
    assert soaking("qa-1", 7, back, at(60)).since == at(20)


def test_drift_and_failures_reset_it_until_the_next_healthy_record() -> None:
    drifted = [Rec("deploy", 7, "ok", 0), Rec("drift", 7, "drift", 30)]
    why = soak_unmet(Soak("qa-1", 10), 7, drifted, at(60))
    assert why and "drift was reported at 2026-12-01 12:30 UTC" in why
    assert soaking("qa-1", 7, [*drifted, Rec("drift", 7, "ok", 40)], at(60)).since == at(40)
    failed = [Rec("deploy", 7, "ok", 0), Rec("deploy", 7, "failed", 30)]
    assert soaking("qa-1", 7, failed, at(60)).since is None
    assert soaking("qa-1", 7, [*failed, Rec("deploy", 7, "ok", 45)], at(60)).since == at(45)
    # another version's deploy rolled back to this one: disturbed, restarts at the rollback
    rolled = [
        Rec("deploy", 7, "ok", 0),
        Rec("deploy", 8, "rolled_back", 30, rolled_back_to=7),
        Rec("rollback", 7, "ok", 31),
    ]
    assert soaking("qa-1", 7, rolled, at(60)).since == at(31)
    failed_verify = [Rec("deploy", 7, "verified", 0), Rec("verify", 7, "verification_failed", 5)]
    assert soaking("qa-1", 7, failed_verify, at(60)).since is None


def test_records_are_read_in_the_ledger_order_not_the_list_order() -> None:
    late = [Rec("deploy", 8, "ok", 10, seq=2), Rec("deploy", 7, "ok", 0, seq=1)]
    assert soaking("qa-1", 7, late, at(60)).since is None


def test_never_deployed() -> None:
    assert soak_unmet(Soak("qa-1", 5), 7, [], at(0)) == (
        "version 7 soaked 0 of 5 minutes in qa-1: version 7 was never deployed to qa-1"
    )


def test_the_newest_verification_verdict_wins() -> None:
    assert verification_unmet("qa-1", 7, [Rec("deploy", 7, "verified", 0)]) is None
    failed = [Rec("deploy", 7, "verified", 0), Rec("verify", 7, "verification_failed", 5)]
    why = verification_unmet("qa-1", 7, failed)
    assert why and "verification failed in qa-1 at 2026-12-01 12:05 UTC" in why
    assert verification_unmet("qa-1", 7, [*failed, Rec("verify", 7, "verified", 9)]) is None
    assert "never verified" in (verification_unmet("qa-1", 7, [Rec("deploy", 7, "ok", 0)]) or "")
    other = [Rec("deploy", 7, "verified", 0, environment="qa-2")]
    assert "never deployed to qa-1" in (verification_unmet("qa-1", 7, other) or "")


def test_policy_json_keeps_reading_old_policies() -> None:
    old = {"promotion_only": False, "from_releases": [], "approvals": 1, "healthy_in": ["qa-1"]}
    policy = Policy.from_json(old)
    assert (policy.verified_in, policy.soak, policy.healthy_in) == ((), None, ("qa-1",))
    new = Policy(verified_in=("qa-1",), soak=Soak("qa-2", 30))
    assert Policy.from_json(new.to_json()) == new and not new.empty
    source, none = Source("A", "R", 7), Standing(None, ())
    reasons = unmet(new, source, none, None)
    assert reasons == [
        "the policy needs the deployment ledger of qa-1, qa-2 but this registry has no "
        "deployment ledger to check it against"
    ]
    reasons = unmet(new, source, none, [Rec("deploy", 7, "verified", 0)], [], at(1))
    assert len(reasons) == 1 and "soaked 0 of 30 minutes in qa-2" in reasons[0]


def test_its_own_failed_deploy_is_named_not_never_deployed() -> None:
    records = [
        Rec("deploy", 5, "verified", 0),
        Rec("deploy", 6, "verification_failed", 10, rolled_back_to=5),
    ]
    why = soak_unmet(Soak("qa-1", 1), 6, records, at(60))
    assert why == (
        "version 6 soaked 0 of 1 minute in qa-1: its deploy at 2026-12-01 12:10 UTC ended "
        "verification failed and left version 5 running; the soak starts again at its next "
        "healthy deploy"
    )
