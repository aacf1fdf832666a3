"""consign bisect's search, judges and culprit line on recorded answers (no engine): the
number of deploys, skips, "no bad version", undecided ranges, the verification contract's
reports, git bisect run's exit convention, and the diff API's answer as one line."""

from __future__ import annotations

import math
from typing import Any

import pytest

from consign.errors import BisectAborted
from deployer.bisect.culprit import changes, headline, links
from deployer.bisect.judges import RunJudge, StepReport, VerificationJudge
from deployer.bisect.search import Bisection, Judgement, StepVerdict


class Recorded:
    """A judge answering from a rule: versions >= first_bad are bad; some skip."""

    def __init__(
        self, first_bad: int | None, skip: set[int] = frozenset(), unseen: set[int] = frozenset()
    ) -> None:
        self.first_bad, self.skip, self.unseen = first_bad, set(skip), set(unseen)
        self.asked: list[int] = []

    def __call__(self, version: int, step: int) -> Judgement:
        self.asked.append(version)
        if version in self.unseen:
            return Judgement(StepVerdict.SKIP, "incomplete", deployed=False)
        if version in self.skip:
            return Judgement(StepVerdict.SKIP, "did not deploy")
        if self.first_bad is not None and version >= self.first_bad:
            return Judgement(StepVerdict.BAD, "bad")
        return Judgement(StepVerdict.GOOD, "good")


@pytest.mark.parametrize("first_bad", range(2, 22))
def test_every_first_bad_of_20_versions_in_log2_deploys(first_bad: int) -> None:
    judge = Recorded(first_bad if first_bad <= 20 else None)
    found = Bisection(0, 20, judge).run()
    assert found.deploys <= math.ceil(math.log2(20))
    if first_bad <= 20:
        assert (found.first_bad, found.last_good) == (first_bad, first_bad - 1)
    else:
        assert found.no_bad and found.last_good == 20
    assert len(set(judge.asked)) == len(judge.asked)  # never the same version twice


def test_the_bound_over_many_ranges() -> None:
    for good in (1, 12):
        for width in range(1, 40):
            for first in range(good + 1, good + width + 2):
                judge = Recorded(first if first <= good + width else None)
                found = Bisection(good, good + width, judge).run()
                assert found.deploys <= math.ceil(math.log2(width + 1))
                assert found.first_bad == (first if first <= good + width else None)


def test_skips_cost_one_deploy_each_and_incomplete_ones_none() -> None:
    judge = Recorded(27, skip={26}, unseen={20, 33})
    found = Bisection(12, 40, judge).run()
    assert found.first_bad == 27 and found.last_good == 25
    assert found.candidates == (26, 27)  # 26 could not be judged: it may be the first bad
    assert found.deploys <= math.ceil(math.log2(28)) + 1
    judge = Recorded(30, unseen={29})
    found = Bisection(20, 40, judge).run()
    assert found.first_bad == 30 and found.candidates == (29, 30)
    assert found.deploys == len(judge.asked) - judge.asked.count(29)


def test_everything_skipped_is_undecided() -> None:
    found = Bisection(1, 4, Recorded(3, skip={2, 3, 4})).run()
    assert found.first_bad is None and not found.no_bad and found.candidates == (2, 3, 4, 5)


def test_a_range_that_is_not_one() -> None:
    with pytest.raises(ValueError, match="must be after"):
        Bisection(5, 5, Recorded(None))


def report(**doc: Any) -> StepReport:
    return StepReport(27, int(doc.pop("exit_code", 0)), doc, project="p", environment="qa-1")


def test_verification_reports_as_the_contract_says() -> None:
    judge = VerificationJudge()
    passed = report(outcome="verified", verification={"status": "passed", "tests": []})
    assert judge.judge(passed).verdict is StepVerdict.GOOD
    failed = report(
        exit_code=1,
        outcome="verification_failed",
        verification={
            "status": "failed",
            "tests": [
                {"service": "smoke", "verdict": "failed", "exit_code": 3, "logs": "login 500"},
                {"service": "api-test", "verdict": "passed", "exit_code": 0, "logs": ""},
            ],
        },
    )
    got = judge.judge(failed)
    assert (
        got.verdict is StepVerdict.BAD and got.why == "verification failed: smoke failed (exit 3)"
    )
    slow = report(exit_code=1, verification={"status": "timed_out", "tests": [
        {"service": "smoke", "verdict": "timed_out", "exit_code": None, "logs": ""}]})  # fmt: skip
    assert judge.judge(slow).why == "verification failed: smoke timed out"
    never_ran = report(exit_code=1, outcome="verification_failed", verification={
        "status": "failed", "tests": [{"service": "smoke", "verdict": "failed",
        "exit_code": None, "logs": "pull access denied for qa/smoke"}]})  # fmt: skip
    got = judge.judge(never_ran)
    assert got.verdict is StepVerdict.SKIP and "could not start" in got.why
    unhealthy = report(exit_code=1, error=None, summary="api crash-looping")
    assert judge.judge(unhealthy).verdict is StepVerdict.SKIP
    assert "api crash-looping" in judge.judge(unhealthy).why
    refused = StepReport(27, 4, None, "Compose refused it: bad port", "p", "qa-1")
    assert judge.judge(refused).why == "did not deploy: Compose refused it: bad port"
    with pytest.raises(BisectAborted, match="declares no verification"):
        judge.judge(report(outcome="ok"))
    with pytest.raises(BisectAborted, match="was skipped"):
        judge.judge(report(outcome="ok", verification={"status": "skipped", "tests": []}))


