"""Verification's overhead on Swarm beyond the test's own run time (issue 23).

One busybox web service on an overlay network is created once (the stack's); then, per
round, the deployer's own runner (:class:`deployer.swarm.verify.SwarmTests`, as ``consign
deploy --orchestrator swarm`` and ``consign verify`` use it) creates the verification's
one-shot service (a busybox that fetches the page and sleeps ``test_seconds``), waits for
its task, judges it, reads its logs and removes the service. Overhead = the runner's wall
time minus the test container's own run time (the engine's ``StartedAt`` -> ``FinishedAt``,
read just before the removal); beside it, how long Swarm took from the service's creation
to its task's container start (scheduling, preparing the container, attaching the overlay):
the part of the overhead that is Swarm's. Needs the engine to be a swarm manager.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import docker

from bench.common import summary_ms, write_results
from deployer.engine.fields import parse_stamp
from deployer.swarm.oneshot import one_shot
from deployer.swarm.verify import SwarmTests

NAMESPACE = "com.docker.stack.namespace"


@dataclass
class TimedSwarmTests(SwarmTests):
    """The runner, noting each test container's own run time and when it started."""

    ran: list[float] = field(default_factory=list)
    started_at: list[float] = field(default_factory=list)

    def remove(self, tests: Sequence[str]) -> None:
        for test in tests:
            if test not in self.ids:
                continue
            for task in self.client.api.tasks(filters={"service": self.ids[test]}):
                cid = ((task.get("Status") or {}).get("ContainerStatus") or {}).get("ContainerID")
                if not cid:
                    continue
                state = self.client.api.inspect_container(cid).get("State") or {}
                began, ended = (
                    parse_stamp(state.get("StartedAt")),
                    parse_stamp(state.get("FinishedAt")),
                )
                if began is not None and ended is not None and ended >= began:
                    self.ran.append(ended - began)
                    self.started_at.append(began)
        super().remove(tests)


def run(
    rounds: int = 10, test_seconds: float = 1.0, log: Callable[[str], None] = print
) -> dict[str, Any]:
    stack = f"bench-swv-{uuid.uuid4().hex[:8]}"
    client = docker.from_env()
    overheads: list[float] = []
    swarm_start: list[float] = []
    net = client.networks.create(f"{stack}_default", driver="overlay", labels={NAMESPACE: stack})
    web = None
    try:
        serve = "mkdir -p /www; echo GOOD >/www/index.html; exec httpd -f -p 8080 -h /www"
        web = client.services.create(
            "busybox:latest", ["sh", "-c", serve], name=f"{stack}_web", networks=[net.id],
            labels={NAMESPACE: stack}, endpoint_spec=docker.types.EndpointSpec(mode="dnsrr"),
        )  # fmt: skip
        test = f"sleep {test_seconds}; wget -qO- http://{stack}_web:8080/ | grep -q GOOD"
        spec = {"image": "busybox:latest", "command": ["sh", "-c", test]}
        shot = one_shot(stack, "smoke", spec, {}, {})
        time.sleep(5)  # the web task running
        for i in range(rounds):
            runner = TimedSwarmTests(client, stack, {"smoke": shot})
            created = time.time()
            t0 = time.monotonic()
            found = runner.run(["smoke"], timeout=60)
            wall = time.monotonic() - t0
            assert found.status == "passed", found.as_json()
            [own] = runner.ran
            overheads.append(wall - own)
            swarm_start.append(runner.started_at[0] - created)
            log(f"round {i + 1}: overhead {overheads[-1]:.3f} s "
                f"(Swarm's creation -> container start {swarm_start[-1]:.3f} s)")  # fmt: skip
    finally:
        if web is not None:
            web.remove()
        time.sleep(2)
        net.remove()
        client.close()
    results: dict[str, Any] = {
        "rounds": rounds,
        "test_seconds": test_seconds,
        "overhead": summary_ms(overheads),
        "swarm_creation_to_start": summary_ms(swarm_start),
    }
    results["targets"] = {
        "swarm_verification_overhead_p50_ms": {
            "overhead": results["overhead"]["p50_ms"],
            "of_it_swarm_creation_to_start": results["swarm_creation_to_start"]["p50_ms"],
            "target": "none for Swarm (Compose: <= 1000)",
        }
    }
    write_results("swarmverify", results)
    return results
