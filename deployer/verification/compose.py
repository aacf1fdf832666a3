"""Running a Compose project's verification services on its engine.

They are created with ``compose --profile verify up --no-start --no-deps --force-recreate
TEST...`` (the project's files and override, so they join its networks and carry its
labels), during a deploy on a thread while the solution settles (:class:`ThenPrepare`: once
``compose up`` has returned), so Compose's own time is hidden behind the wait for health;
once every other service was judged ok they are started through the engine's API, each
watched until its containers exit or ``--verify-timeout`` passes (then stopped), judged by
:mod:`deployer.verification.rules`, its last log lines read, and then its containers are
removed: a verification leaves nothing behind, so ``consign status`` and ``consign drift``
never see an exited test as a failed service, and the next run starts from fresh
containers. Tests prepared for a deploy that then failed are removed unstarted
(:meth:`ComposeTests.discard`).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from consign.process import Completed, Running
from deployer import label_keys as keys
from deployer.engine.compose import ComposeFailed, ComposeRunner
from deployer.verification.rules import (
    LOG_LINES,
    PROFILE,
    LookAtTest,
    TestResult,
    TestsWatch,
    Verification,
    last_lines,
)

#: Seconds between looks at the tests' containers (the verification's overhead beyond the
#: tests' own run time is about half of it on average: bench/verify.py).
POLL = 0.05
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
    #: test -> why it could not be created or started
    refused: dict[str, str] = field(default_factory=dict)
    _prepared: bool = False
    _preparing: threading.Thread | None = None

    def prepare(self, services: Sequence[str]) -> None:
        """Remove what an interrupted run left, then create the tests' containers."""
        self.remove(services)
        try:
            self.compose.create_services(
                self.project, self.files, services, profiles=[PROFILE], pull=self.pull
            )
        except ComposeFailed as e:
            self.refused.update({s: str(e) for s in services if not self._ids(s)})
        self._prepared = True

    def prepare_soon(self, services: Sequence[str]) -> None:
        """:meth:`prepare` on a thread (:meth:`run` and :meth:`discard` wait for it)."""
        if self._preparing is not None or self._prepared:
            return

        def prepare() -> None:
            try:
                self.prepare(services)
            except Exception as e:  # said as the tests' failure when they are run
                self.refused.update({s: f"could not be created: {e}" for s in services})
                self._prepared = True

        self._preparing = threading.Thread(target=prepare, name="consign-verify", daemon=True)
        self._preparing.start()

    def _wait_prepared(self) -> None:
        if self._preparing is not None:
            self._preparing.join()
            self._preparing = None

    def discard(self, services: Sequence[str]) -> None:
        """The deploy will not verify: remove what was prepared."""
        self._wait_prepared()
        if self._prepared:
            self.remove(services)

    def run(self, services: Sequence[str], timeout: float) -> Verification:
        """Start the tests, wait for each, judge it, keep its logs, remove its containers."""
        try:
            self._wait_prepared()
            if not self._prepared:
                self.prepare(services)
            watch = TestsWatch(services, self.clock(), timeout)
            self._start(services)
            while True:
                for service in watch.pending():
                    states = () if service in self.refused else self._states(service)
                    watch.observe(LookAtTest(service, states, self.clock()))
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

    def _start(self, services: Sequence[str]) -> None:
        for service in services:
            if service in self.refused:
                continue
            for cid in self._ids(service):
                try:
                    self.client.api.start(cid)
                except Exception as e:  # the engine refused it (a port taken, a mount)
                    self.refused[service] = f"the engine did not start it: {e}"

    def _result(self, watch: TestsWatch, service: str) -> TestResult:
        if service in self.refused:
            why = f"could not be started: {self.refused[service]}"
            verdict, code, took, _ = watch.results[service]
            return TestResult(service, verdict, code, why, took, why)
        return watch.result(service, self._logs(service))

    def _rows(self, service: str) -> list[dict[str, Any]]:
        """The engine's listing of the test's containers (one call, no inspect)."""
        labels = [f"{keys.PROJECT}={self.project}", f"{keys.SERVICE}={service}"]
        rows: list[dict[str, Any]] = self.client.api.containers(all=True, filters={"label": labels})
        return rows

    def _ids(self, service: str) -> list[str]:
        return [str(row["Id"]) for row in self._rows(service)]

    def _states(self, service: str) -> list[tuple[str, int]]:
        """Each container's state from one listing; an exited one's exit code from its
        inspect (the listing says only "Exited (3) ...")."""
        found = []
        for row in self._rows(service):
            state = str(row.get("State") or "")
            code = 0
            if state in ("exited", "dead"):
                inspect = self.client.api.inspect_container(row["Id"])
                code = int((inspect.get("State") or {}).get("ExitCode") or 0)
            found.append((state, code))
        return found

    def _stop(self, services: Sequence[str]) -> None:
        for service in services:
            for cid in self._ids(service):
                with contextlib.suppress(Exception):  # gone meanwhile: nothing to stop
                    self.client.api.stop(cid, timeout=STOP_GRACE)

    def _logs(self, service: str) -> str:
        parts = []
        for cid in self._ids(service):
            with contextlib.suppress(Exception):
                raw = self.client.api.logs(cid, stdout=True, stderr=True, tail=LOG_LINES)
                parts.append(raw.decode("utf-8", "replace"))
        return last_lines("".join(parts))

    def remove(self, services: Sequence[str]) -> None:
        """Remove the tests' containers (and their anonymous volumes)."""
        for service in services:
            for cid in self._ids(service):
                with contextlib.suppress(Exception):  # removed meanwhile
                    self.client.api.remove_container(cid, force=True, v=True)


@dataclass
class ThenPrepare:
    """``compose up`` (an :class:`~deployer.watch.project.UpProcess`) whose success starts
    preparing the tests, while the watch waits for the solution to settle."""

    up: Running
    tests: ComposeTests
    services: Sequence[str]

    def wait(self, timeout: float | None = None) -> Completed:
        done = self.up.wait(timeout)
        if done.returncode == 0:
            self.tests.prepare_soon(self.services)
        return done

    def interrupt(self) -> None:
        self.up.interrupt()
