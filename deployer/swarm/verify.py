"""Running a stack's verification services on its swarm: each as a one-shot service
(:mod:`deployer.swarm.oneshot` says what was chosen and why), created through the SDK once
every other service of the stack was judged ok, its task watched until it ends or
``--verify-timeout`` passes, judged by :mod:`deployer.verification.rules` like a Compose
test, its last log lines read (service logs), then the service removed: a verification
leaves nothing behind. A leftover of an interrupted run (same name) is removed first.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from deployer.swarm.oneshot import OneShot, look, task_end
from deployer.swarm.watch import service_logs
from deployer.verification.rules import (
    LOG_LINES,
    LookAtTest,
    TestResult,
    TestsWatch,
    Verification,
    last_lines,
)

#: Seconds between looks at the tests' tasks (a GET /tasks each).
POLL = 0.1


@dataclass
class SwarmTests:
    """The verification of one stack: ``shots`` are its tests' one-shot services, by test."""

    client: Any
    stack: str
    shots: Mapping[str, OneShot]
    poll: float = POLL
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    #: test -> why it could not be created or never ran
    refused: dict[str, str] = field(default_factory=dict)
    #: test -> its service's id
    ids: dict[str, str] = field(default_factory=dict)

    def run(self, tests: Sequence[str], timeout: float) -> Verification:
        """Create the tests' services, wait for each task, judge it, keep its logs, remove
        the services."""
        try:
            self.remove(tests)
            watch = TestsWatch(tests, self.clock(), timeout)
            self._create(tests)
            while True:
                self._look(watch)
                due = watch.overdue(self.clock())
                if due:
                    watch.timed_out(due, self.clock())  # logs first, removed after
                if watch.finished:
                    break
                self.sleep(self.poll)
            return Verification.of(self._result(watch, t) for t in tests)
        finally:
            self.remove(tests)

    def _create(self, tests: Sequence[str]) -> None:
        for test in tests:
            shot = self.shots[test]
            try:
                made = self.client.api.create_service(
                    shot.task_template(),
                    name=shot.name,
                    labels=shot.labels,
                    mode={"Replicated": {"Replicas": 1}},
                )
                self.ids[test] = str(made["ID"])
            except Exception as e:  # the engine refused the spec (a network that is gone)
                self.refused[test] = f"the engine did not create its service: {_words(e)}"

    def _look(self, watch: TestsWatch) -> None:
        pending = [t for t in watch.pending()]
        running = [self.ids[t] for t in pending if t in self.ids and t not in self.refused]
        tasks: dict[str, list[dict[str, Any]]] = {i: [] for i in running}
        if running:
            for task in self.client.api.tasks(filters={"service": running}):
                tasks.setdefault(str(task.get("ServiceID")), []).append(task)
        now = self.clock()
        for test in pending:
            if test in self.refused:
                watch.observe(LookAtTest(test, (), now))
                continue
            end = task_end(tasks.get(self.ids[test], []))
            if end is not None and end.exit_code is None:
                self.refused[test] = end.detail
                watch.observe(LookAtTest(test, (), now))
            else:
                watch.observe(look(test, end, now))

    def _result(self, watch: TestsWatch, test: str) -> TestResult:
        if test in self.refused:
            why = f"could not be started: {self.refused[test]}"
            verdict, code, took, _ = watch.results[test]
            logs = self._logs(test) if test in self.ids else ""
            return TestResult(test, verdict, code, "\n".join(filter(None, [logs, why])), took, why)
        return watch.result(test, self._logs(test))

    def _logs(self, test: str) -> str:
        return last_lines(service_logs(self.client, self.stack, test, tail=LOG_LINES))

    def remove(self, tests: Sequence[str]) -> None:
        """Remove the tests' services (their tasks' containers go with them)."""
        for test in tests:
            with contextlib.suppress(Exception):  # none, or removed meanwhile
                self.client.api.remove_service(self.shots[test].name)


def _words(e: Exception) -> str:
    return str(getattr(e, "explanation", None) or e)
