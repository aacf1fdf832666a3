"""deployer/ledger/lock.py's Acquisition on recorded registry answers (requests-mock),
projectlock.py's ProjectAcquisition on recorded engine answers, and
deployer/ledger/holder.py's "is the holder's process gone" on real processes. The same
rules against a real gunicorn: test_lock_registry.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import docker.errors
import pytest
import requests
import requests_mock as rm

from deployer.ledger import holder, show
from deployer.ledger.client import LedgerClient
from deployer.ledger.lock import Acquisition, LockRefused, LockUnavailable
from deployer.ledger.projectlock import ProjectAcquisition, ProjectLocked

URL = "http://registry.test:9090"
LOCK = f"{URL}/api/environments/qa-1/lock"


def locked(**holder_fields: Any) -> dict[str, Any]:
    """A recorded 409 answer: the lock held by ``holder_fields``."""
    return {
        "status_code": 409,
        "json": {
            "error": "locked",
            "message": "qa-1 is locked by bob since T",
            "lock": {"id": "HELD", "holder": {"by": "bob", **holder_fields}},
        },
    }


GRANTED = {"status_code": 201, "json": {"id": "MINE", "ttl": 60, "took_over": None}}
DROPPED = {"exc": requests.ConnectionError("('Connection aborted.', ConnectionResetError(104))")}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def __call__(self) -> float:
        return self.now


def acquisition(clock: Clock, **kwargs: Any) -> Acquisition:
    options: dict[str, Any] = {"wait": 10, "poll": 2.0, "gone": lambda h: False}
    options.update(kwargs)
    return Acquisition(
        LedgerClient(URL), "qa-1", {"by": "alice"}, sleep=clock.sleep, clock=clock, **options
    )


@pytest.fixture(autouse=True)
def _no_renewals(requests_mock: rm.Mocker) -> None:
    requests_mock.put(f"{LOCK}/MINE", json={"id": "MINE", "ttl": 60})
    requests_mock.delete(f"{LOCK}/MINE", status_code=204)


def test_connection_errors_while_waiting_never_become_skipping(requests_mock: rm.Mocker) -> None:
    """The issue's sequence: held, then the kept-alive connection is dropped, again and
    again: the wait goes on to its deadline and ends refused, never "unlocked"."""
    requests_mock.post(LOCK, [locked(), DROPPED, locked(), DROPPED, DROPPED, DROPPED, DROPPED])
    clock = Clock()
    with pytest.raises(LockRefused) as refused:
        acquisition(clock).run()
    assert "qa-1 is locked by bob" in refused.value.message
    assert "stopped answering" in refused.value.message and "Connection aborted" in str(
        refused.value
    )
    assert clock.now == 10  # it waited the whole --lock-wait


def test_a_dropped_poll_then_the_lock_is_free(requests_mock: rm.Mocker) -> None:
    requests_mock.post(LOCK, [locked(), DROPPED, GRANTED])
    clock = Clock()
    held = acquisition(clock).run()
    assert held.id == "MINE" and clock.slept == [2.0, 2.0]
    held.release()


def test_unreachable_from_the_start_is_unavailable(requests_mock: rm.Mocker) -> None:
    requests_mock.post(LOCK, [DROPPED])
    with pytest.raises(LockUnavailable, match="cannot lock qa-1: cannot reach the registry"):
        acquisition(Clock()).run()


@pytest.mark.parametrize("status", [401, 403, 500, 503])
def test_a_registry_refusing_from_the_start_is_unavailable(
    requests_mock: rm.Mocker, status: int
) -> None:
    requests_mock.post(LOCK, status_code=status, json={"error": "x", "message": "no"})
    with pytest.raises(LockUnavailable):
        acquisition(Clock()).run()


def test_an_error_answer_while_waiting_is_a_failed_poll(requests_mock: rm.Mocker) -> None:
    requests_mock.post(
        LOCK, [locked(), {"status_code": 503, "json": {"message": "restarting"}}, GRANTED]
    )
    held = acquisition(Clock()).run()
    assert held.id == "MINE"
    held.release()


def test_a_409_naming_this_very_attempt_is_this_deploys_lock(requests_mock: rm.Mocker) -> None:
    """A retried POST whose first try had taken the lock: kept at once, not waited for."""
    clock = Clock()
    run = acquisition(clock)
    requests_mock.post(LOCK, [locked(attempt=run.holder["attempt"]), GRANTED])
    held = run.run()
    assert held.id == "MINE" and held.took_over is None and not held.holder_gone
    assert clock.slept == []
    assert requests_mock.request_history[1].json()["replace"] == "HELD"
    held.release()


def test_a_holder_whose_process_is_gone_is_replaced_at_once(requests_mock: rm.Mocker) -> None:
    replaced = {"id": "HELD", "holder": {"by": "bob", "pid": 7}}
    requests_mock.post(
        LOCK,
        [locked(pid=7), {"status_code": 201, "json": {**GRANTED["json"], "took_over": replaced}}],
    )
    clock = Clock()
    held = acquisition(clock, gone=lambda h: h.get("pid") == 7).run()
    assert held.holder_gone and held.took_over == replaced and clock.slept == []
    assert requests_mock.request_history[1].json()["replace"] == "HELD"
    held.release()


def test_a_replace_lost_to_another_waiter_waits_again(requests_mock: rm.Mocker) -> None:
    """Two waiters saw the same dead holder; the other one replaced it first."""
    requests_mock.post(LOCK, [locked(pid=7), locked(pid=8), locked(pid=8), GRANTED])
    clock = Clock()
    held = acquisition(clock, gone=lambda h: h.get("pid") == 7).run()
    assert held.id == "MINE" and not held.holder_gone and clock.slept == [2.0, 2.0]
    held.release()


def test_gone_only_for_this_host_and_container_and_a_dead_pid() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        alive = holder.identity(child.pid)
        assert not holder.gone(alive)
        assert alive["pid_start"] == holder.start_time(child.pid)
    finally:
        child.kill()
        child.wait()
    assert holder.gone(alive)  # the same process, now gone
    assert not holder.gone({**alive, "host": "elsewhere"})  # another host: cannot know
    assert not holder.gone({**alive, "container": "f" * 64})  # another container
    assert not holder.gone(holder.identity())  # this very process
    assert not holder.gone({"by": "bob"})  # no pid: cannot know


def test_gone_when_the_pid_was_reused() -> None:
    me = holder.identity()
    other = {**me, "pid": os.getppid(), "pid_start": -1}  # running, but started otherwise
    assert holder.gone(other)
    assert not holder.gone({**other, "pid_start": holder.start_time(os.getppid())})


def test_status_of_an_environment_names_the_lock_holders_process() -> None:
    lock = {"holder": {"by": "bob", "pid": 12, "host": "rd-1"}, "since": "S", "expires": "E"}
    state = {"name": "qa-1", "deployments": 0, "deployed": [], "lock": lock}
    assert "  locked by bob (pid 12 on host rd-1) since S (expires E)" in (
        show.environment_text(state).splitlines()
    )


def test_container_id_from_cgroup_or_mountinfo(tmp_path: Any) -> None:
    cid = "0123456789abcdef" * 4
    (tmp_path / "cgroup").write_text("0::/\n")
    (tmp_path / "mountinfo").write_text(
        f"612 600 8:1 /var/lib/docker/containers/{cid}/hostname /etc/hostname rw\n"
    )
    assert holder.container_id(tmp_path) == cid
    (tmp_path / "mountinfo").write_text("1 0 8:1 / / rw\n")
    assert holder.container_id(tmp_path) is None
    (tmp_path / "mountinfo").write_text(  # the host's view of another container's shm
        f"54 45 0:42 / /var/lib/docker/containers/{cid}/mounts/shm rw - tmpfs shm rw\n"
    )
    assert holder.container_id(tmp_path) is None
    (tmp_path / "cgroup").write_text(f"0::/system.slice/docker-{cid}.scope\n")
    assert holder.container_id(tmp_path) == cid
    (tmp_path / "cgroup").write_text(f"12:pids:/docker/{cid}\n")
    assert holder.container_id(tmp_path) == cid


class RecordedEngine:
    """The Docker SDK's low-level calls ProjectAcquisition makes, answered from a recorded
    sequence (each entry an answer or an exception to raise)."""

    def __init__(self, creates: list[Any], inspects: list[Any], removes: list[Any]) -> None:
        self.api = self
        self.creates, self.inspects, self.removes = creates, inspects, removes
        self.removed: list[str] = []

    @staticmethod
    def _next(answers: list[Any]) -> Any:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def create_container(self, *args: Any, **kwargs: Any) -> Any:
        return self._next(self.creates)

    def inspect_container(self, name: str) -> Any:
        return self._next(self.inspects)

    def remove_container(self, container: str, force: bool = False) -> None:
        self.removed.append(container)
        self._next(self.removes)


def conflict() -> Exception:
    response = requests.Response()
    response.status_code = 409
    return docker.errors.APIError("Conflict", response=response)


def lock_container(cid: str, **holder_fields: Any) -> dict[str, Any]:
    labels = {"io.consignment.lock-holder": json.dumps({"by": "bob", **holder_fields})}
    return {"Id": cid, "Config": {"Labels": labels}}


def project_acquisition(engine: RecordedEngine, clock: Clock, dead: int) -> ProjectAcquisition:
    return ProjectAcquisition(
        engine, "shop", {"by": "alice"}, wait=10, poll=2.0, sleep=clock.sleep, clock=clock,
        gone=lambda h: h.get("pid") == dead,
    )  # fmt: skip


def test_project_lock_of_a_gone_holder_is_removed_by_its_id_and_taken() -> None:
    engine = RecordedEngine([conflict(), {"Id": "MINE"}], [lock_container("OLD", pid=7)], [None])
    clock = Clock()
    held = project_acquisition(engine, clock, dead=7).run()
    assert held.container == "MINE" and held.took_over == {"by": "bob", "pid": 7}
    assert engine.removed == ["OLD"] and clock.slept == []


def test_project_lock_whose_removal_fails_is_waited_for_not_spun_on() -> None:
    engine = RecordedEngine(
        [conflict(), conflict(), {"Id": "MINE"}],
        [lock_container("OLD", pid=7)] * 2,
        [docker.errors.APIError("removal of container OLD is already in progress"), None],
    )
    clock = Clock()
    held = project_acquisition(engine, clock, dead=7).run()
    assert held.container == "MINE" and clock.slept == [2.0]


def test_project_lock_held_by_a_live_holder_is_refused_after_the_wait() -> None:
    engine = RecordedEngine([conflict()] * 7, [lock_container("LIVE", pid=8)] * 7, [])
    clock = Clock()
    with pytest.raises(ProjectLocked, match="project shop on this engine is held by bob") as e:
        project_acquisition(engine, clock, dead=7).run()
    assert "consign unlock --project shop" in e.value.message and clock.now == 10
    assert engine.removed == []


def test_project_lock_that_vanished_between_create_and_look_is_tried_again() -> None:
    engine = RecordedEngine([conflict(), {"Id": "MINE"}], [docker.errors.NotFound("gone")], [])
    clock = Clock()
    held = project_acquisition(engine, clock, dead=7).run()
    assert held.container == "MINE" and held.took_over is None and clock.slept == [0.05]


def test_lock_messages_write_a_version_as_every_other_line_does() -> None:
    """Trial (minor): `deploying TrialShop/Dev v3`, not `TrialShop/Dev/3`."""
    from consign.values import held_version
    from deployer.ledger import projectlock

    holder = {"by": "bob", "application": "TrialShop", "release": "Dev", "version": "3"}
    assert held_version(holder) == "TrialShop/Dev v3"
    assert held_version({"application": "A", "release": "R"}) == "A/R"
    assert held_version({"by": "bob"}) == ""
    text = projectlock.describe("trial-shop", holder)
    assert "held by bob deploying TrialShop/Dev v3 " in text, text
