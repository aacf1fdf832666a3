"""Running a Compose project's verification services on its engine.

They are started with ``compose --profile verify up -d --no-deps --force-recreate TEST...``
(the project's files and override, so they join its networks and carry its labels), after
every other service was judged ok; each is watched until its containers exit or
``--verify-timeout`` passes (then stopped), judged by :mod:`deployer.verification.rules`,
its last log lines read, and then its containers are removed: a verification leaves
nothing behind, so ``consign status`` and ``consign drift`` never see an exited test as a
failed service, and the next run starts from fresh containers.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deployer import label_keys as keys
from deployer.engine.compose import ComposeFailed, ComposeRunner
from deployer.verification.rules import (
    LOG_LINES,
    PROFILE,
    Seen,
    TestResult,
    TestsWatch,
    TestVerdict,
    Verification,
    last_lines,
)

#: Seconds between looks at the tests' containers (the verification's overhead beyond the
#: tests' own run time is about half of it: bench/verify.py).
POLL = 0.1
#: Seconds a timed-out test is given to stop before it is killed.
STOP_GRACE = 1


@dataclass
class ComposeTests:
    """The verification of one Compose project: ``files`` are its descriptor and override."""

    client: Any
    compose: ComposeRunner
    project: str
    files: Sequence[str | Path]
    pull: str = "missing"
    poll: float = POLL
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    #: test -> why Compose did not start it
    refused: dict[str, str] = field(default_factory=dict)

    def run(self, services: Sequence[str], timeout: float) -> Verification:
        """Start the tests, wait for each, judge it, keep its logs, remove its containers."""
        self.remove(services)  # a run that was interrupted may have left some
        watch = TestsWatch(services, self.clock(), timeout)
        try:
            try:
                self.compose.start_services(
                    self.project, self.files, services, profiles=[PROFILE], pull=self.pull
                )
            except ComposeFailed as e:
                self.refused = {s: str(e) for s in services if not self._containers(s)}
            while True:
                for service in watch.pending():
                    if service in self.refused:
                        watch.observe(Seen(service, (), self.clock()))
                    else:
                        watch.observe(Seen(service, self._states(service), self.clock()))
                due = watch.overdue(self.clock())
                if due:
                    self._stop(due)
                    watch.timed_out(due, self.clock())
                if watch.finished:
                    break
                self.sleep(self.poll)
            return Verification.of(self._result(watch, s) for s in services)
        finally:
            self.remove(services)

    def _result(self, watch: TestsWatch, service: str) -> TestResult:
        if service in self.refused:
            why = f"could not be started: {self.refused[service]}"
            verdict, code, took, _ = watch.results[service]
            return TestResult(service, verdict, code, why, took, why)
        return watch.result(service, self._logs(service))

    def _containers(self, service: str) -> list[Any]:
        labels = [f"{keys.PROJECT}={self.project}", f"{keys.SERVICE}={service}"]
        found: list[Any] = self.client.containers.list(all=True, filters={"label": labels})
        return found

    def _states(self, service: str) -> list[tuple[str, int]]:
        return [
            (str(c.status), int((c.attrs.get("State") or {}).get("ExitCode") or 0))
            for c in self._containers(service)
        ]

    def _stop(self, services: Sequence[str]) -> None:
        for service in services:
            for c in self._containers(service):
                with contextlib.suppress(Exception):  # gone meanwhile: nothing to stop
                    c.stop(timeout=STOP_GRACE)

    def _logs(self, service: str) -> str:
        parts = []
        for c in self._containers(service):
            with contextlib.suppress(Exception):
                raw = c.logs(stdout=True, stderr=True, tail=LOG_LINES)
                parts.append(raw.decode("utf-8", "replace"))
        return last_lines("".join(parts))

    def remove(self, services: Sequence[str]) -> None:
        """Remove the tests' containers (and their anonymous volumes)."""
        for service in services:
            for c in self._containers(service):
                with contextlib.suppress(Exception):  # removed meanwhile
                    c.remove(force=True, v=True)


def failed_to_run(services: Sequence[str], why: str) -> Verification:
    """Every test failed without running (the verification could not begin)."""
    return Verification.of(TestResult(s, TestVerdict.FAILED, None, why, 0.0, why) for s in services)
