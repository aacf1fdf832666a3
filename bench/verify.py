"""Verification's overhead beyond the tests' own run time (issue 23; target p50 <= 1 s).

A project (one busybox httpd) is brought up once; then, per round, the deployer's own
runner (:class:`deployer.verification.compose.ComposeTests`, as ``consign deploy`` and
``consign verify`` use it) starts its verification service (a busybox that fetches the
page and sleeps ``--test-seconds``), waits for it, judges it, reads its logs and removes it.
Overhead = the runner's wall time from the moment the solution is judged ok to the
verification's verdict (its containers removed) minus the test container's own run time
(the engine's ``StartedAt`` -> ``FinishedAt``, read just before removal): what verification
adds to a deploy beyond the tests themselves (the start, the poll, the logs, the removal;
Compose's create runs on a thread while the solution settles, as in a deploy). The same
for ``consign verify``, where Compose's create is part of the run, is reported beside it.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker

from bench.common import summary_ms, write_results
from deployer.engine.compose import ComposeRunner
from deployer.engine.fields import parse_stamp
from deployer.verification.compose import ComposeTests

DESCRIPTOR = """services:
  api:
    image: busybox:latest
    command:
      - sh
      - -c
      - mkdir -p /www; echo GOOD >/www/index.html; exec httpd -f -p 8080 -h /www
  smoke:
    image: busybox:latest
    profiles: [verify]
    command: ["sh", "-c", "sleep {seconds}; wget -qO- http://api:8080/ | grep -q GOOD"]
"""


@dataclass
class TimedTests(ComposeTests):
    """The runner, noting each test container's own run time before it is removed."""

    ran: list[float] = field(default_factory=list)
    #: seconds spent in the engine's start of the tests, and in their removal
    starting: list[float] = field(default_factory=list)
    removing: list[float] = field(default_factory=list)

    def _start(self, services: Sequence[str]) -> None:
        t0 = time.monotonic()
        super()._start(services)
        self.starting.append(time.monotonic() - t0)

    def remove(self, services: Sequence[str]) -> None:
        for service in services:
            for cid in self._ids(service):
                state = self.client.api.inspect_container(cid).get("State") or {}
                began, ended = (
                    parse_stamp(state.get("StartedAt")),
                    parse_stamp(state.get("FinishedAt")),
                )
                if began is not None and ended is not None and ended >= began:
                    self.ran.append(ended - began)
        t0 = time.monotonic()
        super().remove(services)
        self.removing.append(time.monotonic() - t0)


def _round(
    client: Any,
    compose: ComposeRunner,
    project: str,
    path: Path,
    settle: float | None,
    parts: dict[str, list[float]],
) -> float:
    """One verification's overhead. ``settle``: the tests are prepared as a deploy
    prepares them (on a thread once ``up`` returned), and run that many seconds later, when
    the solution is judged ok; None: prepared when run (``consign verify``)."""
    runner = TimedTests(client, compose, project, [path])
    if settle is not None:
        runner.prepare_soon(["smoke"])
        time.sleep(settle)
    t0 = time.monotonic()
    found = runner.run(["smoke"], timeout=60)
    wall = time.monotonic() - t0
    assert found.status == "passed", found.as_json()
    [own] = runner.ran
    if settle is not None:
        parts["start"].append(runner.starting[-1])
        parts["remove"].append(runner.removing[-1])
    return wall - own


def run(
    rounds: int = 10,
    test_seconds: float = 1.0,
    settle: float = 5.0,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """``settle``: the deployer's default --stable (a service without a healthcheck is
    judged running that long after it started; a healthcheck takes its own time)."""
    project = f"bench-verify-{uuid.uuid4().hex[:8]}"
    client = docker.from_env()
    compose = ComposeRunner()
    deploy_path: list[float] = []
    verify_path: list[float] = []
    parts: dict[str, list[float]] = {"start": [], "remove": []}
    with tempfile.TemporaryDirectory(prefix="consign-bench-verify-") as d:
        path = Path(d, "docker-compose.yml")
        path.write_text(DESCRIPTOR.replace("{seconds}", str(test_seconds)), encoding="utf-8")
        try:
            compose.up(project, [path]).wait()
            time.sleep(1)  # httpd listening
            for i in range(rounds):  # alternating, so both see the same load
                deploy_path.append(_round(client, compose, project, path, settle, parts))
                verify_path.append(_round(client, compose, project, path, None, parts))
                log(f"round {i + 1}: overhead deploy {deploy_path[-1]:.3f} s, "
                    f"consign verify {verify_path[-1]:.3f} s")  # fmt: skip
        finally:
            compose.down(project, volumes=True)
            client.close()
    results: dict[str, Any] = {
        "rounds": rounds,
        "test_seconds": test_seconds,
        "settle_seconds": settle,
        "overhead_deploy": summary_ms(deploy_path),
        "overhead_consign_verify": summary_ms(verify_path),
        "deploy_engine_start": summary_ms(parts["start"]),
        "deploy_removal": summary_ms(parts["remove"]),
    }
    results["targets"] = {
        "verification_overhead_p50_ms": {
            "deploy": results["overhead_deploy"]["p50_ms"],
            "consign_verify": results["overhead_consign_verify"]["p50_ms"],
            "of_it_engine_start": results["deploy_engine_start"]["p50_ms"],
            "of_it_removal": results["deploy_removal"]["p50_ms"],
            "target": "deploy <= 1000",
        }
    }
    write_results("verify", results)
    return results
