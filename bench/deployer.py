"""Deployer benchmark against `docker compose up -d --wait` on the same descriptors.

- Wait overhead: a 50-service descriptor, every service with a healthcheck; wall time from
  the command's start to its verdict, alternating `consign deploy` and compose runs.
- Failure detection: time from a container exiting / turning unhealthy (the engine's own
  timestamps) to the deployer's verdict (its process exit, so this is an upper bound).
- Failure certainty -> rollback start: a deploy over a healthy version in which one
  service crash-loops while another is still starting; from the moment the watch is
  certain of the failure to the start of the rollback (both from the JSON report's
  timeline), and whether the slow service was still pending then (it must not be awaited).
- Correctness: a scenario set run with both tools; a verdict is correct when the overall
  outcome matches the expected one (compose gives no per-service verdicts).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from bench.common import ROOT, percentile, summary_ms, write_results

HEALTH = {
    "test": ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"],
    "interval": "1s",
    "timeout": "2s",
    "retries": 3,
    "start_period": "10s",
    # no start_interval: Engine 20.10 (API 1.41) refuses it
}
#: busybox httpd answers 404 at / without an index.html, which would never be healthy.
HTTPD = ["sh", "-c", "mkdir -p /www; echo ok >/www/index.html; exec httpd -f -p 8080 -h /www"]


def web(health: bool = True) -> dict[str, Any]:
    svc: dict[str, Any] = {"image": "busybox:latest", "command": HTTPD}
    if health:
        svc["healthcheck"] = HEALTH
    return svc


def fifty() -> dict[str, Any]:
    return {"services": {f"svc-{i:02d}": web() for i in range(50)}}


SCENARIOS: dict[str, tuple[dict[str, Any], bool]] = {
    # name: (descriptor, expected success)
    "healthy-web+data+plain": (
        {
            "services": {
                "data": {"image": "busybox:latest", "command": "true", "volumes": ["/data"]},
                "web": {**web(), "volumes_from": ["data"]},
                "plain": web(health=False),
            }
        },
        True,
    ),
    "never-healthy": (
        {
            "services": {
                "web": {
                    **web(),
                    "healthcheck": {
                        **HEALTH,
                        "test": ["CMD", "false"],
                        "retries": 2,
                        "start_period": "0s",
                    },
                }
            }
        },
        False,
    ),
    "crash-loop": (
        {
            "services": {
                "loop": {
                    "image": "busybox:latest",
                    "command": ["sh", "-c", "sleep 1; exit 1"],
                    "restart": "always",
                }
            }
        },
        False,
    ),
    "exit-1": (
        {
            "services": {
                "job": {"image": "busybox:latest", "command": ["sh", "-c", "sleep 1; exit 1"]}
            }
        },
        False,
    ),
    "missing-image": (
        {"services": {"ghost": {"image": "consign-bench-missing:never", "pull_policy": "missing"}}},
        False,
    ),
    "port-taken": (  # @PORT@ is held by the benchmark while both tools run
        {"services": {"web": {**web(), "ports": ["@PORT@:8080"]}}},
        False,
    ),
    "migration-completes": (
        {
            "services": {
                "migrate": {"image": "busybox:latest", "command": ["sh", "-c", "sleep 1; exit 0"]},
                "web": web(),
            }
        },
        True,
    ),
}


def sh(argv: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, **kw)


def down(project: str) -> None:
    sh(["docker", "compose", "-p", project, "down", "-v", "--remove-orphans", "-t", "0"])


def run_consign(
    path: Path, project: str, report: Path, timeout: int = 180, *extra: str
) -> tuple[float, int]:
    t0 = time.perf_counter()
    p = sh(
        [
            sys.executable,
            "-m",
            "consignment",
            "deploy",
            "--file",
            str(path),
            "--project",
            project,
            "--timeout",
            str(timeout),
            "--report",
            str(report),
            *(extra or ("--no-rollback",)),
        ],
        cwd=ROOT,
    )
    return time.perf_counter() - t0, p.returncode


def run_compose(path: Path, project: str, timeout: int = 180) -> tuple[float, int]:
    secs, rc, _ = run_compose_said(path, project, timeout)
    return secs, rc


def run_compose_said(path: Path, project: str, timeout: int = 180) -> tuple[float, int, str]:
    """`up -d --wait`: seconds, exit code and compose's last line (what it answered)."""
    t0 = time.perf_counter()
    p = sh(
        [
            "docker",
            "compose",
            "-p",
            project,
            "-f",
            str(path),
            "up",
            "-d",
            "--wait",
            "--wait-timeout",
            str(timeout),
        ]
    )
    said = (p.stderr.strip().splitlines() or [""])[-1].strip()
    return time.perf_counter() - t0, p.returncode, said