def test_run_convention() -> None:
    judge = RunJudge("true")
    assert judge.verdict(3, 0, "fine\n").verdict is StepVerdict.GOOD
    assert judge.verdict(3, 125, "").verdict is StepVerdict.SKIP
    assert judge.verdict(3, 1, "a\nb\nwrong body\n").why == "--run exited 1: a | b | wrong body"
    for code in (126, 127, 130, 137):
        with pytest.raises(BisectAborted, match=f"exit {code}"):
            judge.verdict(3, code, "")
    unhealthy = StepReport(3, 1, {"summary": "web unhealthy"}, "", "p", "qa-1")
    assert judge.judge(unhealthy).why == "did not deploy: web unhealthy"


def test_run_judges_a_version_whose_own_verification_failed() -> None:
    """Its services are healthy and it runs (a step is never rolled back): the command asked
    for judges it, and the judgement says the verification failed."""
    failed = report(
        exit_code=1, outcome="verification_failed", error="verification failed: smoke failed(1)",
        verification={"status": "failed", "tests": [
            {"service": "smoke", "verdict": "failed", "exit_code": 1, "logs": ""}]},
    )  # fmt: skip
    assert failed.running and not failed.healthy
    got = RunJudge("exit 0").judge(failed)
    assert got.verdict is StepVerdict.GOOD
    assert got.why == "--run exited 0 (its own verification failed: smoke failed(1))"
    assert RunJudge("exit 2").judge(failed).verdict is StepVerdict.BAD
    unhealthy = report(exit_code=1, outcome="failed", error="api unhealthy")
    assert not unhealthy.running
    assert RunJudge("exit 0").judge(unhealthy).verdict is StepVerdict.SKIP


def test_run_gets_the_step_and_its_output(tmp_path: Any) -> None:
    judge = RunJudge('echo "v=$CONSIGN_BISECT_VERSION p=$CONSIGN_BISECT_PROJECT"; exit 3')
    got = judge.judge(StepReport(9, 0, {}, "", "shop-qa", "qa-1"))
    assert got.verdict is StepVerdict.BAD and got.why == "--run exited 3: v=9 p=shop-qa"
    with pytest.raises(BisectAborted, match="timed out"):
        RunJudge("sleep 5", timeout=0.2).judge(StepReport(9, 0, {}, "", "p", "e"))


DIFF = {
    "added": [],
    "removed": [],
    "changed": [],
    "rebuilt": [
        {
            "service": "api",
            "component": "api",
            "build": {"plan": "TLO-API", "number": "412", "revision": "3f2a9c1e0d",
                      "url": "https://bamboo.example/browse/TLO-API-412"},
            "previous_component": "api",
            "previous_build": {"plan": "TLO-API", "number": "411", "revision": "aa",
                               "url": "https://bamboo.example/browse/TLO-API-411"},
        },
    ],
}  # fmt: skip


def test_the_culprit_line() -> None:
    found = changes(DIFF)
    assert headline(27, found) == "first bad: #27: api TLO-API #412 (was #411), vcs 3f2a9c1"
    assert links(found) == [
        "  api TLO-API #412: https://bamboo.example/browse/TLO-API-412",
        "  api TLO-API #411 (replaced): https://bamboo.example/browse/TLO-API-411",
    ]
    new = {
        "added": [{"service": "cache", "component": "cache", "build": {"plan": "C", "number": "1"}}]
    }
    assert headline(3, changes(new)) == "first bad: #3: cache C #1 (new)"
    assert headline(3, changes({})) == "first bad: #3: no component changed"


def test_every_bisect_option_has_an_env_variable_and_bad_ranges_are_usage_errors() -> None:
    from click.testing import CliRunner

    from consign.exit_codes import ExitCode
    from consignment.cli import main
    from deployer.bisect.command import bisect_cmd

    for param in bisect_cmd.params:
        if param.name != "help" and param.param_type_name == "option":
            assert param.envvar and str(param.envvar).startswith(("CONSIGN_", "DOCKER_HOST"))
    base = ["bisect", "A", "R", "--environment", "qa-1", "--registry", "http://127.0.0.1:9"]
    for extra, said in (
        (["--good", "5", "--bad", "5"], "--bad 5 must be a later version than --good 5"),
        (["--good", "5", "--bad", "9", "--reject", " "], "--reject needs a reason"),
        (["--good", "5", "--bad", "9", "--leave", "middle"], "'middle' is not one of"),
    ):
        result = CliRunner().invoke(main, base + extra)
        assert result.exit_code == ExitCode.USAGE and said in result.output, result.output


def test_what_the_environment_is_put_back_on() -> None:
    from deployer.bisect.command import _original
    from deployer.deploy.record import Deployed

    def was(app: str, version: str) -> Deployed:
        return Deployed("p", app, "R", version, "c" * 40, "registry", "http://r", {})

    assert _original(None, "A", "R").version is None and _original(None, "A", "R").known
    assert _original(was("A", "12"), "A", "R").version == 12
    odd = _original(was("A", "file"), "A", "R")
    assert not odd.known and odd.version is None
    with pytest.raises(BisectAborted, match="runs B/R, not A/R"):
        _original(was("B", "3"), "A", "R")
