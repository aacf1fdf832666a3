"""ProjectWatch's rules on saved event/inspect sequences: no engine, no sleeps.

The feed, the inspector and the clock are fakes that replay what a real engine said
(inspect JSON saved by tests/data/inspect/capture.py); the rules under test are the
old-container rule (while `up` runs only containers created by this deploy count), the
sync point (when `up` returns: forget the gone, judge the kept, account for the never
started: BLOCKED by a failed dependency, else NOT_CREATED), observed verdicts never
overwritten, and acting on certainty (interrupting `up`).
"""

from __future__ import annotations

import copy
import json
import threading
from pathlib import Path
from typing import Any

from consign.process import Completed
from deployer.engine.fields import parse_stamp
from deployer.verdicts import Verdict
from deployer.watch.project import ProjectWatch

DATA = Path(__file__).resolve().parent.parent / "data" / "inspect"
#: The saved containers were created at 04:02:25..36 on the engine's clock.
BEFORE = parse_stamp("2026-11-26T04:02:00Z") or 0.0
AFTER = parse_stamp("2026-11-26T04:05:00Z") or 0.0
OK = Completed(["compose", "up"], 0, "", "", 1.0)


def saved(name: str, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = copy.deepcopy(json.loads((DATA / f"{name}.json").read_text())["inspect"])
    data.update(changes)
    return data


def event(cid: str, service: str, action: str, **attrs: str) -> dict[str, Any]:
    labels = {"com.docker.compose.service": service, **attrs}
    return {"Action": action, "Actor": {"ID": cid, "Attributes": labels}}


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def monotonic(self) -> float:
        return self.now

    def engine_time(self) -> float:
        return AFTER + self.now


class Feed:
    def __init__(self, *batches: list[dict[str, Any]]) -> None:
        self.batches = list(batches)
        self.alive = True

    def drain(self, wait: float) -> list[dict[str, Any]]:
        return self.batches.pop(0) if self.batches else []


class Inspector:
    """Containers as the engine would show them; ``inspected`` records every inspect."""

    def __init__(self, **containers: tuple[str, dict[str, Any]]) -> None:
        self.data = dict(containers)
        self.inspected: list[str] = []

    def inspect(self, container_id: str) -> dict[str, Any] | None:
        self.inspected.append(container_id)
        found = self.data.get(container_id)
        return None if found is None else found[1]

    def containers(self) -> dict[str, str]:
        return {cid: service for cid, (service, _) in self.data.items()}


def make(
    services: list[str], inspector: Inspector, since: float = BEFORE, **kw: Any
) -> ProjectWatch:
    return ProjectWatch(
        services,
        feed=kw.pop("feed", Feed()),
        inspector=inspector,
        clock=kw.pop("clock", Clock()),
        stable=kw.pop("stable", 1.0),
        timeout=kw.pop("timeout", 60.0),
        since=since,
        **kw,
    )


def test_an_old_container_does_not_count_while_up_runs_but_does_once_compose_keeps_it() -> None:
    inspector = Inspector(old=("api", saved("exited1_no")))
    watch = make(["api"], inspector, since=AFTER)  # the saved container predates the deploy
    watch.on_events([event("old", "api", "die", exitCode="1")])
    assert watch.verdicts()["api"].verdict is Verdict.PENDING  # not this deploy's container
    assert not watch.failure_certain(watch.verdicts())
    watch.sync(OK, {})  # compose kept it: now it is judged
    assert watch.verdicts()["api"].verdict is Verdict.EXITED


def test_a_new_container_failing_while_up_runs_is_certain_but_final_only_after_sync() -> None:
    inspector = Inspector(c1=("api", saved("exited1_no")))
    watch = make(["api", "web"], inspector)
    watch.on_events([event("c1", "api", "die", exitCode="1")])
    verdicts = watch.verdicts()
    assert verdicts["api"].verdict is Verdict.EXITED and watch.failure_certain(verdicts)
    assert not watch.finished(verdicts)  # up still runs: the sync point is still to come
    assert watch.certain_at == 100.0


def test_no_inspect_on_create_while_up_runs() -> None:
    inspector = Inspector(c1=("api", saved("created")))
    watch = make(["api"], inspector)
    watch.on_events([event("c1", "api", "create")])
    assert inspector.inspected == []  # the engine holds its lock until its start
    watch.on_events([event("c1", "api", "create"), event("c1", "api", "start")])
    assert inspector.inspected == ["c1"]


def test_one_offs_and_other_services_are_ignored() -> None:
    inspector = Inspector(c1=("api", saved("exited1_no")))
    watch = make(["web"], inspector)
    oneoff = {"com.docker.compose.oneoff": "True"}
    watch.on_events([event("c1", "api", "die"), event("c2", "web", "die", **oneoff)])
    assert inspector.inspected == []


def test_sync_forgets_gone_containers_and_judges_the_listed() -> None:
    inspector = Inspector(c1=("web", saved("healthy")))
    watch = make(["web"], inspector)
    watch.on_events([event("c1", "web", "start")])
    assert watch.verdicts()["web"].verdict is Verdict.HEALTHY
    inspector.data = {"c2": ("web", saved("unhealthy"))}  # compose replaced it
    watch.sync(OK, {})
    assert watch.verdicts()["web"].verdict is Verdict.UNHEALTHY
    assert "c1" not in watch.known and "c2" in watch.known


def test_dependents_that_never_started_are_blocked_naming_dependency_and_condition() -> None:
    crash = saved("restarting_always")
    inspector = Inspector(
        a1=("api", crash),
        w1=("web", saved("created")),  # created, never started: waits for api
        p1=("proxy", saved("created")),  # waits for web
    )
    deps = {
        "web": {"api": "service_healthy"},
        "proxy": {"web": "service_started"},
        "api": {},
        "db": {},
    }
    inspector.data["d1"] = ("db", saved("created"))
    watch = make(["api", "web", "proxy", "db"], inspector, dependencies=deps)
    watch.on_events([event("a1", "api", "die", exitCode="1")])
    compose_said = {
        "api": "dependency failed to start: container p-api-1 is unhealthy",
        "web": "dependency failed to start: container p-api-1 is unhealthy",
        "db": "Error response from daemon: no space left on device",
    }
    failed_up = Completed(["compose", "up"], 1, "", "dependency failed", 30.0)
    watch.sync(failed_up, compose_said)
    verdicts = watch.verdicts()
    assert verdicts["api"].verdict is Verdict.CRASH_LOOPING  # observed: never overwritten
    assert verdicts["api"].exit_code == 1 and verdicts["api"].containers
    assert verdicts["web"].verdict is Verdict.BLOCKED
    assert verdicts["web"].detail == (
        "waits for api (service_healthy), which is crash-looping (exit 1)"
    )
    assert verdicts["proxy"].verdict is Verdict.BLOCKED
    assert "waits for web (service_started), which is blocked" in verdicts["proxy"].detail
    assert verdicts["db"].verdict is Verdict.NOT_CREATED and "no space" in verdicts["db"].detail
    assert watch.finished(verdicts)


class Up:
    """A `compose up` that runs until interrupted (as Compose waiting for a dependency)."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.interrupted = False

    def interrupt(self) -> None:
        self.interrupted = True
        self.stop.set()

    def wait(self, timeout: float | None = None) -> Completed:
        assert self.stop.wait(timeout=60), "never interrupted"
        return Completed(["compose", "up"], 130, "", "canceled", 5.0)


def test_a_certain_failure_interrupts_up_and_the_others_keep_what_they_were_doing() -> None:
    inspector = Inspector(
        a1=("api", saved("exited1_no")),
        w1=("web", saved("created")),
        s1=("slow", saved("unhealthy", State={**saved("healthy")["State"]})),
    )
    inspector.data["s1"][1]["State"]["Health"] = {"Status": "starting", "Log": []}
    feed = Feed([event("s1", "slow", "start")], [event("a1", "api", "die", exitCode="1")])
    deps = {"web": {"api": "service_completed_successfully"}}
    watch = make(["api", "web", "slow"], inspector, feed=feed, dependencies=deps)
    up = Up()
    seen: list[dict[str, Any]] = []
    result = watch.run(up, lambda done: {"web": "canceled"}, seen.append)
    assert up.interrupted and result.interrupted_up and result.up.returncode == 130
    v = result.verdicts
    assert v["api"].verdict is Verdict.EXITED and v["api"].exit_code == 1
    assert (
        v["web"].verdict is Verdict.BLOCKED and "service_completed_successfully" in v["web"].detail
    )
    assert v["slow"].verdict is Verdict.PENDING  # what it was doing when the deploy stopped
    assert seen and seen[-1] == v


def test_a_lost_feed_falls_back_to_inspecting_every_known_container() -> None:
    inspector = Inspector(c1=("job", saved("running_nohealth")))
    feed = Feed()
    watch = make(["job"], inspector, feed=feed)
    watch.sync(OK, {})
    running = saved("running_nohealth")
    exited = {**running["State"], "Status": "exited", "Running": False, "ExitCode": 1}
    inspector.data["c1"] = ("job", {**running, "State": exited})
    feed.alive = False
    watch.on_events([])
    assert watch.verdicts()["job"].verdict is Verdict.EXITED


def test_a_crash_while_a_service_being_created_is_not_inspected_yet_waits_for_it() -> None:
    """web's `create` event came, its inspect not yet (no inspect on create while up runs):
    the worker that restarts meanwhile is not crash-looping until web is back."""
    inspector = Inspector(k2=("worker", saved("restarting_always")), w2=("web", saved("created")))
    watch = make(["web", "worker"], inspector)
    watch.on_events([event("w2", "web", "create"), event("k2", "worker", "die", exitCode="3")])
    verdicts = watch.verdicts()
    assert verdicts["worker"].verdict is Verdict.PENDING, verdicts["worker"].detail
    assert "web (which it needs)" in verdicts["worker"].detail
    assert not watch.failure_certain(verdicts)

    alone = make(["web", "worker"], Inspector(k2=("worker", saved("restarting_always"))))
    alone.on_events([event("k2", "worker", "die", exitCode="3")])  # nothing else is coming
    assert alone.verdicts()["worker"].verdict is Verdict.CRASH_LOOPING
