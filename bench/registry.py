"""Registry benchmark: publish and read through real gunicorn on loopback.

Measures, for a descriptor of 50 components:
- publish latency, sequential and with 8 concurrent clients, at a short history and at
  10,000 versions;
- a shell baseline doing the same Git writes with plumbing commands per publish;
- listing the versions of a release with 10,000 versions;
- GET descriptor throughput against /healthz on the same server.
The long history is filled through the store in-process (the fill is not what is measured).
"""

from __future__ import annotations

import base64
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from bench.common import ROOT, serve, summary_ms, write_results
from registry.fragments import parse_fragment
from registry.store import DescriptorStore, Target

APP, REL = "Bench App", "R1"
COMPONENTS = 50


def fragment(i: int, build: int) -> str:
    return (
        f"svc-{i:02d}:\n  image: busybox\n  command: httpd -f -p {8000 + i}\n"
        f'  environment:\n    BUILD: "{build}"\n'
    )


def fill(store: DescriptorStore, versions: int, start_build: int = 0) -> int:
    """Publish until the release has `versions` versions; return the next build number."""
    build = start_build
    while True:
        have = store.versions(APP, REL, limit=1)
        if have and have[0].number >= versions:
            return build
        i = build % COMPONENTS
        text = fragment(i, build)
        spec, _ = parse_fragment(text)
        store.publish([Target(APP, REL)], f"svc-{i:02d}", text, spec, {"buildNumber": build})
        build += 1


def put(session: requests.Session, base: str, i: int, build: int) -> float:
    body = {
        "fragment": base64.b64encode(fragment(i, build).encode()).decode(),
        "applications": [APP],
        "releases": [REL],
        "component": f"svc-{i:02d}",
        "build": {"buildNumber": build},
    }
    t0 = time.perf_counter()
    r = session.put(f"{base}/fragment", json=body, timeout=30)
    elapsed = time.perf_counter() - t0
    if r.status_code != 201:
        raise RuntimeError(f"publish answered {r.status_code}: {r.text[:300]}")
    return elapsed


def timed_gets(base: str, path: str, count: int, clients: int) -> dict[str, Any]:
    samples: list[float] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        s = requests.Session()
        mine = []
        for _ in range(n):
            t0 = time.perf_counter()
            r = s.get(base + path, timeout=30)
            mine.append(time.perf_counter() - t0)
            r.raise_for_status()
        with lock:
            samples.extend(mine)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(count // clients,)) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return {**summary_ms(samples), "clients": clients, "req_per_s": round(len(samples) / wall, 1)}


def publishes(base: str, count: int, clients: int, build0: int) -> dict[str, Any]:
    samples: list[float] = []
    lock = threading.Lock()

    def worker(k: int) -> None:
        s = requests.Session()
        mine = []
        for j in range(count // clients):
            build = build0 + k * 100_000 + j
            mine.append(put(s, base, (k * 7 + j) % COMPONENTS, build))
        with lock:
            samples.extend(mine)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return {
        **summary_ms(samples),
        "clients": clients,
        "publish_per_s": round(len(samples) / wall, 1),
    }


def baseline(tmp: Path, store_repo: Path, count: int) -> dict[str, Any]:
    """Time the plumbing-command baseline on a copy of the benchmark's latest version tree."""
    work = tmp / "baseline-work"
    branch = subprocess.run(
        [
            "git",
            "--git-dir",
            str(store_repo),
            "for-each-ref",
            "--format=%(refname:short)",
            "refs/heads/",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()[0]
    subprocess.run(
        ["git", "clone", "-q", "--branch", branch, str(store_repo), str(work)], check=True
    )
    repo = tmp / "baseline.git"
    subprocess.run(["git", "init", "-q", "--bare", str(repo)], check=True)
    out = subprocess.run(
        ["bash", str(ROOT / "bench" / "baseline_publish.sh"), str(repo), str(work), str(count)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return summary_ms([int(ns) / 1e9 for ns in out])


def run(long_history: int = 10_000, samples: int = 200, log: Callable[[str], None] = print) -> dict:
    results: dict[str, Any] = {"components": COMPONENTS, "long_history": long_history}
    with tempfile.TemporaryDirectory(prefix="consign-bench-") as d:
        tmp = Path(d)
        repo = tmp / "registry.git"
        store = DescriptorStore(repo)
        build = fill(store, COMPONENTS)
        log(f"short history: {COMPONENTS} versions (one per component)")
        with serve(repo) as base:
            s = requests.Session()
            quoted = requests.utils.quote(APP)
            results["publish_short_seq"] = publishes(base, samples, 1, build)
            results["publish_short_8"] = publishes(base, samples, 8, build + 1_000_000)
            n = store.versions(APP, REL, limit=1)[0].number
            results["short_history_versions"] = n
            results["list_short"] = timed_gets(
                base, f"/api/applications/{quoted}/releases/{REL}/versions", samples, 1
            )
            for clients in (1, 8):
                results[f"get_descriptor_{clients}"] = timed_gets(
                    base, f"/descriptor/application/{quoted}/{REL}/{n}", samples * 5, clients
                )
                results[f"get_latest_{clients}"] = timed_gets(
                    base, f"/descriptor/application/{quoted}/{REL}/latest", samples * 5, clients
                )
                results[f"healthz_{clients}"] = timed_gets(base, "/healthz", samples * 5, clients)
            s.close()
        results["baseline_shell"] = baseline(tmp, repo, samples)
        log(f"filling to {long_history} versions in-process ...")
        t0 = time.perf_counter()
        fill(store, long_history, build + 2_000_000)
        results["fill_seconds"] = round(time.perf_counter() - t0, 1)
        with serve(repo) as base:
            quoted = requests.utils.quote(APP)
            results["publish_long_seq"] = publishes(base, samples, 1, build + 3_000_000)
            results["publish_long_8"] = publishes(base, samples, 8, build + 4_000_000)
            results["list_long"] = timed_gets(
                base, f"/api/applications/{quoted}/releases/{REL}/versions", samples, 1
            )
    base_p50 = results["baseline_shell"]["p50_ms"]
    results["targets"] = {
        "publish_p50_vs_baseline": {
            "ratio": round(results["publish_short_seq"]["p50_ms"] / base_p50, 3),
            "target": "<= 0.5",
        },
        "publish_p50_long_vs_short": {
            "ratio": round(
                results["publish_long_seq"]["p50_ms"] / results["publish_short_seq"]["p50_ms"], 3
            ),
            "target": "<= 1.2",
        },
        "list_versions_long_p50_ms": {"value": results["list_long"]["p50_ms"], "target": "<= 10"},
        "get_descriptor_vs_healthz_throughput": {
            "ratio_1": round(
                results["get_descriptor_1"]["req_per_s"] / results["healthz_1"]["req_per_s"], 3
            ),
            "ratio_8": round(
                results["get_descriptor_8"]["req_per_s"] / results["healthz_8"]["req_per_s"], 3
            ),
            "target": ">= 0.8",
        },
    }
    write_results("registry", results)
    return results
