"""The dependency rule of the verdicts, on recorded sequences (no engine): a crash loop is
certain only once what the service needs is back (deployer/verdicts/tracker.py).

Each sequence is what a real engine shows of an unchanged ``worker`` (a busybox sh that
exits 3 when it cannot reach ``web``; restart: always) while this deploy replaces ``web``:
the inspect JSON saved by tests/data/inspect/capture.py with its state fields set as the
engine sets them (RestartCount bumped and Restarting at each exit, FinishedAt the exit,
StartedAt each start).
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from deployer.verdicts import Observation, Verdict, VerdictTracker

DATA = Path(__file__).resolve().parent.parent / "data" / "inspect"
T0 = 1000.0  # monotonic time the deploy began
W0 = 1_800_000_000.0  # the engine's clock then (since_wall)
NEVER = "0001-01-01T00:00:00Z"


def stamp(t: float) -> str:
    """The engine's RFC 3339 stamp of monotonic time ``t``."""
    when = datetime.fromtimestamp(W0 + (t - T0), UTC)
    return when.isoformat(timespec="microseconds").replace("+00:00", "Z")


def container(
    *, created: float, started: float, finished: float | None = None, count: int = 0,
    restarting: bool = False, policy: str = "always", health: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    data: dict[str, Any] = copy.deepcopy(
        json.loads((DATA / "running_nohealth.json").read_text())["inspect"]
    )
    data["Created"] = stamp(created)
    data["RestartCount"] = count
    data["HostConfig"]["RestartPolicy"] = {"Name": policy, "MaximumRetryCount": 0}
    st = data["State"]
    st.update(
        Status="restarting" if restarting else "running", Running=True, Restarting=restarting,
        StartedAt=stamp(started), FinishedAt=NEVER if finished is None else stamp(finished),
        ExitCode=3 if finished is not None else 0,
    )  # fmt: skip
    if health is not None:
        st["Health"] = {"Status": health, "FailingStreak": 0, "Log": []}
    return data


def seen(cid: str, service: str, t: float, inspect: dict[str, Any]) -> Observation:
    return Observation(cid, service, t, inspect, wall=W0 + (t - T0))


def tracker(deps: dict[str, list[str]] | None = None, stable: float = 2.0) -> VerdictTracker:
    return VerdictTracker(
        ["web", "worker"], stable=stable, started=T0, since_wall=W0, dependencies=deps or {}
    )


OLD = T0 - 3600.0  # the worker's container predates the deploy: Compose keeps it


def web(t: float, health: str) -> Observation:
    return seen("w2", "web", t, container(created=T0 + 1, started=T0 + 2, health=health))


def worker(t: float, **state: Any) -> Observation:
    return seen("k1", "worker", t, container(created=OLD, **state))


def test_an_unchanged_dependent_restarting_while_web_is_replaced_is_ok_once_web_is_back() -> None:
    tr = tracker({"worker": ["web"]})
    tr.observe(web(T0 + 3, "starting"))
    tr.observe(worker(T0 + 3, started=OLD, finished=T0 + 2.5, count=1, restarting=True))
    held = tr.verdicts(T0 + 3)["worker"]
    assert held.verdict is Verdict.PENDING
    assert held.detail.startswith("restarted while web (which it needs) is not back yet")
    tr.observe(worker(T0 + 4, started=T0 + 3.6, finished=T0 + 3.5, count=2, restarting=True))
    assert tr.verdicts(T0 + 4)["worker"].verdict is Verdict.PENDING  # web still starting
    tr.observe(web(T0 + 6, "healthy"))  # web is back
    # the restart due from its last exit (before web was back) is not a new failure
    tr.observe(worker(T0 + 7, started=T0 + 6.5, finished=T0 + 3.5, count=2))
    assert tr.verdicts(T0 + 7)["worker"].verdict is Verdict.PENDING  # stability window
    tr.observe(worker(T0 + 9, started=T0 + 6.5, finished=T0 + 3.5, count=2))
    verdicts = tr.verdicts(T0 + 9)
    assert verdicts["worker"].verdict is Verdict.RUNNING, verdicts["worker"].detail
    assert verdicts["web"].verdict is Verdict.HEALTHY


def test_seen_restarting_for_the_first_time_after_web_is_back_but_exited_before() -> None:
    """Old containers are inspected only once `up` returns: the exit may predate that."""
    tr = tracker()  # no depends_on: web is needed because this deploy recreates it
    tr.observe(web(T0 + 2, "starting"))
    tr.observe(web(T0 + 5, "healthy"))
    tr.observe(worker(T0 + 6, started=T0 + 2, finished=T0 + 4, count=3, restarting=True))
    assert tr.verdicts(T0 + 6)["worker"].verdict is Verdict.PENDING  # excused: restarting
    tr.observe(worker(T0 + 7, started=T0 + 6.5, finished=T0 + 4, count=3))
    tr.observe(worker(T0 + 9, started=T0 + 6.5, finished=T0 + 4, count=3))
    assert tr.verdicts(T0 + 9)["worker"].verdict is Verdict.RUNNING


def test_a_service_that_keeps_crashing_once_web_is_back_is_crash_looping() -> None:
    tr = tracker({"worker": ["web"]})
    tr.observe(web(T0 + 3, "starting"))
    tr.observe(worker(T0 + 3, started=OLD, finished=T0 + 2.5, count=1, restarting=True))
    tr.observe(web(T0 + 6, "healthy"))
    tr.observe(worker(T0 + 7, started=T0 + 6.5, finished=T0 + 2.5, count=1))
    assert tr.verdicts(T0 + 7)["worker"].verdict is Verdict.PENDING
    # exits again with web healthy: that is what happens next, and it is a crash loop
    tr.observe(worker(T0 + 8, started=T0 + 6.5, finished=T0 + 7.8, count=2, restarting=True))
    sv = tr.verdicts(T0 + 8)["worker"]
    assert (sv.verdict, sv.exit_code) == (Verdict.CRASH_LOOPING, 3)
    assert tr.verdicts(T0 + 30)["worker"].verdict is Verdict.CRASH_LOOPING  # sticky


def test_crash_looping_with_nothing_away_is_certain_at_once() -> None:
    tr = tracker()  # web unchanged and fine: nothing the worker needs is away
    tr.observe(seen("w1", "web", T0 + 1, container(created=OLD, started=OLD, health="healthy")))
    tr.observe(worker(T0 + 1, started=OLD, finished=T0 + 0.5, count=1, restarting=True))
    assert tr.verdicts(T0 + 1)["worker"].verdict is Verdict.CRASH_LOOPING


def test_a_crash_looping_dependency_blocks_its_restarting_dependent() -> None:
    tr = tracker({"worker": ["web"]})
    bad = container(created=T0 + 1, started=T0 + 2, finished=T0 + 2.2, count=1, restarting=True)
    tr.observe(seen("w2", "web", T0 + 3, bad))
    tr.observe(worker(T0 + 3, started=OLD, finished=T0 + 2.5, count=1, restarting=True))
    verdicts = tr.verdicts(T0 + 3)
    assert verdicts["web"].verdict is Verdict.CRASH_LOOPING  # the cause
    assert verdicts["worker"].verdict is Verdict.BLOCKED
    assert verdicts["worker"].detail == (
        "restarts while web, which it depends on, is crash-looping (exit 3)"
    )


def test_a_service_is_never_held_by_those_that_depend_on_it() -> None:
    """api crash-loops; web (recreated) waits for it and can never be back: api is certain."""
    tr = VerdictTracker(
        ["api", "web"], stable=2.0, started=T0, since_wall=W0, dependencies={"web": ["api"]}
    )
    waiting = container(created=T0 + 1, started=T0 + 1)
    waiting["State"].update(Status="created", Running=False, StartedAt=NEVER)
    tr.observe(seen("w2", "web", T0 + 2, waiting))
    crash = container(created=T0 + 1, started=T0 + 1.5, finished=T0 + 1.6, count=1, restarting=True)
    tr.observe(seen("a2", "api", T0 + 2, crash))
    assert tr.verdicts(T0 + 2)["api"].verdict is Verdict.CRASH_LOOPING


def test_two_recreated_services_crashing_are_both_certain() -> None:
    """Each is recreated by the deploy, so each might wait for the other: neither does."""
    tr = tracker()
    for cid, service in (("w2", "web"), ("k2", "worker")):
        crash = container(
            created=T0 + 1, started=T0 + 1.5, finished=T0 + 1.6, count=1, restarting=True
        )
        tr.observe(seen(cid, service, T0 + 2, crash))
    verdicts = tr.verdicts(T0 + 2)
    assert {s: v.verdict for s, v in verdicts.items()} == {
        "web": Verdict.CRASH_LOOPING,
        "worker": Verdict.CRASH_LOOPING,
    }


def test_held_until_the_timeout_when_what_it_needs_never_comes_back() -> None:
    tr = VerdictTracker(
        ["web", "worker"], stable=2.0, started=T0, since_wall=W0, timeout=30.0,
        dependencies={"worker": ["web"]},
    )  # fmt: skip
    tr.observe(web(T0 + 3, "starting"))
    tr.observe(worker(T0 + 3, started=OLD, finished=T0 + 2.5, count=1, restarting=True))
    sv = tr.verdicts(T0 + 31)["worker"]
    assert sv.verdict is Verdict.TIMED_OUT and "web (which it needs)" in sv.detail


def test_held_by_a_service_that_then_fails_is_judged_on_its_own_again() -> None:
    """web waits for worker (both recreated); worker then crash-loops: web's own crash loop
    is certain too (nothing it needs is still on its way back)."""
    tr = tracker()
    waiting = container(created=T0 + 1, started=T0 + 1)
    waiting["State"].update(Status="created", Running=False, StartedAt=NEVER)
    tr.observe(seen("k2", "worker", T0 + 2, waiting))
    crash = container(created=T0 + 1, started=T0 + 1.5, finished=T0 + 1.6, count=1, restarting=True)
    tr.observe(seen("w2", "web", T0 + 2, crash))
    assert tr.verdicts(T0 + 2)["web"].verdict is Verdict.PENDING
    tr.observe(seen("k2", "worker", T0 + 3, crash))
    verdicts = tr.verdicts(T0 + 3)
    assert verdicts["worker"].verdict is Verdict.CRASH_LOOPING
    assert verdicts["web"].verdict is Verdict.CRASH_LOOPING


class Box:
    """A container as the SDK gives it: ``attrs`` and ``reload()`` (the next inspect; a
    ``None`` state: the container was removed, the SDK's ``NotFound``)."""

    def __init__(self, cid: str, *states: dict[str, Any] | None) -> None:
        self.id, self.states = cid, list(states)
        first = self.states.pop(0)
        assert first is not None
        self.attrs = first

    def reload(self) -> None:
        import docker.errors

        found = self.states.pop(0)
        if found is None:
            raise docker.errors.NotFound(f"No such container: {self.id}")
        self.attrs = found


def test_status_watches_a_recent_restart_instead_of_guessing() -> None:
    from deployer.status import RECENT, RecentRestarts

    now = {"t": T0 + 5}
    recovered = container(created=OLD, started=T0 + 3, finished=T0 + 2, count=2)
    again = container(created=OLD, started=T0 + 4, finished=T0 + 2, count=2)
    crashed = container(created=OLD, started=T0 + 12, finished=T0 + 11, count=3)
    steady = container(created=OLD, started=OLD)
    boxes = [Box("ok", recovered, recovered), Box("bad", again, crashed), Box("up", steady)]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now["t"] += seconds

    watch = RecentRestarts(boxes, W0 - T0, clock=lambda: now["t"], sleep=sleep)
    watch.settle()
    assert [c.id for c in watch.recent] == ["ok", "bad"]  # the steady one is not waited for
    assert slept == [pytest.approx(RECENT - 1)]  # until the latest start has run RECENT s
    assert watch.again == {"bad"}


def test_status_counts_a_container_removed_while_watched_as_not_settled() -> None:
    """Removed (a redeploy, a teardown) during the wait: not settled, and no NotFound."""
    from deployer.status import RecentRestarts

    now = {"t": T0 + 5}
    recovered = container(created=OLD, started=T0 + 3, finished=T0 + 2, count=2)
    boxes = [Box("gone", recovered, None), Box("ok", recovered, recovered)]

    def sleep(seconds: float) -> None:
        now["t"] += seconds

    watch = RecentRestarts(boxes, W0 - T0, clock=lambda: now["t"], sleep=sleep)
    watch.settle()
    assert watch.again == {"gone"}


@pytest.mark.parametrize(("existed", "verdict"), [({"loop"}, Verdict.CRASH_LOOPING),
                                                  ({"loop", "slow"}, Verdict.PENDING)])  # fmt: skip
def test_a_service_the_deploy_adds_is_not_waited_for(existed: set[str], verdict: Verdict) -> None:
    """`slow` is new in this version: `loop` cannot have needed it, so its crash loop is
    certain while `slow` still starts; had `slow` been there before (replaced), it waits."""
    tr = VerdictTracker(["loop", "slow"], stable=2.0, started=T0, since_wall=W0, existed=existed)
    tr.observe(seen("s2", "slow", T0 + 2, container(created=T0 + 1, started=T0 + 1.5,
                                                     health="starting")))  # fmt: skip
    crash = container(created=T0 + 1, started=T0 + 1.5, finished=T0 + 1.6, count=1, restarting=True)
    tr.observe(seen("l2", "loop", T0 + 2, crash))
    assert tr.verdicts(T0 + 2)["loop"].verdict is verdict


def stopped_web(t: float, health: str) -> Observation:
    """web's own (older) container, stopped by hand and started again by this deploy at
    T0 + 0.5: a start by Compose resets RestartCount to 0."""
    return seen("w1", "web", t, container(created=OLD, started=T0 + 0.5, health=health))


def test_a_stopped_dependency_this_deploy_starts_again_is_not_ok_all_along() -> None:
    """The tester's trial (issue 19): web stopped by hand, worker (unless-stopped) crash-
    looping for want of it; a deploy of the same version starts web. The worker's restarts
    before web was back are excused; it is judged on what happens next: it runs."""
    tr = tracker({"worker": ["web"]})
    tr.observe(stopped_web(T0 + 1.5, "healthy"))  # Compose waited for it to be healthy
    tr.observe(worker(T0 + 1.5, started=T0 - 2, finished=T0 + 0.2, count=8, restarting=True,
                      policy="unless-stopped"))  # fmt: skip
    held = tr.verdicts(T0 + 1.5)["worker"]
    assert held.verdict is Verdict.PENDING, held.detail
    tr.observe(worker(T0 + 2, started=T0 + 1.8, finished=T0 + 0.2, count=8,
                      policy="unless-stopped"))  # fmt: skip
    tr.observe(worker(T0 + 4, started=T0 + 1.8, finished=T0 + 0.2, count=8,
                      policy="unless-stopped"))  # fmt: skip
    verdicts = tr.verdicts(T0 + 4)
    assert verdicts["worker"].verdict is Verdict.RUNNING, verdicts["worker"].detail
    assert verdicts["web"].verdict is Verdict.HEALTHY


def test_a_dependent_is_held_while_a_started_dependency_is_still_starting() -> None:
    """No depends_on: web counts as away because this deploy started it again."""
    tr = tracker()
    tr.observe(stopped_web(T0 + 1, "starting"))
    tr.observe(worker(T0 + 1, started=T0 - 2, finished=T0 + 0.2, count=8, restarting=True))
    sv = tr.verdicts(T0 + 1)["worker"]
    assert sv.verdict is Verdict.PENDING and "web (which it needs)" in sv.detail


def test_crashing_again_once_the_started_dependency_is_back_is_crash_looping() -> None:
    tr = tracker({"worker": ["web"]})
    tr.observe(stopped_web(T0 + 1.5, "healthy"))
    tr.observe(worker(T0 + 1.5, started=T0 - 2, finished=T0 + 0.2, count=8, restarting=True))
    tr.observe(worker(T0 + 3, started=T0 + 1.8, finished=T0 + 2.9, count=9, restarting=True))
    sv = tr.verdicts(T0 + 3)["worker"]
    assert (sv.verdict, sv.exit_code) == (Verdict.CRASH_LOOPING, 3)


def test_an_engine_restart_after_the_deploy_began_is_not_a_start_by_the_deploy() -> None:
    """RestartCount > 0: the engine restarted it, nobody stopped it; web stays ok all
    along, so a worker crash loop beside it is certain at once."""
    tr = tracker()
    restarted = container(created=OLD, started=T0 + 0.5, count=1, health="healthy")
    tr.observe(seen("w1", "web", T0 + 1, restarted))
    tr.observe(worker(T0 + 1, started=OLD, finished=T0 + 0.7, count=1, restarting=True))
    assert tr.verdicts(T0 + 1)["worker"].verdict is Verdict.CRASH_LOOPING
