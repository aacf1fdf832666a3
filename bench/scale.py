"""Registry growth: a grown repository against a fresh one, measured side by side.

One repository grows in stages to ``--scale-to`` versions (default 100,000) spread over
releases of ``PER_RELEASE`` (100) versions each: 10 applications x N releases. At every
stage (1,000, 10,000, 100,000) two real servers run at once: one on the grown repository,
one on a *fresh* repository holding a single release of the same shape (the same 100
versions, the same components). Publishes, version listings and descriptor reads are then
sent in alternating rounds, grown, fresh, grown, fresh..., sequentially and with 8 clients,
so that machine noise hits both alike and nothing is compared across time. The figure is
the p50 of the grown repository over the p50 of the fresh one (goal: <= 1.2).

The fill is in-process through the same store code, without fsync (it is not measured);
the servers run with durability on, as in production. ``--scale-repo DIR`` keeps the grown
repository in DIR and grows an existing one from where it is (the fill to 100,000 takes
long); stages it has already outgrown are skipped, since they cannot be measured.
"""

from __future__ import annotations

import base64
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from bench.common import serve, summary_ms, write_results
from consign.compose.fragments import parse_fragment
from consign.process import run as run_command
from registry.errors import NotFound
from registry.store import DescriptorStore, Target

APPS = 10
PER_RELEASE = 100
COMPONENTS = 5
STAGES = (1_000, 10_000, 100_000)
ROUNDS = 5
FRESH_APP, FRESH_REL = "App 0", "R0000"  # the release measured, present in both repositories


def _fragment(i: int, build: int) -> str:
    return f'svc-{i}:\n  image: busybox:1.{i}\n  environment:\n    BUILD: "{build}"\n'


def _number(store: DescriptorStore, app: str, rel: str) -> int:
    try:
        return store.version(app, rel, None).number
    except NotFound:
        return 0


def fill_release(store: DescriptorStore, app: str, rel: str, versions: int) -> None:
    """Publish one component at a time until the release holds ``versions`` versions."""
    build = _number(store, app, rel)
    while build < versions:
        i = build % COMPONENTS
        text = _fragment(i, build)
        spec, _ = parse_fragment(text)
        store.publish([Target(app, rel)], f"svc-{i}", text, spec, {"buildNumber": build})
        build += 1


def grow(store: DescriptorStore, total: int, log: Callable[[str], None]) -> None:
    """Fill releases ``App a / Rnnnn`` in order until the repository holds ``total`` versions."""
    releases = total // PER_RELEASE
    t0 = time.perf_counter()
    for k in range(releases):
        fill_release(store, f"App {k % APPS}", f"R{k // APPS:04d}", PER_RELEASE)
        if k % 50 == 49:
            log(f"  {(k + 1) * PER_RELEASE} versions, {time.perf_counter() - t0:.0f}s")


def _put(session: requests.Session, base: str, build: int) -> float:
    i = build % COMPONENTS
    body = {
        "fragment": base64.b64encode(_fragment(i, build).encode()).decode(),
        "applications": [FRESH_APP],
        "releases": [FRESH_REL],
        "component": f"svc-{i}",
        "build": {"buildNumber": build},
    }
    t0 = time.perf_counter()
    r = session.put(f"{base}/fragment", json=body, timeout=60)
    if r.status_code != 201:
        raise RuntimeError(f"publish answered {r.status_code}: {r.text[:300]}")
    return time.perf_counter() - t0


def _get(session: requests.Session, url: str) -> float:
    t0 = time.perf_counter()
    r = session.get(url, timeout=60)
    r.raise_for_status()
    return time.perf_counter() - t0


