"""The verification's rules on recorded inputs (no engine): verdicts from exits, the wait
within --verify-timeout, the status and the outcome word, the excerpt kept, the services
the profile marks, and the record the ledger gets."""

from __future__ import annotations

from deployer.ledger import record
from deployer.verdicts import ServiceVerdict, Verdict
from deployer.verification import rules
from deployer.verification.rules import (
    LookAtTest,
    Status,
    Verification,
    last_lines,
    outcome_word,
    tail_bytes,
    verification_services,
)

# (the rules' Test* classes are named through the module: pytest collects Test* names)


def sv(name: str, verdict: Verdict) -> ServiceVerdict:
    return ServiceVerdict(name, verdict, None, "", 1.0, ["0123456789ab"])


HEALTHY = {"api": sv("api", Verdict.HEALTHY), "db": sv("db", Verdict.RUNNING)}
PASSED = rules.TestResult("smoke", rules.TestVerdict.PASSED, 0, "ok")
FAILED = rules.TestResult("smoke", rules.TestVerdict.FAILED, 3, "boom")
SLOW = rules.TestResult("load", rules.TestVerdict.TIMED_OUT, None, "still going")


def test_a_recorded_run_two_tests_one_exits_3_one_overruns() -> None:
    watch = rules.TestsWatch(["smoke", "load"], started=100.0, timeout=5.0)
    # (time, service, container states) as polled from the engine
    polls = [
        (100.1, "smoke", [("created", 0)]),
        (100.1, "load", [("running", 0)]),
        (100.6, "smoke", [("running", 0)]),
        (101.2, "smoke", [("exited", 3)]),
        (101.2, "load", [("running", 0)]),
        (103.0, "load", [("running", 0)]),
    ]
    for t, service, states in polls:
        watch.observe(LookAtTest(service, states, t))
        assert watch.overdue(t) == []
    assert watch.pending() == ["load"]
    assert watch.overdue(105.0) == ["load"]
    watch.timed_out(["load"], 105.2)
    assert watch.finished
    smoke, load = watch.result("smoke", "boom"), watch.result("load", "...")
    assert (smoke.verdict, smoke.exit_code, round(smoke.seconds, 1)) == ("failed", 3, 1.2)
    assert smoke.label == "failed(3)" and load.label == "timed out"
    assert (load.verdict, load.exit_code) == ("timed_out", None)
    found = Verification.of([smoke, load])
    assert found.status is Status.FAILED and found.failed
    assert found.summary() == "verification failed: smoke failed(3), load timed out"


def test_scaled_test_first_nonzero_exit_wins_and_a_vanished_container_fails() -> None:
    watch = rules.TestsWatch(["a", "b", "c"], started=0.0, timeout=10.0)
    watch.observe(LookAtTest("a", [("exited", 0), ("running", 0)], 1.0))
    assert "a" in watch.pending()  # one of its containers still runs
    watch.observe(LookAtTest("a", [("exited", 0), ("exited", 2)], 2.0))
    watch.observe(LookAtTest("b", [("exited", 0)], 2.0))
    watch.observe(LookAtTest("c", [], 2.0))  # removed by someone before it was seen to exit
    assert watch.finished
    assert watch.result("a", "").label == "failed(2)"
    assert watch.result("b", "").verdict is rules.TestVerdict.PASSED
    c = watch.result("c", "")
    assert c.verdict is rules.TestVerdict.FAILED and c.detail == "its container is gone"
    # a result once judged is not changed by a later look
    watch.observe(LookAtTest("b", [("exited", 9)], 3.0))
    assert watch.result("b", "").exit_code == 0


def test_status_outcome_and_summary() -> None:
    assert Verification.of([PASSED]).status is Status.PASSED
    assert Verification.of([PASSED, SLOW]).status is Status.TIMED_OUT
    assert Verification.of([SLOW, FAILED]).status is Status.FAILED
    assert Verification.of([PASSED]).summary() == "verification passed (1 test)"
    assert Verification.skipped().summary() == "verification skipped (--skip-verify)"
    ok = Verification.of([PASSED])
    bad = Verification.of([FAILED])
    assert outcome_word(HEALTHY, None) == "ok"
    assert outcome_word(HEALTHY, None, ok) == "verified"
    assert outcome_word(HEALTHY, None, Verification.skipped()) == "ok"
    assert outcome_word(HEALTHY, None, bad) == "verification_failed"
    assert outcome_word(HEALTHY, 4, bad) == "verification_failed"  # rolled back (to 4)
    assert outcome_word(HEALTHY, 4, ok) == "rolled_back"  # a later check failed
    sick = {**HEALTHY, "api": sv("api", Verdict.UNHEALTHY)}
    assert outcome_word(sick, None) == "failed" and outcome_word(sick, 3) == "rolled_back"
    late = {**HEALTHY, "api": sv("api", Verdict.TIMED_OUT)}
    assert outcome_word(late, None) == "timed_out"


def test_the_excerpt_keeps_the_end_within_the_registrys_bytes() -> None:
    logs = "\n".join(f"line {i} é" for i in range(200))
    assert last_lines(logs).splitlines()[0] == "line 150 é"
    cut = tail_bytes("é" * 3000, 4000)
    assert len(cut.encode()) == 4000 and cut == "é" * 2000
    assert tail_bytes("xé", 2) == "é" and tail_bytes("xé", 1) == ""
    big = rules.TestResult("t", rules.TestVerdict.FAILED, 1, "a" * 5000 + "THE END")
    assert big.as_json()["logs"].endswith("THE END") and len(big.as_json()["logs"]) == 4000


def test_the_profile_marks_the_tests() -> None:
    model = {
        "api": {"image": "x"},
        "smoke": {"image": "y", "profiles": ["verify"]},
        "debug": {"image": "z", "profiles": ["debug", "verify"]},
        "tools": {"image": "z", "profiles": ["tools"]},
    }
    assert verification_services(model) == ["smoke", "debug"]


def test_the_record_carries_the_verification_only_when_declared() -> None:
    common = dict(
        kind="deploy", environment="qa", application="A", release="R", version=2,
        commit=None, started="2026-12-01T10:00:00.000Z", finished="2026-12-01T10:00:01.000Z",
        by="me", engine={}, source=None, service_entries=[],
    )  # fmt: skip
    plain = record.build(outcome="ok", **common)  # type: ignore[arg-type]
    assert "verification" not in plain
    done = record.build(outcome="verification_failed", rolled_back_to=1,
                        verification=Verification.of([FAILED]), **common)  # type: ignore[arg-type]  # fmt: skip
    assert done["verification"] == {
        "status": "failed",
        "tests": [{"service": "smoke", "verdict": "failed", "exit_code": 3, "logs": "boom"}],
    }


def test_the_ledgers_view_says_a_failed_verification_and_what_runs_after_it() -> None:
    from deployer.ledger.command import _recorded_version
    from deployer.ledger.show import environment_text

    failed = {
        "application": "A", "release": "R", "version": 5, "rolled_back_to": 4,
        "outcome": "verification_failed", "kind": "deploy", "finished": "2026-12-07T10:00:00Z",
        "by": "qa", "commit": None,
        "verification": {"status": "failed", "tests": [
            {"service": "smoke", "verdict": "failed", "exit_code": 1, "logs": ""}]},
    }  # fmt: skip
    text = environment_text({"name": "qa-1", "deployments": 2, "deployed": [failed], "lock": None})
    assert "A/R v4 (deploy verification failed, rolled back from v5; " in text
    assert "verification failed (smoke))" in text
    assert _recorded_version(failed) == 4
    assert _recorded_version({**failed, "rolled_back_to": None}) == 5
