"""Web UI benchmark: the server time of each page kind on a release with 10,000 versions of
50 components and an environment with 1,000 deployments, through real gunicorn (4 workers)
on loopback.

Server time is what the UI reports in its ``Server-Timing: app;dur=`` header (from the
request's arrival in the app to the response, template rendering included); the client's
round trip is recorded beside it. Pages that name one version are asked for a different,
random version each time, so the store's and the highlighter's caches do not flatter them
(a long-running registry has read a few versions, not all 10,000); the same page asked
again, and versions walked back one by one (what clicking "<- #N-1" does), are measured
too. The history is filled in-process through the same store code as bench/registry.py
(the fill is not measured).
"""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import requests

from bench import ledger
from bench.common import serve, summary_ms, write_results
from bench.registry import APP, COMPONENTS, REL, SHORT, fill, latest
from registry.store import DescriptorStore

TARGET_MS = 50.0
ENVIRONMENT = "qa-bench"
DEPLOYMENTS = 1_000


def page_kinds(history: int, short: int, rng: random.Random) -> dict[str, Callable[[], str]]:
    """Each page kind: a function giving the next URL to ask for."""
    release = f"/ui/applications/{quote(APP)}/releases/{REL}"

    def version(n: int) -> str:
        return f"{release}/versions/{n}"

    def diff(a: str, b: str) -> str:
        return "/ui/diff?" + urlencode({"from": a, "to": b})

    def some() -> int:
        return rng.randint(2, history)

    def adjacent() -> str:
        n = some()
        return diff(f"{APP}/{REL}/{n - 1}", f"{APP}/{REL}/{n}")

    def find() -> str:
        n = some()  # fill(): version n was made by svc-{(n - 1) % 50} with build n - 1
        return "/ui/find?" + urlencode(
            {"component": f"svc-{(n - 1) % COMPONENTS:02d}", "build": n - 1}
        )

    back = iter(range(history - 1, 1, -1))  # clicking "<- #N-1" from the latest, page after page
    back_diff = iter(range(history - 1, 1, -1))

    def walk_diff() -> str:
        n = next(back_diff)
        return diff(f"{APP}/{REL}/{n - 1}", f"{APP}/{REL}/{n}")

    return {
        "home": lambda: "/ui/",
        "release_newest_page": lambda: release,
        "release_random_page": lambda: f"{release}?before={some()}",
        "version_latest_again": lambda: version(history),
        "version_random": lambda: version(some()),
        "version_walking_back": lambda: version(next(back)),
        "diff_adjacent_random": adjacent,
        "diff_walking_back": walk_diff,
        "diff_first_to_last": lambda: diff(f"{APP}/{REL}/1", f"{APP}/{REL}/{history}"),
        "diff_across_releases": lambda: diff(f"{APP}/{SHORT}/{short}", f"{APP}/{REL}/{some()}"),
        "find_a_build": find,
        "environments_matrix": lambda: "/ui/environments",
        "environment_newest_page": lambda: f"/ui/environments/{ENVIRONMENT}",
        "environment_random_page": lambda: (
            f"/ui/environments/{ENVIRONMENT}?before={rng.randint(2, DEPLOYMENTS)}"
        ),
    }


def measure(base: str, next_url: Callable[[], str], samples: int) -> dict[str, Any]:
    session = requests.Session()
    server: list[float] = []
    client: list[float] = []
    for _ in range(samples):
        url = next_url()
        t0 = time.perf_counter()
        answer = session.get(base + url, timeout=60)
        client.append(time.perf_counter() - t0)
        if answer.status_code != 200:
            raise RuntimeError(f"{url} answered {answer.status_code}: {answer.text[:300]}")
        timing = answer.headers["Server-Timing"]
        server.append(float(timing.split("dur=")[1]) / 1000)
    session.close()
    return {
        "server": summary_ms(server),
        "client": summary_ms(client),
        "bytes": len(answer.content),
    }


def run(history: int = 10_000, samples: int = 100, log: Callable[[str], None] = print) -> dict:
    results: dict[str, Any] = {"history": history, "components": COMPONENTS, "samples": samples}
    with tempfile.TemporaryDirectory(prefix="consign-bench-ui-") as d:
        repo = Path(d) / "registry.git"
        store = DescriptorStore(repo)
        log(f"filling {APP}/{REL} to {history} versions in-process ...")
        t0 = time.perf_counter()
        build = fill(store, history)
        fill(store, COMPONENTS, build + 7_000_000, SHORT)
        ledger.fill(repo, ENVIRONMENT, DEPLOYMENTS)  # 20 application/releases, 5 services
        results["deployments"] = DEPLOYMENTS
        results["fill_seconds"] = round(time.perf_counter() - t0, 1)
        short = latest(store, SHORT)
        kinds = page_kinds(history, short, random.Random(11))
        with serve(repo) as base:
            for next_url in kinds.values():  # unmeasured: templates compiled, tips read
                measure(base, next_url, 8)
            for name, next_url in kinds.items():
                results[name] = measure(base, next_url, samples)
                log(f"{name}: server p50 {results[name]['server']['p50_ms']} ms")
    results["targets"] = {
        f"{name} server p50 <= {TARGET_MS} ms": {
            "p50_ms": results[name]["server"]["p50_ms"],
            "met": results[name]["server"]["p50_ms"] <= TARGET_MS,
        }
        for name in kinds
    }
    write_results("ui", results)
    return results