def wait_overhead(tmp: Path, rounds: int, log: Callable[[str], None]) -> dict[str, Any]:
    path = tmp / "fifty.yml"
    path.write_text(yaml.safe_dump(fifty(), sort_keys=False))
    ours: list[float] = []
    theirs: list[float] = []
    codes: dict[str, list[int]] = {"consign": [], "compose": []}
    for r in range(rounds):
        for tool in ("consign", "compose") if r % 2 == 0 else ("compose", "consign"):
            project = f"dp-bench-{tool}-{uuid.uuid4().hex[:6]}"
            try:
                if tool == "consign":
                    secs, rc = run_consign(path, project, tmp / "r.json")
                    ours.append(secs)
                else:
                    secs, rc = run_compose(path, project)
                    theirs.append(secs)
                codes[tool].append(rc)
                log(f"round {r} {tool}: {secs:.2f}s rc={rc}")
            finally:
                down(project)
    return {
        "consign": summary_ms(ours),
        "compose_wait": summary_ms(theirs),
        "ratio_p50": round(percentile(ours, 0.5) / percentile(theirs, 0.5), 3),
        "ratio_per_round": [round(a / b, 3) for a, b in zip(ours, theirs, strict=True)],
        # a run that did not reach healthy is not a fair sample: both must be all zeros
        "exit_codes": codes,
    }


def _finished(container: str) -> float:
    state = json.loads(sh(["docker", "inspect", container], check=True).stdout)[0]["State"]
    health = state.get("Health") or {}
    stamp = health["Log"][-1]["End"] if health.get("Status") == "unhealthy" else state["FinishedAt"]
    return _epoch(stamp)


def _epoch(stamp: str) -> float:
    # Docker stamps have nanoseconds; keep microseconds for datetime
    head, _, frac = stamp.rstrip("Z").partition(".")
    frac = (frac.split("+")[0] + "000000")[:6]
    return datetime.fromisoformat(f"{head}.{frac}+00:00").timestamp()


def failure_detection(tmp: Path, rounds: int, log: Callable[[str], None]) -> dict[str, Any]:
    cases = {
        "exits": {"image": "busybox:latest", "command": ["sh", "-c", "sleep 3; exit 2"]},
        # A deploy ends once every service is healthy, so a service that turns unhealthy
        # *after* being healthy is no deploy failure: this one never passes, and the
        # engine marks it unhealthy at its third failed check (~1.5 s after start).
        "turns-unhealthy": {
            "image": "busybox:latest",
            "command": ["sh", "-c", "exec sleep 100000"],
            "healthcheck": {
                "test": ["CMD", "test", "-f", "/tmp/never"],
                "interval": "500ms",
                "timeout": "1s",
                "retries": 3,
                "start_period": "0s",
            },
        },
    }
    out: dict[str, Any] = {}
    for name, svc in cases.items():
        latencies: list[float] = []
        invalid = 0
        path = tmp / f"fail-{name}.yml"
        path.write_text(yaml.safe_dump({"services": {"victim": svc, "ok": web()}}, sort_keys=False))
        for r in range(rounds):
            project = f"dp-bench-fail-{uuid.uuid4().hex[:6]}"
            try:
                _, rc = run_consign(path, project, tmp / "f.json", timeout=60)
                verdict_at = time.time()  # process exit: an upper bound of the report time
                cid = sh(["docker", "compose", "-p", project, "ps", "-aq", "victim"]).stdout.split()
                if rc != 1:  # no failure was reported: not a detection sample
                    invalid += 1
                    log(f"failure {name} round {r}: rc={rc}, sample discarded")
                    continue
                latencies.append(verdict_at - _finished(cid[0]))
                log(f"failure {name} round {r}: {latencies[-1]:.3f}s rc={rc}")
            finally:
                down(project)
        out[name] = summary_ms(latencies) | {"discarded": invalid}
    return out


