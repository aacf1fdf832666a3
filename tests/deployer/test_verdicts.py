"""Verdict rules on saved `docker inspect` JSON (tests/data/inspect, made by capture.py).

No engine needed. Each file holds the inspect of a real busybox container in the state it
is named after, plus the engine's clock at that moment (``wall``).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from deployer.engine.fields import health_detail, last_health_check, parse_stamp
from deployer.verdicts import Observation, Verdict, VerdictTracker

DATA = Path(__file__).resolve().parent.parent / "data" / "inspect"
T0 = 1000.0  # the tracker's start (monotonic seconds)


def saved(name: str) -> tuple[dict[str, Any], float]:
    record = json.loads((DATA / f"{name}.json").read_text())
    return record["inspect"], float(record["wall"])


def obs(
    name: str, t: float = T0 + 0.5, *, cid: str = "c1", service: str = "svc", **kw: Any
) -> Observation:
    inspect, wall = saved(name)
    return Observation(cid, service, t, inspect, wall=wall + (t - T0 - 0.5), **kw)


def done(tr: VerdictTracker, now: float) -> bool:
    return all(v.verdict.final for v in tr.verdicts(now).values())


def tracker(*services: str, stable: float = 3.0, **kw: Any) -> VerdictTracker:
    return VerdictTracker(services or ("svc",), stable=stable, started=T0, **kw)


def verdict_of(*observations: Observation, **kw: Any) -> tuple[Verdict, int | None, str]:
    tr = tracker(**kw)
    for o in observations:
        tr.observe(o)
    sv = tr.verdicts(observations[-1].t)["svc"]
    return sv.verdict, sv.exit_code, sv.detail


@pytest.mark.parametrize(
    ("name", "verdict", "code"),
    [
        ("healthy", Verdict.HEALTHY, None),
        ("starting", Verdict.PENDING, None),
        ("unhealthy", Verdict.UNHEALTHY, None),
        ("exited0_no", Verdict.COMPLETED, 0),
        ("exited0_onfailure", Verdict.COMPLETED, 0),
        ("exited1_no", Verdict.EXITED, 1),
        ("onfailure_exhausted", Verdict.EXITED, 3),
        ("restarting_always", Verdict.CRASH_LOOPING, 1),
        ("restarting_always_exit0", Verdict.CRASH_LOOPING, 0),
        ("stopped_always", Verdict.EXITED, 137),
        ("created", Verdict.PENDING, None),
        ("port_taken", Verdict.NOT_CREATED, None),
        ("running_nohealth", Verdict.PENDING, None),
    ],
)
def test_single_observation(name: str, verdict: Verdict, code: int | None) -> None:
    got, exit_code, _ = verdict_of(obs(name))
    assert (got, exit_code) == (verdict, code)


def test_failures_and_successes_are_final_at_the_first_observation() -> None:
    for name in ("exited1_no", "restarting_always", "unhealthy", "port_taken", "exited0_no"):
        tr = tracker()
        tr.observe(obs(name, T0 + 0.2))
        assert done(tr, T0 + 0.2), name
        assert tr.verdicts(T0 + 0.2)["svc"].seconds == pytest.approx(0.2)


def test_unhealthy_detail_carries_the_last_probe_output() -> None:
    _, _, detail = verdict_of(obs("unhealthy"))
    assert "probe failed on purpose" in detail
    assert "last check exited 1" in detail


def test_exit_details_say_why() -> None:
    assert "on-failure:1 exhausted" in verdict_of(obs("onfailure_exhausted"))[2]
    assert "restart is always" in verdict_of(obs("stopped_always"))[2]
    assert "port is already allocated" in verdict_of(obs("port_taken"))[2]
    assert "restarted 1 time(s)" in verdict_of(obs("restarting_always"))[2]


def test_running_settles_after_the_stability_window_with_a_confirming_inspect() -> None:
    tr = tracker(stable=3.0)
    first = obs("running_nohealth", T0 + 0.5)
    tr.observe(first)
    assert tr.verdicts(T0 + 0.5)["svc"].verdict is Verdict.PENDING
    assert tr.confirm_due(T0 + 1.0) == []
    # Started ~0.5 s before it was first seen (per StartedAt vs the engine clock).
    started = parse_stamp(first.inspect["State"]["StartedAt"])
    assert started is not None and first.wall is not None
    due = T0 + 0.5 - (first.wall - started) + 3.0
    assert tr.confirm_due(due + 0.01) == ["c1"]
    assert tr.verdicts(due + 0.01)["svc"].verdict is Verdict.PENDING  # no guess from time alone
    tr.observe(obs("running_nohealth", due + 0.01))
    sv = tr.verdicts(due + 0.01)["svc"]
    assert sv.verdict is Verdict.RUNNING
    assert sv.seconds == pytest.approx(due + 0.01 - T0)


def test_running_without_engine_clock_counts_from_first_sight() -> None:
    inspect, _ = saved("running_nohealth")
    tr = tracker(stable=2.0)
    tr.observe(Observation("c1", "svc", T0 + 1, inspect))
    tr.observe(Observation("c1", "svc", T0 + 2.9, inspect))
    assert tr.verdicts(T0 + 2.9)["svc"].verdict is Verdict.PENDING
    tr.observe(Observation("c1", "svc", T0 + 3.0, inspect))
    assert tr.verdicts(T0 + 3.0)["svc"].verdict is Verdict.RUNNING


def test_long_running_container_is_running_at_once() -> None:
    inspect, wall = saved("running_nohealth")
    got = verdict_of(Observation("c1", "svc", T0 + 1, inspect, wall=wall + 60))
    assert got[0] is Verdict.RUNNING


def test_restart_count_rising_between_observations_is_crash_looping() -> None:
    inspect, wall = saved("running_nohealth")
    later = copy.deepcopy(inspect)
    later["RestartCount"] = 1
    later["State"]["StartedAt"] = "2030-01-01T00:00:00.5Z"
    tr = tracker()
    tr.observe(Observation("c1", "svc", T0 + 1, inspect, wall=wall))
    tr.observe(Observation("c1", "svc", T0 + 2, later, wall=wall + 1, last_exit=2))
    sv = tr.verdicts(T0 + 2)["svc"]
    assert (sv.verdict, sv.exit_code) == (Verdict.CRASH_LOOPING, 2)


def test_running_after_a_restart_during_this_deploy_is_crash_looping() -> None:
    inspect, _ = saved("running_restarted")
    created = parse_stamp(inspect["Created"])
    assert created is not None
    got = verdict_of(obs("running_restarted", last_exit=1), since_wall=created - 1)
    assert got[:2] == (Verdict.CRASH_LOOPING, 1)
    # The same restart count on a container from an older deploy is history, not evidence.
    assert verdict_of(obs("running_restarted"), since_wall=created + 1)[0] is Verdict.PENDING
    assert verdict_of(obs("onfailure_exhausted"), since_wall=created - 3600)[0] is (
        Verdict.CRASH_LOOPING
    )


def test_failures_stick() -> None:
    tr = tracker()
    tr.observe(obs("unhealthy", T0 + 1))
    tr.observe(obs("healthy", T0 + 2))
    tr.forget("c1", T0 + 3)
    sv = tr.verdicts(T0 + 3)["svc"]
    assert (sv.verdict, sv.seconds) == (Verdict.UNHEALTHY, pytest.approx(1.0))


def test_healthy_can_still_turn_into_a_failure() -> None:
    tr = tracker()
    tr.observe(obs("healthy", T0 + 1))
    tr.observe(obs("restarting_always", T0 + 2))  # same container id, now restarting
    assert tr.verdicts(T0 + 2)["svc"].verdict is Verdict.CRASH_LOOPING


def test_timeout_turns_pending_into_timed_out() -> None:
    tr = tracker("svc", "other", timeout=10.0)
    tr.observe(obs("starting", T0 + 1))
    assert not done(tr, T0 + 9.9)
    vs = tr.verdicts(T0 + 10)
    assert vs["svc"].verdict is Verdict.TIMED_OUT and "starting" in vs["svc"].detail
    assert vs["other"].verdict is Verdict.TIMED_OUT and "0 of 1" in vs["other"].detail
    assert vs["svc"].seconds == 10.0
    assert done(tr, T0 + 10)


def test_not_created_is_set_by_the_caller_and_sticks() -> None:
    tr = tracker("svc", "web")
    tr.mark_not_created("web", "Error response from daemon: No such image: nope:1")
    tr.observe(obs("healthy", cid="w1", service="web"))
    sv = tr.verdicts(T0 + 1)["web"]
    assert sv.verdict is Verdict.NOT_CREATED and "No such image" in sv.detail
    assert not done(tr, T0 + 1)  # svc has not been seen


def test_an_observed_failure_is_never_overwritten_by_a_mark() -> None:
    tr = tracker("svc")
    tr.observe(obs("restarting_always", T0 + 1))
    tr.mark("svc", Verdict.NOT_CREATED, "dependency failed to start", T0 + 2)
    tr.mark("svc", Verdict.BLOCKED, "waits for x", T0 + 2)
    sv = tr.verdicts(T0 + 3)["svc"]
    assert sv.verdict is Verdict.CRASH_LOOPING and sv.containers
    assert "dependency" not in sv.detail


def test_blocked_is_a_failure_but_not_the_cause() -> None:
    assert Verdict.BLOCKED.failed and not Verdict.BLOCKED.cause
    assert Verdict.CRASH_LOOPING.cause and not Verdict.PENDING.cause


def test_replicas_worst_container_wins_and_missing_ones_are_not_final() -> None:
    tr = tracker(replicas={"svc": 2})
    tr.observe(obs("healthy", cid="a"))
    assert tr.verdicts(T0 + 1)["svc"].verdict is Verdict.PENDING
    tr.observe(obs("healthy", cid="b"))
    sv = tr.verdicts(T0 + 1)["svc"]
    assert sv.verdict is Verdict.HEALTHY and len(sv.containers) == 2
    tr.observe(obs("exited1_no", cid="c"))
    assert tr.verdicts(T0 + 1)["svc"].verdict is Verdict.EXITED


def test_other_services_are_ignored_and_verdict_flags() -> None:
    tr = tracker()
    tr.observe(obs("exited1_no", service="someone-else"))
    assert tr.verdicts(T0 + 1)["svc"].verdict is Verdict.PENDING
    assert [v for v in Verdict if v.ok] == [Verdict.HEALTHY, Verdict.RUNNING, Verdict.COMPLETED]
    assert [v for v in Verdict if not v.final] == [Verdict.PENDING]


def test_docker_timestamps() -> None:
    assert parse_stamp("0001-01-01T00:00:00Z") is None
    assert parse_stamp("1970-01-01T00:00:01.123456789Z") == pytest.approx(1.123456789)
    assert parse_stamp("1970-01-01T01:00:00+01:00") == 0.0
    inspect, _ = saved("unhealthy")
    check = last_health_check(inspect)
    assert check is not None and check.startswith("last healthcheck (exit 1): ")
    assert "probe failed on purpose" in check
    assert last_health_check(saved("running_nohealth")[0]) is None
    assert "no check recorded" in health_detail(saved("starting")[0])
