"""Swarm benchmark: `consign deploy --orchestrator swarm` against
`docker stack deploy --detach=false`.

- Correctness: issue 12's scenarios (tests/data/descriptors/swarm/) run with both tools on
  fresh stacks; a tool is right when its exit status matches the expected outcome
  (`docker stack deploy` gives no per-service verdicts). Theirs runs under a bound
  (``--bound`` seconds) because it can hang (docker/cli #5299); a hang is wrong.
- Time to a healthy verdict: 3 replicas with a healthcheck, command start to exit, the two
  tools alternating in rounds on fresh stacks so load on the shared machine hits both.

The engine is made a single-node swarm manager for the run when it is not one, and
leaves swarm mode afterwards when this started it (and no service is left).
"""

from __future__ import annotations

import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench.common import ROOT, write_results

SCENARIOS_DIR = ROOT / "tests" / "data" / "descriptors" / "swarm"
#: scenario -> (files deployed first with `docker stack deploy`, file measured, expect ok)
SCENARIOS: dict[str, tuple[list[str], str, bool]] = {
    "healthy set (3 replicas + one-shot + global + replicas 0)": ([], "healthy.yml", True),
    "one-shot migration (on-failure) exits 0": ([], "oneshot.yml", True),
    "never healthy": ([], "unhealthy.yml", False),
    "crash loop": ([], "crashloop.yml", False),
    "image not found": ([], "missing-image.yml", False),
    "update failing, failure_action rollback": (["update-v1.yml"], "update-v2.yml", False),
    "seed style (container_name, volumes_from)": ([], "seed-style.yml", False),
}
HEALTHY3 = """services:
  web:
    image: busybox:latest
    command: ["sh", "-c", "exec sleep 100000"]
    stop_grace_period: 1s
    healthcheck: {test: ["CMD", "true"], interval: 1s, retries: 3}
    deploy: {replicas: 3}
"""


def sh(argv: list[str], timeout: float | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=ROOT)


@contextlib.contextmanager
def swarm_mode() -> Iterator[None]:
    info = json.loads(sh(["docker", "info", "--format", "{{json .Swarm}}"]).stdout)
    started = info.get("LocalNodeState") != "active"
    if not started and not info.get("ControlAvailable"):
        raise RuntimeError("the engine is a swarm worker; run the benchmark on a manager")
    if started:
        sh(["docker", "swarm", "init", "--advertise-addr", "127.0.0.1"]).check_returncode()
    try:
        yield
    finally:
        if started and not sh(["docker", "service", "ls", "-q"]).stdout.split():
            sh(["docker", "swarm", "leave", "--force"])


def remove(stack: str) -> None:
    """Remove a stack and wait until it is gone (as `consign down --orchestrator swarm` does)."""
    from deployer.swarm.stack import StackRunner, manager
    from deployer.swarm.status import down

    client = manager(None)
    try:
        down(StackRunner(), client, stack)
    finally:
        client.close()


def ours(path: Path, stack: str, report: Path, bound: float) -> tuple[float, int | None, str]:
    argv = [
        sys.executable,
        "-m",
        "consignment",
        "deploy",
        "--orchestrator",
        "swarm",
        "--file",
        str(path),
    ]
    argv += ["--project", stack, "--no-rollback", "--timeout", str(bound)]
    argv += ["--resolve-image", "never", "--report", str(report)]
    report.unlink(missing_ok=True)
    t0 = time.perf_counter()
    p = sh(argv, timeout=bound + 60)
    secs = time.perf_counter() - t0
    said = ""
    if report.exists():
        doc = json.loads(report.read_text())
        said = ", ".join(f"{s}: {v['label']}" for s, v in (doc.get("verdicts") or {}).items())
        said = said or str(doc.get("error", ""))[:160]
    return secs, p.returncode, said