def rollback_start(tmp: Path, rounds: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Seconds from the failure's certainty to the rollback's start (the report's timeline)."""
    good = tmp / "rb-1.yml"
    good.write_text(yaml.safe_dump({"services": {"loop": web(health=False)}}, sort_keys=False))
    slow = {
        "image": "busybox:latest",
        "command": ["sh", "-c", "sleep 30; touch /ready; exec sleep 100000"],
        "healthcheck": {"test": ["CMD", "test", "-f", "/ready"], "interval": "1s", "retries": 60},
    }
    crash = {"image": "busybox:latest", "command": ["sh", "-c", "sleep 1; exit 1"]}
    bad = tmp / "rb-2.yml"
    bad.write_text(
        yaml.safe_dump(
            {"services": {"loop": {**crash, "restart": "always"}, "slow": slow}}, sort_keys=False
        )
    )
    gaps: list[float] = []
    pending: list[bool] = []
    for r in range(rounds):
        project = f"dp-bench-rb-{uuid.uuid4().hex[:6]}"
        report = tmp / "rb.json"
        try:
            run_consign(good, project, report, 60, "--rollback", "A", "R", "1")
            report.unlink(missing_ok=True)
            secs, rc = run_consign(bad, project, report, 120, "--rollback", "A", "R", "2")
            doc = json.loads(report.read_text())
            line = doc["timeline"]
            certain = datetime.fromisoformat(line["failure_certain"]).timestamp()
            started = datetime.fromisoformat(line["rollback_started"]).timestamp()
            gaps.append(started - certain)
            pending.append(doc["verdicts"]["slow"]["verdict"] == "pending")
            log(f"rollback start round {r}: {gaps[-1]:.3f}s after certainty, rc={rc} {secs:.1f}s")
        finally:
            down(project)
            label = f"label=io.consignment.record-of={project}"
            records = sh(["docker", "volume", "ls", "-q", "--filter", label]).stdout.split()
            if records:
                sh(["docker", "volume", "rm", "-f", *records])
    return summary_ms(gaps) | {"slow_service_still_pending": pending}


def run_rollback_start(rounds: int = 5, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Only the failure certainty -> rollback start measurement (`python -m bench
    deployer-rollback`), written to bench/results/deployer-rollback.json."""
    with tempfile.TemporaryDirectory(prefix="consign-bench-") as d:
        results = {"rollback_start": rollback_start(Path(d), rounds, log)}
    results["targets"] = {
        "failure_certain_to_rollback_start_p50_ms": {
            "value": results["rollback_start"]["p50_ms"],
            "target": "<= 1000",
        }
    }
    write_results("deployer-rollback", results)
    return results


def correctness(tmp: Path, log: Callable[[str], None]) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    for name, (descriptor, expect_ok) in SCENARIOS.items():
        with socket.socket() as held:
            held.bind(("0.0.0.0", 0))
            held.listen()
            text = yaml.safe_dump(descriptor, sort_keys=False)
            text = text.replace("'@PORT@:8080'", f"'{held.getsockname()[1]}:8080'")
            path = tmp / f"scenario-{name}.yml"
            path.write_text(text)
            rows[name] = _scenario(name, path, expect_ok, tmp, log)
    return {
        "scenarios": rows,
        "consign_correct": sum(r["consign"]["correct"] for r in rows.values()),
        "compose_correct": sum(r["compose"]["correct"] for r in rows.values()),
        "total": len(rows),
    }


def _scenario(
    name: str, path: Path, expect_ok: bool, tmp: Path, log: Callable[[str], None]
) -> dict[str, Any]:
    row: dict[str, Any] = {"expected": "success" if expect_ok else "failure"}
    for tool in ("consign", "compose"):
        project = f"dp-bench-c-{uuid.uuid4().hex[:6]}"
        said = ""
        try:
            if tool == "consign":
                report = tmp / "c.json"
                report.unlink(missing_ok=True)
                secs, rc = run_consign(path, project, report, timeout=60)
                if report.exists():
                    verdicts = json.loads(report.read_text()).get("verdicts") or {}
                    said = ", ".join(f"{s}: {v.get('label')}" for s, v in verdicts.items())
            else:
                secs, rc, said = run_compose_said(path, project, timeout=60)
        finally:
            down(project)
        row[tool] = {
            "rc": rc,
            "seconds": round(secs, 2),
            "correct": (rc == 0) == expect_ok,
            "said": said,
        }
        log(f"scenario {name} {tool}: rc={rc} {secs:.1f}s {said}")
    return row


def run(rounds: int = 5, log: Callable[[str], None] = print) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="consign-bench-") as d:
        tmp = Path(d)
        results: dict[str, Any] = {
            "wait_overhead": wait_overhead(tmp, rounds, log),
            "failure_detection": failure_detection(tmp, rounds, log),
            "rollback_start": rollback_start(tmp, rounds, log),
            "correctness": correctness(tmp, log),
        }
    results["targets"] = {
        "wait_overhead_ratio": {
            "value": results["wait_overhead"]["ratio_p50"],
            "target": "<= 1.05",
        },
        "failure_detection_p50_ms": {
            k: v["p50_ms"] for k, v in results["failure_detection"].items()
        }
        | {"target": "<= 1000"},
        "failure_certain_to_rollback_start_p50_ms": {
            "value": results["rollback_start"]["p50_ms"],
            "target": "<= 1000",
        },
        "correct_verdicts": {
            "consign": results["correctness"]["consign_correct"],
            "compose": results["correctness"]["compose_correct"],
            "of": results["correctness"]["total"],
        },
    }
    write_results("deployer", results)
    return results
