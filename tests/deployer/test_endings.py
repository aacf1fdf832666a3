"""The endings' pure parts: when a project record tells of a killed deployer, and which
records a stopped deploy or rollback gives (the real engine: test_deploy_endings.py)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from typing import Any

from deployer.deploy.outcome import Outcome
from deployer.deploy.record import Deployed, killed
from deployer.deploy.sources import Descriptor
from deployer.ledger import outcomes
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