def theirs(path: Path, stack: str, bound: float) -> tuple[float, int | None, str]:
    """`docker stack deploy --detach=false`; rc None when it did not return within bound."""
    argv = ["docker", "stack", "deploy", "-c", str(path), "--prune", "--detach=false"]
    argv += ["--resolve-image", "never", stack]
    t0 = time.perf_counter()
    try:
        p = sh(argv, timeout=bound)
    except subprocess.TimeoutExpired:
        return time.perf_counter() - t0, None, f"still waiting after {bound:.0f}s (killed)"
    lines = [ln.strip() for ln in (p.stdout + p.stderr).splitlines() if ln.strip()]
    return time.perf_counter() - t0, p.returncode, (lines[-1] if lines else "")[:160]


def correctness(tmp: Path, bound: float, log: Callable[[str], None]) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    for name, (before, measured, expect_ok) in SCENARIOS.items():
        row: dict[str, Any] = {"expected": "success" if expect_ok else "failure"}
        for tool in ("consign", "docker stack deploy"):
            stack = f"swb-{uuid.uuid4().hex[:6]}"
            files = [_scenario(tmp, f, stack) for f in [*before, measured]]
            try:
                for f in files[:-1]:
                    sh(["docker", "stack", "deploy", "-c", str(f), "--detach=false", stack])
                if tool == "consign":
                    secs, rc, said = ours(files[-1], stack, tmp / "report.json", bound)
                else:
                    secs, rc, said = theirs(files[-1], stack, bound)
            finally:
                remove(stack)
            right = rc is not None and (rc == 0) == expect_ok
            row[tool] = {"rc": rc, "seconds": round(secs, 2), "correct": right, "said": said}
            log(f"{name} / {tool}: rc={rc} {secs:.1f}s {'right' if right else 'WRONG'}: {said}")
        rows[name] = row
    return {
        "scenarios": rows,
        "consign_correct": sum(r["consign"]["correct"] for r in rows.values()),
        "docker_correct": sum(r["docker stack deploy"]["correct"] for r in rows.values()),
        "total": len(rows),
    }


def _scenario(tmp: Path, name: str, stack: str) -> Path:
    path = tmp / f"{stack}-{name}"
    path.write_text((SCENARIOS_DIR / name).read_text().replace("@PREFIX@", stack))
    return path


def time_to_healthy(
    tmp: Path, rounds: int, bound: float, log: Callable[[str], None]
) -> dict[str, Any]:
    path = tmp / "healthy3.yml"
    path.write_text(HEALTHY3)
    times: dict[str, list[float]] = {"consign": [], "docker": []}
    for i in range(rounds):
        order = ("consign", "docker") if i % 2 == 0 else ("docker", "consign")
        for tool in order:
            stack = f"swh-{uuid.uuid4().hex[:6]}"
            try:
                if tool == "consign":
                    secs, rc, _ = ours(path, stack, tmp / "r.json", bound)
                else:
                    secs, rc, _ = theirs(path, stack, bound)
            finally:
                remove(stack)
            log(f"healthy round {i} {tool}: rc={rc} {secs:.2f}s")
            if rc == 0:
                times[tool].append(secs)
    p50 = {k: statistics.median(v) if v else float("nan") for k, v in times.items()}
    return {
        "seconds": {k: [round(s, 2) for s in v] for k, v in times.items()},
        "p50_s": {k: round(v, 2) for k, v in p50.items()},
        "ratio_p50": round(p50["consign"] / p50["docker"], 3),
    }


def run(
    rounds: int = 5, bound: float = 120.0, log: Callable[[str], None] = print
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="consign-bench-swarm-") as d, swarm_mode():
        tmp = Path(d)
        results: dict[str, Any] = {
            "correctness": correctness(tmp, bound, log),
            "time_to_healthy": time_to_healthy(tmp, rounds, bound, log),
        }
    results["targets"] = {
        "correct_verdicts": {
            "consign": results["correctness"]["consign_correct"],
            "docker stack deploy --detach=false": results["correctness"]["docker_correct"],
            "of": results["correctness"]["total"],
        },
        "time_to_healthy_ratio": {
            "value": results["time_to_healthy"]["ratio_p50"],
            "p50_s": results["time_to_healthy"]["p50_s"],
            "target": "<= 1.05",
        },
    }
    write_results("swarm", results)
    return results
