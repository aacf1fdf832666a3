"""Regenerate the saved ``docker inspect`` JSON that tests/deployer/test_verdicts.py reads.

Each scenario starts one real busybox container through the Docker SDK (no pulls: it needs
the local ``busybox:latest``), waits until the engine shows the state the scenario is named
after, and writes ``<scenario>.json``: ``{"scenario", "wall", "inspect"}`` where ``wall`` is
the engine's clock (epoch seconds) when the inspect was taken, as the watcher records it.

Run from the repository root against any engine::

    .venv/bin/python tests/data/inspect/capture.py            # all scenarios
    .venv/bin/python tests/data/inspect/capture.py healthy    # just some

Containers are named ``dw-capture-<scenario>-<random>`` and removed afterwards.
"""

from __future__ import annotations

import json
import secrets
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker
from docker.models.containers import Container

HERE = Path(__file__).resolve().parent
NS = 1_000_000_000
Inspect = dict[str, Any]


def _health(test: str, interval: float = 1.0, retries: int = 2, start: float = 0) -> dict:
    return {
        "test": ["CMD-SHELL", test],
        "interval": int(interval * NS),
        "timeout": NS,
        "retries": retries,
        "start_period": int(start * NS),
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


HTTPD = "httpd -f -p 8080"
WEB_OK = _health("wget -q -O- http://127.0.0.1:8080/ >/dev/null 2>&1 || test -d /")
# Each scenario: (run kwargs, predicate on the inspect JSON that says "captured now").
SCENARIOS: dict[str, tuple[dict[str, Any], Callable[[Inspect], bool]]] = {
    "healthy": (
        {"command": HTTPD, "healthcheck": WEB_OK},
        lambda i: i["State"].get("Health", {}).get("Status") == "healthy",
    ),
    "starting": (
        {"command": HTTPD, "healthcheck": _health("true", interval=300, start=300)},
        lambda i: i["State"].get("Health", {}).get("Status") == "starting",
    ),
    "unhealthy": (
        {"command": HTTPD, "healthcheck": _health("echo probe failed on purpose; exit 1")},
        lambda i: i["State"].get("Health", {}).get("Status") == "unhealthy",
    ),
    "running_nohealth": (
        {"command": "sleep 3600"},
        lambda i: i["State"]["Running"],
    ),
    "exited0_no": ({"command": "true"}, lambda i: i["State"]["Status"] == "exited"),
    "exited1_no": ({"command": "sh -c 'exit 1'"}, lambda i: i["State"]["Status"] == "exited"),
    "exited0_onfailure": (
        {"command": "true", "restart_policy": {"Name": "on-failure", "MaximumRetryCount": 0}},
        lambda i: i["State"]["Status"] == "exited",
    ),
    "onfailure_exhausted": (
        {
            "command": "sh -c 'exit 3'",
            "restart_policy": {"Name": "on-failure", "MaximumRetryCount": 1},
        },
        lambda i: i["State"]["Status"] == "exited" and i["RestartCount"] == 1,
    ),
    "restarting_always": (
        {"command": "sh -c 'exit 1'", "restart_policy": {"Name": "always"}},
        lambda i: i["State"]["Restarting"],
    ),
    "restarting_always_exit0": (
        {"command": "true", "restart_policy": {"Name": "always"}},
        lambda i: i["State"]["Restarting"],
    ),
    "running_restarted": (
        {"command": "sh -c 'sleep 2; exit 1'", "restart_policy": {"Name": "unless-stopped"}},
        lambda i: i["State"]["Status"] == "running" and i["RestartCount"] >= 1,
    ),
    "stopped_always": (
        {"command": "sleep 3600", "restart_policy": {"Name": "always"}, "_stop": True},
        lambda i: i["State"]["Status"] == "exited",
    ),
    "created": ({"command": "true", "_create_only": True}, lambda i: True),
    "port_taken": (
        {"command": HTTPD, "_port_taken": True},
        lambda i: i["State"]["Status"] == "created" and bool(i["State"]["Error"]),
    ),
}


def _engine_time(client: docker.DockerClient) -> float:
    """Epoch seconds on the engine's clock (SystemTime), as the watcher estimates it."""
    from deployer.engine.fields import engine_offset

    return time.time() + engine_offset(client)


def capture(client: docker.DockerClient, scenario: str) -> Inspect:
    kwargs, ready = SCENARIOS[scenario]
    kwargs = dict(kwargs)
    stop = kwargs.pop("_stop", False)
    create_only = kwargs.pop("_create_only", False)
    port_taken = kwargs.pop("_port_taken", False)
    name = f"dw-capture-{scenario}-{secrets.token_hex(3)}"
    labels = {"com.docker.compose.project": "dw-capture", "com.docker.compose.service": scenario}
    made: list[Container] = []
    try:
        if port_taken:
            port = _free_port()
            kwargs["ports"] = {"8080/tcp": ("127.0.0.1", port)}
            made.append(
                client.containers.run(
                    "busybox:latest",
                    HTTPD,
                    name=name + "-holder",
                    detach=True,
                    ports=kwargs["ports"],
                )
            )
        create = client.containers.create if create_only or port_taken else None
        if create is not None:
            c = create("busybox:latest", name=name, labels=labels, **kwargs)
            made.append(c)
            if port_taken:
                try:
                    c.start()
                except docker.errors.APIError as e:
                    print(f"{scenario}: start refused as intended: {e.explanation}")
        else:
            c = client.containers.run(
                "busybox:latest", name=name, labels=labels, detach=True, **kwargs
            )
            made.append(c)
        if stop:
            time.sleep(1)
            c.stop(timeout=1)
        deadline = time.monotonic() + 60
        while True:
            wall = _engine_time(client)
            data: Inspect = client.api.inspect_container(c.id)
            if ready(data):
                return {"scenario": scenario, "wall": wall, "inspect": data}
            if time.monotonic() > deadline:
                raise RuntimeError(f"{scenario}: state never reached: {data['State']}")
            time.sleep(0.05)
    finally:
        for m in made:
            m.remove(force=True)


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(HERE.parents[2]))
    client = docker.from_env()
    for scenario in argv or list(SCENARIOS):
        record = capture(client, scenario)
        (HERE / f"{scenario}.json").write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
        print(f"{scenario}: {record['inspect']['State']['Status']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
