"""The endings' pure parts: when a project record tells of a killed deployer, and which
records a stopped deploy or rollback gives (the real engine: test_deploy_endings.py)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from deployer.deploy.outcome import Outcome
from deployer.deploy.record import Deployed, killed
from deployer.deploy.sources import Descriptor
from deployer.ledger import endings, outcomes
from deployer.ledger.outcomes import Observer, _Seen
from deployer.verdicts import ServiceVerdict, Verdict


def deployed(**progress: Any) -> Deployed:
    return Deployed("p", "Shop", "Dev", "7", "", "registry", "http://r", {}, progress)


def a_dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # reaped: the pid names no process now
    return child.pid


def test_a_record_in_progress_whose_process_is_gone_tells_of_a_killed_deployer() -> None:
    here = socket.gethostname()
    assert killed(deployed(pid=a_dead_pid(), host=here))
    assert not killed(deployed(pid=os.getppid(), host=here))  # still running: not killed
    assert not killed(deployed())  # ended: nothing in progress
    assert killed(deployed(pid=1, host="elsewhere"))  # another host's, and we hold the lock


def descriptor(version: str) -> Descriptor:
    return Descriptor("", "registry", "http://r", "Shop", "Dev", version)


def seen(version: str, verdict: Verdict) -> _Seen:
    outcome = Outcome("Shop", "Dev", version, "registry", "http://r", None, "p")
    outcome.verdicts = {"web": ServiceVerdict("web", verdict, 3, "", 1.0, [])}
    return _Seen(outcome, descriptor(version), "2026-12-01T10:00:00.000Z", [])


def records(observer: Observer) -> list[tuple[str, int | None, str]]:
    found = outcomes.deploy_records(
        observer, started="2026-12-01T09:59:00.000Z", environment="qa", by="t", engine={}
    )
    return [(r["kind"], r["version"], r["outcome"]) for r in found]


def test_a_stopped_deploy_is_one_interrupted_record() -> None:
    observer = Observer(client=None)
    observer.stopped = ("deploy", seen("8", Verdict.PENDING))
    assert records(observer) == [("deploy", 8, "interrupted")]


def test_a_stopped_rollback_follows_the_failed_deploy() -> None:
    observer = Observer(client=None)
    observer.seen.append(seen("8", Verdict.CRASH_LOOPING))
    observer.stopped = ("rollback", seen("7", Verdict.PENDING))
    assert records(observer) == [("deploy", 8, "failed"), ("rollback", 7, "interrupted")]


def test_a_rollback_that_could_not_start_is_a_failed_rollback() -> None:
    observer = Observer(client=None)
    observer.seen.append(seen("8", Verdict.CRASH_LOOPING))
    never = seen("7", Verdict.PENDING)
    never.outcome.verdicts = {}
    observer.seen.append(never)
    assert records(observer) == [("deploy", 8, "failed"), ("rollback", 7, "failed")]


def saved(name: str, service: str) -> dict[str, Any]:
    """A container the engine really showed (tests/data/inspect), relabelled as ``service``."""
    path = Path(__file__).resolve().parent.parent / "data" / "inspect" / f"{name}.json"
    inspect: dict[str, Any] = json.loads(path.read_text())["inspect"]
    inspect["Config"]["Labels"]["com.docker.compose.service"] = service
    return inspect


def test_an_interrupted_record_names_what_was_left_in_the_verdict_vocabulary() -> None:
    """Trial item 3 (issue 19): not raw engine states (`exited(0)`, `created`, `restarting`)
    but what a deploy and `consign status` would say of them."""
    left = endings.services_left(
        [
            saved("exited0_no", "migrate"),
            saved("created", "web"),
            saved("restarting_always", "worker"),
            saved("healthy", "api"),
        ],
        time.time(),
    )
    verdicts = {s["service"]: s["verdict"] for s in left}
    assert verdicts == {
        "api": "healthy",
        "migrate": "completed",
        "web": "not created",
        "worker": "crash-looping",
    }
    web = next(s for s in left if s["service"] == "web")
    assert "created, never started" in web["detail"] and " created)" in web["detail"]


def test_a_killed_deploy_ended_when_the_engine_last_changed_its_project() -> None:
    """Trial (minor): `finished` was when the next deploy found it; it is the containers'
    last change (engine clock 5 s ahead of ours here), within [started, now]."""
    started = "2026-12-01T10:00:00.000Z"
    box = saved("exited1_no", "web")
    box["Created"] = "2026-12-01T10:00:03.000000000Z"
    box["State"].update(StartedAt="2026-12-01T10:00:04.5Z", FinishedAt="2026-12-01T10:00:07Z")
    now = datetime(2026, 12, 1, 11, 0, tzinfo=UTC).timestamp()  # found an hour later
    assert endings.ended_at(started, [box], 5.0, now) == "2026-12-01T10:00:02.000Z"
    assert endings.ended_at(started, [], 5.0, now) == started  # nothing changed after
    old = saved("healthy", "db")  # a container older than the deploy
    assert endings.ended_at(started, [old], 0.0, now) == started
    assert endings.ended_at(started, [box], -3600.0, now) == "2026-12-01T11:00:00.000Z"
