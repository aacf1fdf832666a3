"""Two nodes: a second dockerd in its own network namespace joins this engine's swarm as a
worker, and `consign deploy --orchestrator swarm` spreads a global and a replicated service
over both
(bench/swarm_two_nodes.sh does the work; it needs root, iproute2, nsenter and unshare, and
the engine outside swarm mode, which it leaves as it found it)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deployer.swarm.conftest import swarm_state

pytestmark = [pytest.mark.docker, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "bench" / "swarm_two_nodes.sh"


def _problem() -> str | None:
    if os.geteuid() != 0:
        return "needs root (network namespaces, a second dockerd)"
    missing = [t for t in ("ip", "nsenter", "unshare", "dockerd") if shutil.which(t) is None]
    if missing:
        return f"missing {', '.join(missing)}"
    if swarm_state()[0] != "inactive":
        return "the engine is in swarm mode (the test needs to make it a manager itself)"
    return None


def test_a_stack_spreads_over_a_manager_and_a_worker_in_its_own_namespace() -> None:
    problem = _problem()
    if problem:
        pytest.skip(problem)
    done = subprocess.run(
        ["bash", str(SCRIPT)], capture_output=True, text=True, timeout=900, cwd=ROOT
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "This node joined a swarm as a worker." in out
    assert "OK" in out and "4 of 4 running" in out and "2 of 2 running" in out
    placed: dict[str, set[str]] = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0].startswith("sw2-") and parts[2] == "Running":
            service = parts[0].split(".")[0].split("_", 1)[1]
            placed.setdefault(service, set()).add(parts[1])
    assert placed["agent"] == placed["web"] == {"consign-sw2-worker", os.uname().nodename}
    assert swarm_state()[0] == "inactive"  # left as it was found
