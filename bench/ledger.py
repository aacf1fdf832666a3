"""Ledger benchmark: deployment reports and environment reads through real gunicorn.

Targets (issue 9):
- the time a report adds to a deploy (client side, HTTP included): p50 <= 50 ms, measured
  on an environment that already has a long history, with every other environment full;
- ``GET /api/environments`` with 50 environments x 20 application/releases and 10,000
  recorded deployments: p50 <= 20 ms;
- history paging stays flat: the newest page (and a deep page) of an environment with
  10,000 records vs one with 10 records (pages of 10, so both answers are the same size),
  p50 ratio <= 1.2, in alternating rounds.

``/healthz`` is measured alongside (alternating) as the floor of a request on the machine
at that moment: on a shared 2-core machine, absolute figures move with the load.

The ledger is filled in-process through the same store code (the fill is not measured);
every phase first sends unmeasured requests so each of the 4 workers has read the ledger
once, as a long-running server has.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import requests

from bench.common import percentile, serve, summary_ms, write_results
from consign.compose.fragments import parse_fragment
from registry.store import DeploymentRecord, DescriptorStore, ServiceRecord, Target, records
from registry.store.gitobjects import IDENTITY as GIT_IDENTITY
from registry.store.ledger import CURRENT, current_name

IDENTITY = GIT_IDENTITY.decode()

ENVIRONMENTS = 50
TARGETS = [Target(f"App {a}", f"R{r}") for a in range(4) for r in range(5)]  # 20
ROUNDS = 7


def _record(env: str, target: Target, n: int) -> DeploymentRecord:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(1_700_000_000 + n * 60))
    services = [
        ServiceRecord(
            f"svc-{s}",
            "healthy",
            "",
            [f"{n:012x}{s:04x}"],
            "sha256:" + f"{s:064x}",
            f"svc-{s}",
            {"planKey": f"P-{s}", "buildNumber": n},
        )
        for s in range(5)
    ]
    return DeploymentRecord(
        id=str(uuid.uuid4()), kind="deploy", environment=env, application=target.application,
        release=target.release, version=1, commit=None, outcome="ok", rolled_back_to=None,
        started=stamp, finished=stamp, by="bench", engine={"name": "bench-host"},
        source="http://registry", services=services,
    )  # fmt: skip


def fill(repo: Path, env: str, count: int, start: int = 0) -> None:
    """Append ``count`` records to ``env`` with ``git fast-import``: the same layout and
    record.json bytes the store writes (records in arrival order = finish order, so each
    becomes current), far faster than 20,000 reports on a loaded 2-core machine; the fill
    is not what is measured."""
    tip = subprocess.run(
        ["git", "--git-dir", str(repo), "rev-parse", "--verify", "-q", f"refs/ledger/{env}"],
        capture_output=True, text=True, check=False,
    ).stdout.strip()  # fmt: skip
    out = bytearray()
    first = int(_count(repo, tip)) + 1 if tip else 1
    for i, n in enumerate(range(start, start + count)):
        record = replace(_record(env, TARGETS[n % len(TARGETS)], n), seq=first + i, received=_now())
        data, message = records.dump(record), records.commit_message(record).encode()
        name = current_name(record.application, record.release)
        out += b"blob\nmark :%d\ndata %d\n%s\n" % (i + 1, len(data), data)
        out += f"commit refs/ledger/{env}\n".encode()
        out += f"committer {IDENTITY} {1_700_000_000 + n} +0000\n".encode()
        out += b"data %d\n%s\n" % (len(message), message)
        if i == 0 and tip:
            out += f"from {tip}\n".encode()
        out += f"M 100644 :{i + 1} record.json\nM 100644 :{i + 1} {CURRENT}/{name}\n".encode()
    subprocess.run(
        ["git", "--git-dir", str(repo), "fast-import", "--quiet"], input=bytes(out), check=True
    )


def _count(repo: Path, tip: str) -> str:
    argv = ["git", "--git-dir", str(repo), "rev-list", "--count", "--first-parent", tip]
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip()


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())


def report_body(env: str, n: int) -> dict[str, Any]:
    record = _record(env, TARGETS[n % len(TARGETS)], n)
    body: dict[str, Any] = {
        k: v for k, v in vars(replace(record)).items() if k not in ("seq", "received")
    }
    body["services"] = [vars(s) for s in record.services]
    return body


def timed(session: requests.Session, method: str, url: str, **kw: Any) -> float:
    start = time.perf_counter()
    response = session.request(method, url, timeout=60, **kw)
    elapsed = time.perf_counter() - start
    if response.status_code >= 300:
        raise RuntimeError(f"{method} {url}: {response.status_code} {response.text[:300]}")
    return elapsed


def gets(base: str, path: str, count: int) -> list[float]:
    with requests.Session() as s:
        return [timed(s, "GET", base + path) for _ in range(count)]


def alternating(
    base: str, paths: dict[str, str], samples: int, rounds: int = ROUNDS
) -> dict[str, list[list[float]]]:
    """Each path in turn, ``rounds`` times: the samples of every round, per path."""
    found: dict[str, list[list[float]]] = {name: [] for name in paths}
    for _ in range(rounds):
        for name, path in paths.items():
            found[name].append(gets(base, path, samples // rounds))
    return found


def flat(found: dict[str, list[list[float]]]) -> dict[str, list[float]]:
    return {name: [x for r in rounds for x in r] for name, rounds in found.items()}


def round_ratio(found: dict[str, list[list[float]]], a: str, b: str) -> float:
    """The median over rounds of p50(a) / p50(b) in that round (run back to back, so a
    burst of load on the shared machine hits both sides of one ratio alike)."""
    ratios = sorted(
        percentile(x, 0.5) / percentile(y, 0.5) for x, y in zip(found[a], found[b], strict=True)
    )
    return round(ratios[len(ratios) // 2], 3)


def run(samples: int = 200, log: Callable[[str], None] = print) -> dict[str, Any]:
    results: dict[str, Any] = {"environments": ENVIRONMENTS, "targets_per_env": len(TARGETS)}
    with tempfile.TemporaryDirectory(prefix="consign-bench-ledger-") as d:
        repo = Path(d) / "registry.git"
        store = DescriptorStore(repo)
        text = "services:\n  web:\n    image: busybox\n"
        spec, _ = parse_fragment(text)
        store.publish(TARGETS, "web", text, spec, {})
        started = time.monotonic()
        per_env = 10_000 // ENVIRONMENTS
        for e in range(ENVIRONMENTS):
            fill(repo, f"env-{e:02d}", per_env, e * per_env)
        results["fill_10000_s"] = round(time.monotonic() - started, 1)
        log(f"10,000 deployments in {ENVIRONMENTS} environments: {results['fill_10000_s']} s")
        with serve(repo) as base:
            gets(base, "/api/environments", 16)  # unmeasured: every worker reads the ledger
            found = flat(
                alternating(
                    base,
                    {"get_environments": "/api/environments", "healthz_1": "/healthz"},
                    samples,
                )
            )
            for name, figures in found.items():
                results[name] = summary_ms(figures)
            env = "env-00"
            gets(base, f"/api/environments/{env}", 8)
            with requests.Session() as s:
                url = f"{base}/api/environments/{env}/deployments"
                reports = [
                    timed(s, "POST", url, json=report_body(env, 100_000 + n))
                    for n in range(samples)
                ]
            results["report"] = summary_ms(reports)
            results["get_environment"] = summary_ms(gets(base, f"/api/environments/{env}", samples))
        log("filling one environment to 10,000 records ...")
        fill(repo, "long", 10_000, 200_000)
        fill(repo, "short", 10, 300_000)
        with serve(repo) as base:
            paths = {
                # a page of 10 both sides: the short history has only 10 records
                "page_long": "/api/environments/long/deployments?limit=10",
                "page_short": "/api/environments/short/deployments?limit=10",
                "deep_page_long": "/api/environments/long/deployments?limit=10&before=5000",
                "healthz": "/healthz",
            }
            for path in paths.values():
                gets(base, path, 16)
            rounds = alternating(base, paths, samples * 3, rounds=3 * ROUNDS)
            for name, figures in flat(rounds).items():
                results[name] = summary_ms(figures)
            results["paging_round_ratio"] = round_ratio(rounds, "page_long", "page_short")
            results["deep_paging_round_ratio"] = round_ratio(rounds, "deep_page_long", "page_short")
    p50 = {k: v["p50_ms"] for k, v in results.items() if isinstance(v, dict)}
    results["targets"] = {
        "report_p50_ms<=50": {"p50_ms": p50["report"], "met": p50["report"] <= 50},
        "get_environments_p50_ms<=20": {
            "p50_ms": p50["get_environments"],
            "met": p50["get_environments"] <= 20,
        },
        "paging_10000_vs_10<=1.2": {
            "ratio_of_p50s": round(p50["page_long"] / p50["page_short"], 3),
            "round_ratio": results["paging_round_ratio"],
            "deep_round_ratio": results["deep_paging_round_ratio"],
            "met": results["paging_round_ratio"] <= 1.2
            and results["deep_paging_round_ratio"] <= 1.2,
        },
    }
    write_results("ledger", results)
    return results