def _clients(
    count: int, clients: int, one: Callable[[requests.Session, int], float]
) -> list[float]:
    samples: list[float] = []
    lock = threading.Lock()

    def worker(k: int) -> None:
        s = requests.Session()
        mine = [one(s, k * 1_000_000 + j) for j in range(count // clients)]
        with lock:
            samples.extend(mine)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return samples


def compare(grown: str, fresh: str, samples: int, clients: int, build0: int) -> dict[str, Any]:
    """Alternating rounds of publishes, listings and descriptor reads on both servers."""
    rel = f"/api/applications/{quote(FRESH_APP)}/releases/{FRESH_REL}"
    desc = f"/descriptor/application/{quote(FRESH_APP)}/{FRESH_REL}/{PER_RELEASE // 2}"
    kinds: dict[str, Callable[[str, int], Callable[[requests.Session, int], float]]] = {
        "publish": lambda base, b0: lambda s, k: _put(s, base, b0 + k),
        "list_versions": lambda base, _b0: lambda s, _k: _get(s, f"{base}{rel}/versions"),
        "get_descriptor": lambda base, _b0: lambda s, _k: _get(s, f"{base}{desc}"),
    }
    out: dict[str, Any] = {}
    per_round = max(samples // ROUNDS, clients)
    for kind, make in kinds.items():
        mine: dict[str, list[float]] = {"grown": [], "fresh": []}
        for r in range(ROUNDS):
            for name, base in (("grown", grown), ("fresh", fresh)):
                b0 = build0 + r * 10_000_000 + (0 if name == "grown" else 5_000_000)
                mine[name] += _clients(per_round, clients, make(base, b0))
        g, f = summary_ms(mine["grown"]), summary_ms(mine["fresh"])
        out[kind] = {"grown": g, "fresh": f, "ratio_p50": round(g["p50_ms"] / f["p50_ms"], 3)}
    return out


def _size(repo: Path) -> int:
    """Versions already in ``repo`` (one tag each); 0 when there is no repository yet."""
    if not (repo / "HEAD").exists():
        return 0
    listed = run_command(["git", "--git-dir", str(repo), "for-each-ref", "refs/tags/"])
    return len(listed.stdout.splitlines())


def run(
    scale_to: int = STAGES[-1],
    samples: int = 100,
    log: Callable[[str], None] = print,
    repo: Path | None = None,
) -> dict:
    results: dict[str, Any] = {"per_release": PER_RELEASE, "components": COMPONENTS, "stages": {}}
    with tempfile.TemporaryDirectory(prefix="consign-scale-") as d:
        tmp = Path(d)
        grown_repo, fresh_repo = repo or tmp / "grown.git", tmp / "fresh.git"
        already = _size(grown_repo)
        grown, fresh = DescriptorStore(grown_repo, durable=False), DescriptorStore(fresh_repo)
        fill_release(fresh, FRESH_APP, FRESH_REL, PER_RELEASE)
        build0 = 100_000_000 + already * 10  # builds never seen in a reused repository
        # a reused repository holds the measured publishes of earlier runs too (a few hundred)
        for stage in (s for s in STAGES if already <= s * 1.05 and s <= scale_to):
            log(f"growing to {stage} versions ...")
            t0 = time.perf_counter()
            grow(grown, stage, log)
            stage_result: dict[str, Any] = {"fill_seconds": round(time.perf_counter() - t0, 1)}
            with serve(grown_repo, workers=2) as g_base, serve(fresh_repo, workers=2) as f_base:
                for base in (g_base, f_base):  # unmeasured: each worker reads the release once
                    warm = build0 - 1000
                    _clients(8, 8, lambda s, k, base=base, warm=warm: _put(s, base, warm + k))
                for clients in (1, 8):
                    found = compare(g_base, f_base, samples, clients, build0)
                    build0 += 100_000_000
                    stage_result[f"clients_{clients}"] = found
                    log(
                        f"  {stage} versions, {clients} client(s): "
                        + ", ".join(f"{k} {v['ratio_p50']}x" for k, v in found.items())
                    )
            results["stages"][str(stage)] = stage_result
        grown.close()
        fresh.close()
    ratios = [
        v["ratio_p50"]
        for stage in results["stages"].values()
        for key in ("clients_1", "clients_8")
        for v in stage[key].values()
    ]
    results["targets"] = {
        "worst_ratio_p50": max(ratios),
        "target": "<= 1.2",
        "met": max(ratios) <= 1.2,
    }
    write_results("scale", results)
    return results
