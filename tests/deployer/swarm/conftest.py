"""Fixtures for the Swarm tests: a swarm on the test engine, unique stack names, clean-up.

`swarm` makes the engine a single-node manager (``docker swarm init --advertise-addr
127.0.0.1``) unless it already is one, and leaves swarm mode afterwards when it started
it and no service is left (someone else's). Compose tests run on a swarm-mode engine
unchanged; nothing here touches containers outside the stacks the tests create.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from consign.process import run
from tests.deployer.conftest import scenario
from tests.deployer.helpers import Result, consign

#: Options every test deploy uses: generous timeout, the default stability window (a
#: one-shot must have finished within it to be "completed"), no registry lookups.
FAST = ("--timeout", "180", "--stable", "5", "--resolve-image", "never")


def swarm_state() -> tuple[str, bool]:
    info = json.loads(run(["docker", "info", "--format", "{{json .Swarm}}"], timeout=30).stdout)
    return str(info.get("LocalNodeState", "")), bool(info.get("ControlAvailable"))


@pytest.fixture(scope="module")
def swarm() -> Iterator[None]:
    """Per module, so a module that needs the engine outside swarm mode (two nodes) can
    follow one that needed it inside."""
    state, manager = swarm_state()
    if state == "active" and not manager:
        pytest.skip("the test engine is a swarm worker; Swarm tests need a manager")
    started = state != "active"
    if started:
        run(["docker", "swarm", "init", "--advertise-addr", "127.0.0.1"], timeout=120)
    try:
        yield
    finally:
        left = run(["docker", "service", "ls", "-q"], check=False, timeout=60).stdout.split()
        if started and not left:
            run(["docker", "swarm", "leave", "--force"], check=False, timeout=120)


@pytest.fixture
def stacks(swarm: None) -> Iterator[list[str]]:
    """Append every stack a test creates; all are removed afterwards (and waited for)."""
    made: list[str] = []
    yield made
    if not made:
        return
    from deployer.ledger import projectenv
    from deployer.swarm.stack import StackRunner, manager
    from deployer.swarm.status import down

    client = manager(None)
    try:
        for name in made:
            down(StackRunner(), client, name)
            projectenv.forget(client, name)  # the stack's recorded environment (the ledger's)
    finally:
        client.close()


@pytest.fixture
def stack(stacks: list[str]) -> str:
    name = f"sw-{secrets.token_hex(4)}"
    stacks.append(name)
    return name


def write(tmp_path: Path, name: str, **subs: object) -> str:
    path = tmp_path / Path(name).name
    path.write_text(scenario(f"swarm/{name}", **subs))
    return str(path)


def stack_deploy(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    """`consign deploy --orchestrator swarm ... --report FILE`; the report parsed."""
    report = tmp_path / f"report-{time.monotonic_ns()}.json"
    started = time.monotonic()
    argv = ("deploy", "--orchestrator", "swarm", *args, "--report", str(report))
    code, output = consign(*argv, env=env)
    seconds = time.monotonic() - started
    doc = json.loads(report.read_text()) if report.exists() else {}
    return Result(code, output, doc, seconds)


def services(stack: str) -> dict[str, dict[str, Any]]:
    """The stack's services by descriptor name, as `docker service inspect` shows them."""
    ids = run(
        ["docker", "service", "ls", "-q", "--filter", f"label=com.docker.stack.namespace={stack}"]
    ).stdout.split()
    if not ids:
        return {}
    docs = json.loads(run(["docker", "service", "inspect", *ids]).stdout)
    return {d["Spec"]["Name"].removeprefix(f"{stack}_"): d for d in docs}
