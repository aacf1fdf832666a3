"""What a failed deploy that is not rolled back says it left, and what the project record
and `consign status` make of the version's verification: deployer/deploy/rollback.py and
deployer/status_text.py on recorded outcomes (no engine; the real engine's run is in
test_verification.py)."""

from __future__ import annotations

import io

from consign.exit_codes import ExitCode
from deployer.deploy.outcome import Outcome
from deployer.deploy.record import Deployed
from deployer.deploy.rollback import Flow, deploy_then_rollback, verification_of
from deployer.deploy.sources import Descriptor
from deployer.status import ProjectStatus
from deployer.status_text import headline
from deployer.verdicts import ServiceVerdict, Verdict
from deployer.verification import rules
from deployer.verification.rules import Verification

V1 = Descriptor("services: {}\n", "registry", "http://r", "Trial Slow", "Dev", "1")
V2 = Descriptor("services: {}\n", "registry", "http://r", "Trial Slow", "Dev", "2")
TIMED_OUT = Verification.of([rules.TestResult("smoke", rules.TestVerdict.TIMED_OUT, None)])


def sv(name: str, verdict: Verdict) -> ServiceVerdict:
    return ServiceVerdict(name, verdict, None, "", 1.0, ["0123456789ab"])


def outcome_of(d: Descriptor, web: Verdict, verification: Verification | None) -> Outcome:
    done = Outcome(d.application, d.release, d.version, d.kind, d.location, None, "trial-slow")
    done.verdicts = {"web": sv("web", web)}
    done.verification = verification
    return done


def run(
    web: Verdict,
    verification: Verification | None,
    previous: Deployed | None,
    *,
    rollback: bool = True,
) -> tuple[str, list[Descriptor]]:
    attempted: list[Descriptor] = []

    def attempt(d: Descriptor, _before: object) -> Outcome:
        attempted.append(d)
        return outcome_of(d, web if d is V2 else Verdict.HEALTHY, verification)

    def code(o: Outcome) -> ExitCode:
        bad = not o.ok or (o.verification is not None and o.verification.failed)
        return ExitCode.FAILED if bad else ExitCode.OK

    flow = Flow("trial-slow", "trial-slow", attempt, code, lambda d: "", lambda p: "")
    out = io.StringIO()
    deploy_then_rollback(
        V2, previous, flow, rollback=rollback, fetch_previous=lambda p: V1, out=out
    )
    return out.getvalue(), attempted


def deployed(version: str, verification: dict[str, str] | None = None) -> Deployed:
    return Deployed("trial-slow", "Trial Slow", "Dev", version, "", "registry", "http://r", {},
                    verification=verification or {})  # fmt: skip


def test_a_first_deploy_failing_its_verification_says_what_it_left() -> None:
    text, attempted = run(Verdict.HEALTHY, TIMED_OUT, None)
    assert attempted == [V2]
    assert text == (
        "deploy failed; no rollback: nothing to roll back to (trial-slow had no recorded "
        "version before this deploy): v2 left running, not verified (verification timed "
        "out: smoke timed out)\n"
    )


def test_a_failed_service_or_no_rollback_is_said_the_same_way() -> None:
    text, _ = run(Verdict.UNHEALTHY, None, None)
    assert text.endswith("before this deploy): v2 left as the deploy left it (see below)\n")
    text, attempted = run(Verdict.HEALTHY, TIMED_OUT, deployed("1"), rollback=False)
    assert attempted == [V2]
    assert text.startswith("deploy failed; no rollback: --no-rollback: v2 left running, not")
    text, attempted = run(Verdict.HEALTHY, TIMED_OUT, deployed("1"))
    assert attempted == [V2, V1] and "rolling back trial-slow to Trial Slow/Dev v1" in text


def test_the_record_keeps_the_verification_of_the_version_left_running() -> None:
    failed = outcome_of(V2, Verdict.HEALTHY, TIMED_OUT)
    said = verification_of(failed, None)
    assert said is not None and said["status"] == "timed_out" and said["by"] == "deploy"
    assert said["summary"] == "verification timed out: smoke timed out"
    assert verification_of(failed, outcome_of(V1, Verdict.HEALTHY, None)) is None  # rolled back
    assert verification_of(outcome_of(V2, Verdict.HEALTHY, None), None) is None  # none declared


def test_status_fails_a_project_whose_verification_failed() -> None:
    web = {"web": sv("web", Verdict.RUNNING)}
    said = {"status": "timed_out", "summary": "verification timed out: smoke timed out",
            "by": "deploy", "at": "2026-12-07T14:00:00Z"}  # fmt: skip
    failed = ProjectStatus(deployed("1", said), web)
    assert not failed.ok and failed.services_ok
    assert headline(failed) == (
        "trial-slow: Trial Slow/Dev v1 running, not verified: verification timed out: smoke "
        "timed out (deploy at 2026-12-07T14:00:00Z)"
    )
    assert failed.as_json()["verification"] == said
    passed = ProjectStatus(deployed("1", {**said, "status": "passed"}), web)
    assert passed.ok and headline(passed) == "trial-slow: Trial Slow/Dev v1 running, verified"
    skipped = ProjectStatus(deployed("1", {**said, "status": "skipped"}), web)
    assert skipped.ok and headline(skipped) == "trial-slow: Trial Slow/Dev v1 running"
    down = ProjectStatus(deployed("1", said), {"web": sv("web", Verdict.UNHEALTHY)})
    assert headline(down).startswith("trial-slow: Trial Slow/Dev v1 failed: web unhealthy")
