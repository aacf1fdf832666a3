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
(the fill is not measured); ``repo`` keeps it in a folder of your choice and reuses it on
the next run (``python -m bench ui --ui-repo DIR``). A few drift reports for what runs in
the environment go through the store's own ``report``, so the environment page shows
drift. The version page is also measured for a signed-in holder of the approve and
release roles (the gate's forms, with their CSRF tokens, are on it: the UI has no separate
page for them), and the sign-in page itself.
"""

from __future__ import annotations

import contextlib
import random
import re
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import requests

from bench import ledger
from bench.common import serve, summary_ms, write_results
from bench.registry import APP, COMPONENTS, REL, SHORT, fill, fragment, latest
from consign.compose.fragments import parse_fragment
from registry.store import DescriptorStore, Target

TARGET_MS = 50.0
ENVIRONMENT = "qa-bench"
DEPLOYMENTS = 1_000
DRIFTS = 3  # application/releases of the environment with a drift report since their deploy
TOKEN = "bench-" + "0" * 32  # the signed-in viewer's: approve and release roles
SIGNED_IN = {"version_signed_in_with_forms"}  # page kinds asked with a signed-in session


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
        "version_signed_in_with_forms": lambda: version(some()),
        "diff_adjacent_random": adjacent,
        "diff_walking_back": walk_diff,
        "diff_first_to_last": lambda: diff(f"{APP}/{REL}/1", f"{APP}/{REL}/{history}"),
        "diff_across_releases": lambda: diff(f"{APP}/{SHORT}/{short}", f"{APP}/{REL}/{some()}"),
        "find_a_build": find,
        "sign_in": lambda: "/ui/sign-in",
        "environments_matrix": lambda: "/ui/environments",
        "environment_newest_page": lambda: f"/ui/environments/{ENVIRONMENT}",
        "environment_random_page": lambda: (
            f"/ui/environments/{ENVIRONMENT}?before={rng.randint(2, DEPLOYMENTS)}"
        ),
    }


def sign_in(base: str) -> requests.Session:
    """A session signed in through the sign-in form (its CSRF token included)."""
    session = requests.Session()
    form = session.get(f"{base}/ui/sign-in", timeout=60).text
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form)
    if match is None:
        raise RuntimeError("the sign-in page has no CSRF token")
    answer = session.post(
        f"{base}/ui/sign-in",
        data={"csrf_token": match.group(1), "token": TOKEN, "next": ""},
        timeout=60,
        allow_redirects=False,
    )
    if answer.status_code != 303:
        raise RuntimeError(f"sign-in answered {answer.status_code}: {answer.text[:300]}")
    return session


def measure(
    base: str, next_url: Callable[[], str], samples: int, signed_in: bool = False
) -> dict[str, Any]:
    session = sign_in(base) if signed_in else requests.Session()
    server: list[float] = []
    client: list[float] = []
    for _ in range(samples):
        url = next_url()
        t0 = time.perf_counter()
        answer = session.get(base + url, timeout=60)
        client.append(time.perf_counter() - t0)
        if answer.status_code != 200:
            raise RuntimeError(f"{url} answered {answer.status_code}: {answer.text[:300]}")
        if signed_in and "/approve" not in answer.text:
            raise RuntimeError(f"{url} shows no gate forms to the signed-in viewer")
        timing = answer.headers["Server-Timing"]
        server.append(float(timing.split("dur=")[1]) / 1000)
    session.close()
    return {
        "server": summary_ms(server),
        "client": summary_ms(client),
        "bytes": len(answer.content),
    }


@contextlib.contextmanager
def _folder(repo: Path | None) -> Iterator[Path]:
    if repo is not None:
        repo.mkdir(parents=True, exist_ok=True)
        yield repo
        return
    with tempfile.TemporaryDirectory(prefix="consign-bench-ui-") as d:
        yield Path(d)


def _fill(repo: Path, history: int, log: Callable[[str], None]) -> int:
    """Fill (or top up) the repository; return the short release's latest version."""
    store = DescriptorStore(repo)
    log(f"filling {APP}/{REL} to {history} versions in-process ...")
    build = fill(store, history)
    if latest(store, SHORT) < COMPONENTS:
        fill(store, COMPONENTS, build + 7_000_000, SHORT)
    have = next((e.deployments for e in store.environments() if e.name == ENVIRONMENT), 0)
    if have < DEPLOYMENTS:  # 20 application/releases, 5 services
        ledger.fill(repo, ENVIRONMENT, DEPLOYMENTS - have, start=have)
    if not store.drift(ENVIRONMENT):
        for record in store.environment(ENVIRONMENT).deployed[:DRIFTS]:
            # the ledger's fill names application/releases the registry must know to
            # accept a report about them
            target = Target(record.application, record.release)
            text = fragment(0, 0)
            store.publish([target], "svc-00", text, parse_fragment(text)[0], {"buildNumber": 0})
            drift = replace(
                record,
                id=str(uuid.uuid4()),
                kind="drift",
                outcome="drift",
                seq=0,
                received="",
                services=[
                    replace(s, verdict="drift", detail="image: runs sha256:9..., recorded ...")
                    for s in record.services[:2]
                ],
            )
            store.report(drift)
    short = latest(store, SHORT)
    store.close()
    return short


def run(
    history: int = 10_000,
    samples: int = 100,
    log: Callable[[str], None] = print,
    repo: Path | None = None,
) -> dict:
    """``repo``: a folder to fill once and reuse (default: a temporary one)."""
    results: dict[str, Any] = {"history": history, "components": COMPONENTS, "samples": samples}
    with _folder(repo) as d:
        path = d / "registry.git"
        t0 = time.perf_counter()
        short = _fill(path, history, log)
        results["deployments"] = DEPLOYMENTS
        results["fill_seconds"] = round(time.perf_counter() - t0, 1)
        kinds = page_kinds(history, short, random.Random(11))
        roles = {"CONSIGN_APPROVE_TOKENS": f"qa-bench:{TOKEN}"}
        roles["CONSIGN_RELEASE_TOKENS"] = f"qa-bench:{TOKEN}"
        with serve(path, env=roles) as base:
            for name, next_url in kinds.items():  # unmeasured: templates compiled, tips read
                measure(base, next_url, 8, name in SIGNED_IN)
            for name, next_url in kinds.items():
                results[name] = measure(base, next_url, samples, name in SIGNED_IN)
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
