"""Soak (`python -m bench soak`): a real `consign serve` under load for minutes, with a
gunicorn worker SIGKILLed every ``kill_every`` seconds.

- ``publishers`` threads publish fragments as a CI client would: every publish carries a
  fragment no other publish has (its own build number), to two applications at once (one
  atomic publish, two versions); on a connection error or a 5xx answer the same request
  is sent again (a publish that got no answer may or may not have landed: a retry of one
  that landed answers 200 with the version it made), up to ``RETRIES`` times.
- ``readers`` threads list versions, fetch descriptors (the latest and a random numbered
  one), read a version through the API and load the web UI's release page and home.
- every ``kill_every`` seconds one worker (a child of the gunicorn master, taken in turn)
  gets SIGKILL; gunicorn starts a new one (``kill_every`` <= 0: no kills, so the workers'
  RSS can be followed over the whole run; with kills no worker lives long).
- every ``RSS_EVERY`` seconds the RSS of the master and of each worker is read from
  ``/proc/<pid>/status``.

At the end every version a 2xx answer named must be there with the commit it was answered
with, read back through the API and from Git's refs (``git for-each-ref``); ``git fsck
--full`` must be clean, and no Git ``*.lock`` file may be left in the repository. Reported:
latency p50/p99 per request kind, errors by kind, the RSS series with the least-squares
slope (:func:`rss_trend`), the load average of the machine at start and end.
"""

from __future__ import annotations

import base64
import itertools
import os
import random
import signal
import statistics
import subprocess
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from bench.common import percentile, serving, write_results
from registry.store.layout import tag_name
from registry.store.locking import LOCK_NAME

APPS = ("Soak A", "Soak B")  # every publish targets both: one atomic publish, two versions
RELEASES = ("R1", "R2")  # publisher k publishes to RELEASES[k % 2]
COMPONENTS = 20
WORKERS = 4
RETRIES = 20
# the reads that answer 404 until the release's first publish (any other 404 is an error)
BEFORE_FIRST_PUBLISH = {"list versions", "descriptor, latest", "UI release page"}
RSS_EVERY = 3.0  # seconds between RSS samples
TIMEOUT = 30.0  # per request
# RSS growth allowed over the run: the fitted growth stays within noise (2 x the residual
# standard deviation) or within 5 MB / 10 % of the start, whichever is larger
GROWTH_FLOOR_MB = 5.0
GROWTH_SHARE = 0.10


def fragment(component: int, build: int) -> str:
    return (
        f"svc-{component:02d}:\n  image: busybox\n  command: httpd -f -p {8000 + component}\n"
        f'  environment:\n    BUILD: "{build}"\n'
    )


def rss_trend(series: Sequence[tuple[float, float]]) -> dict[str, float]:
    """The trend of an RSS series [(seconds, MB), ...]: start and end (the fitted line's
    values, so one noisy sample does not decide), the least-squares slope (MB per minute),
    the fitted growth over the series and the noise (standard deviation of the residuals).
    """
    if len(series) < 3:
        raise ValueError("an RSS trend needs at least 3 samples")
    xs = [t for t, _ in series]
    ys = [mb for _, mb in series]
    if max(xs) == min(xs):
        raise ValueError("an RSS trend needs samples at different times")
    slope, intercept = statistics.linear_regression(xs, ys)
    residuals = [y - (slope * x + intercept) for x, y in zip(xs, ys, strict=True)]
    start, end = slope * xs[0] + intercept, slope * xs[-1] + intercept
    return {
        "start_mb": round(start, 2),
        "end_mb": round(end, 2),
        "first_sample_mb": round(ys[0], 2),
        "last_sample_mb": round(ys[-1], 2),
        "slope_mb_per_min": round(slope * 60, 3),
        "growth_mb": round(end - start, 2),
        "noise_mb": round(statistics.pstdev(residuals), 2),
    }


def lifetimes(per_worker: dict[int, list[tuple[float, float]]]) -> dict[str, Any]:
    """Each worker's RSS from its first sample to its last (a killed worker's life ends at
    its kill, so with kills this shows growth within one life, not over the run)."""
    lives = [(s[-1][0] - s[0][0], s[-1][1] - s[0][1], s[-1][1]) for s in per_worker.values()]
    lives = [life for life in lives if life[0] > 0]
    if not lives:
        return {"workers": 0}
    return {
        "workers": len(lives),
        "longest_life_s": round(max(life[0] for life in lives), 1),
        "median_life_s": round(statistics.median(life[0] for life in lives), 1),
        "growth_mb_median": round(statistics.median(life[1] for life in lives), 2),
        "growth_mb_max": round(max(life[1] for life in lives), 2),
        "rss_mb_at_end_of_life_max": round(max(life[2] for life in lives), 2),
    }


def growth_is_small(trend: dict[str, float]) -> bool:
    """Flat: the fitted growth is within noise, or small against the start (see above)."""
    allowed = max(GROWTH_FLOOR_MB, GROWTH_SHARE * trend["start_mb"], 2 * trend["noise_mb"])
    return trend["growth_mb"] <= allowed


def latency_summary(samples: Sequence[float]) -> dict[str, float]:
    return {
        "n": len(samples),
        "p50_ms": round(percentile(samples, 0.5) * 1000, 2),
        "p99_ms": round(percentile(samples, 0.99) * 1000, 2),
        "max_ms": round(max(samples) * 1000, 2) if samples else float("nan"),
    }


def children(pid: int) -> list[int]:
    """The child processes of ``pid`` (gunicorn's workers, for the master)."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def rss_mb(pid: int) -> float | None:
    """Resident set size of ``pid`` in MB (VmRSS), None once it has gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


@dataclass
class Tally:
    """Latencies and errors by request kind, shared by every thread."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[str] = field(default_factory=Counter)

    def ok(self, kind: str, seconds: float) -> None:
        with self.lock:
            self.latencies[kind].append(seconds)

    def error(self, kind: str, reason: str) -> None:
        with self.lock:
            self.errors[f"{kind}: {reason}"] += 1


def _reason(e: requests.RequestException) -> str:
    return type(e).__name__


class Soak:
    def __init__(self, base: str, master: int, publishers: int, readers: int) -> None:
        self.base, self.master = base, master
        self.publishers, self.readers = publishers, readers
        self.stop = threading.Event()
        self.tally = Tally()
        # every version a 2xx answer named: (application, release, number) -> commit
        self.answered: dict[tuple[str, str, int], str] = {}
        self.answered_lock = threading.Lock()
        self.releases: set[tuple[str, str] | None] = set()  # (application, release) answered
        self.counts: Counter[str] = Counter()
        self.server_errors: Counter[str] = Counter()  # 5xx answers' bodies
        self.kills: list[dict[str, Any]] = []
        self.rss: dict[str, list[tuple[float, float]]] = defaultdict(list)
        self.per_worker: dict[int, list[tuple[float, float]]] = defaultdict(list)
        self.started = time.monotonic()

    # -- publishers ------------------------------------------------------------------------
    def publisher(self, k: int) -> None:
        session = requests.Session()
        release = RELEASES[k % len(RELEASES)]
        for j in itertools.count():
            if self.stop.is_set():
                return
            build = k * 10_000_000 + j
            component = (k * 7 + j) % COMPONENTS
            body = {
                "fragment": base64.b64encode(fragment(component, build).encode()).decode(),
                "applications": list(APPS),
                "releases": [release],
                "component": f"svc-{component:02d}",
                "build": {"buildNumber": build, "plan": f"SOAK-{k}"},
            }
            self.publish(session, body)

    def publish(self, session: requests.Session, body: dict[str, Any]) -> None:
        """Send one publish until it is answered (retrying what a CI client would)."""
        first = time.monotonic()
        for attempt in range(RETRIES):
            t0 = time.monotonic()
            try:
                r = session.put(f"{self.base}/fragment", json=body, timeout=TIMEOUT)
            except requests.RequestException as e:
                self.tally.error("publish", _reason(e))
                session.close()  # a fresh connection for the retry
                continue
            if r.status_code >= 500:
                self.tally.error("publish", f"HTTP {r.status_code}")
                self.server_errors[f"publish: {r.text[:200]}"] += 1
                continue
            if r.status_code not in (200, 201):
                self.tally.error("publish", f"HTTP {r.status_code} (not retried)")
                self.counts["publish refused"] += 1
                return
            self.tally.ok("publish", time.monotonic() - t0)
            self.tally.ok("publish, retries included", time.monotonic() - first)
            self.counts[f"publish answered {r.status_code}"] += 1
            if attempt:
                self.counts[f"publish answered {r.status_code} after a retry"] += 1
            with self.answered_lock:
                for v in r.json()["versions"]:
                    key = (v["application"], v["release"], int(v["version"]))
                    self.answered[key] = v["commit"]
                    self.releases.add(key[:2])
            return
        self.counts["publish given up"] += 1

    # -- readers ---------------------------------------------------------------------------
    def reader(self, k: int) -> None:
        session = requests.Session()
        rng = random.Random(k)
        while not self.stop.is_set():
            app, release = rng.choice(APPS), rng.choice(RELEASES)
            a, r = quote(app), quote(release)
            at = (app, release)
            api = f"/api/applications/{a}/releases/{r}/versions"
            newest = self.get(session, "list versions", f"{api}?limit=20", at)
            self.get(session, "descriptor, latest", f"/descriptor/application/{a}/{r}/latest", at)
            if newest:
                n = rng.randint(1, newest)
                self.get(
                    session, "descriptor, numbered", f"/descriptor/application/{a}/{r}/{n}", at
                )
                self.get(session, "version (API)", f"{api}/{n}", at)
            self.get(session, "UI release page", f"/ui/applications/{a}/releases/{r}", at)
            if k == 0:
                self.get(session, "UI home", "/ui/", None)

    def get(
        self, session: requests.Session, kind: str, path: str, target: tuple[str, str] | None
    ) -> int:
        """GET ``path`` (of the release ``target``); for a versions listing, return the newest
        version number (0: none). A 404 is an error once a publish there was answered."""
        with self.answered_lock:
            may_be_missing = kind in BEFORE_FIRST_PUBLISH and target not in self.releases
        t0 = time.monotonic()
        try:
            r = session.get(self.base + path, timeout=TIMEOUT)
        except requests.RequestException as e:
            self.tally.error(kind, _reason(e))
            session.close()
            return 0
        if r.status_code == 404 and may_be_missing:
            self.counts[f"{kind}: 404 before the first publish there"] += 1
            return 0
        if r.status_code != 200:
            self.tally.error(kind, f"HTTP {r.status_code}")
            if r.status_code >= 500:
                self.server_errors[f"{kind}: {r.text[:200]}"] += 1
            return 0
        self.tally.ok(kind, time.monotonic() - t0)
        if kind == "list versions":
            versions = r.json().get("versions") or []
            return int(versions[0]["version"]) if versions else 0
        return 0

    # -- the killer and the sampler ---------------------------------------------------------
    def killer(self, every: float) -> None:
        if every <= 0:  # no kills: the workers live all along (their RSS over the whole run)
            return
        turn = 0
        while not self.stop.wait(every):
            workers = sorted(children(self.master))
            if not workers:
                self.kills.append({"at_s": self.elapsed(), "pid": None})
                continue
            victim = workers[turn % len(workers)]
            turn += 1
            try:
                os.kill(victim, signal.SIGKILL)
                self.kills.append({"at_s": self.elapsed(), "pid": victim})
            except ProcessLookupError:
                pass

    def sampler(self) -> None:
        while True:
            now = self.elapsed()
            master = rss_mb(self.master)
            if master is not None:
                self.rss["master"].append((now, master))
            workers = []
            for pid in children(self.master):
                if (mb := rss_mb(pid)) is not None:
                    workers.append(mb)
                    self.per_worker[pid].append((now, mb))
            if workers:
                self.rss["workers_total"].append((now, sum(workers)))
                self.rss["worker_max"].append((now, max(workers)))
                self.rss["worker_mean"].append((now, sum(workers) / len(workers)))
            if self.stop.wait(RSS_EVERY):
                return

    def elapsed(self) -> float:
        return round(time.monotonic() - self.started, 1)

    def run(self, seconds: float, kill_every: float) -> None:
        threads = [threading.Thread(target=self.sampler)]
        threads += [threading.Thread(target=self.killer, args=(kill_every,))]
        threads += [
            threading.Thread(target=self.publisher, args=(k,)) for k in range(self.publishers)
        ]
        threads += [threading.Thread(target=self.reader, args=(k,)) for k in range(self.readers)]
        for t in threads:
            t.start()
        self.stop.wait(seconds)
        self.stop.set()
        for t in threads:
            t.join()


def verify(base: str, repo: Path, answered: dict[tuple[str, str, int], str]) -> dict[str, Any]:
    """Every answered version, through the API and in Git; fsck; lock files left."""
    session = requests.Session()
    api_missing, api_wrong = [], []
    for (app, release, n), commit in sorted(answered.items()):
        path = f"/api/applications/{quote(app)}/releases/{quote(release)}/versions/{n}"
        r = session.get(base + path, timeout=TIMEOUT)
        if r.status_code != 200:
            api_missing.append(f"{app}/{release}/{n}: HTTP {r.status_code}")
        elif r.json()["commit"] != commit:
            api_wrong.append(f"{app}/{release}/{n}: {r.json()['commit']} != {commit}")
    refs = _tags(repo)
    git_missing = [
        f"{app}/{release}/{n}"
        for (app, release, n), commit in sorted(answered.items())
        if refs.get(f"refs/tags/{tag_name(app, release, n)}") != commit
    ]
    fsck = subprocess.run(
        ["git", "--git-dir", str(repo), "fsck", "--full", "--no-progress"],
        capture_output=True,
        text=True,
    )
    fsck_lines = (fsck.stdout + fsck.stderr).splitlines()
    problems = [line for line in fsck_lines if not line.startswith(("dangling ", "notice: "))]
    return {
        "answered_versions": len(answered),
        "missing_through_api": api_missing[:20],
        "wrong_commit_through_api": api_wrong[:20],
        "missing_in_git_refs": git_missing[:20],
        "lost_versions": len({*api_missing, *api_wrong, *git_missing}),
        "fsck_returncode": fsck.returncode,
        "fsck_problems": problems[:20],
        "fsck_dangling": sum(line.startswith("dangling ") for line in fsck_lines),
        # Git's lock files (refs, packed-refs, config ...), not the store's own flock file
        # (permanent by design: see registry/store/locking.py)
        "lock_files_left": sorted(
            str(p.relative_to(repo)) for p in repo.rglob("*.lock") if p.name != LOCK_NAME
        ),
        "tags_in_repo": len(refs),
        # versions no answer named: a publish that landed unanswered and whose retry made
        # a version of its own (a retry answers 200 only while its content is the latest)
        "unanswered_versions": len(refs)
        - len({f"refs/tags/{tag_name(*key)}" for key in answered} & refs.keys()),
    }


def _tags(repo: Path) -> dict[str, str]:
    """Every tag -> the commit it names (peeled when a tag object is in between)."""
    out = subprocess.run(
        [
            "git",
            "--git-dir",
            str(repo),
            "for-each-ref",
            "refs/tags",
            "--format=%(refname) %(objectname) %(*objectname)",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    tags = {}
    for line in out.splitlines():
        ref, obj, peeled = [*line.split(" "), ""][:3]
        tags[ref] = peeled or obj
    return tags


def log_errors(text: str, keep: int = 5) -> list[str]:
    """The first ``keep`` distinct errors the server logged, each with its traceback's last
    lines (the exception): what a 5xx in the soak was."""
    found: list[str] = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        # the app's errors ("<time> ERROR registry: ..."), not gunicorn's "[ERROR] Worker
        # ... was sent SIGKILL" for the soak's own kills
        if " ERROR " not in line:
            continue
        tail = []
        for follow in lines[i + 1 : i + 60]:
            if follow.startswith(("[", "20")):  # the next log record (gunicorn's or ours)
                break
            tail.append(follow)
        entry = "\n".join([line, *tail[-6:]])
        if entry not in found:
            found.append(entry)
        if len(found) >= keep:
            break
    return found


def loadavg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def run(
    minutes: float = 10,
    publishers: int = 4,
    readers: int = 8,
    kill_every: float = 30,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    results: dict[str, Any] = {
        "minutes": minutes,
        "publishers": publishers,
        "readers": readers,
        "kill_every_s": kill_every,
        "workers": WORKERS,
        "load_average_at_start": loadavg(),
    }
    with tempfile.TemporaryDirectory(prefix="consign-bench-soak-") as d:
        repo = Path(d) / "registry.git"
        server_log = Path(d) / "serve.log"
        with serving(repo, workers=WORKERS, log=server_log) as (base, master):
            soak = Soak(base, master, publishers, readers)
            log(
                f"soak: {minutes} min, {publishers} publishers, {readers} readers, "
                f"a worker killed every {kill_every} s"
            )
            soak.run(minutes * 60, kill_every)
            results["load_average_at_end"] = loadavg()
            log(f"soak done: {len(soak.answered)} answered versions; verifying ...")
            results["verify"] = verify(base, repo, soak.answered)
        results["kills"] = len([k for k in soak.kills if k["pid"]])
        results["counts"] = dict(soak.counts)
        results["errors"] = dict(sorted(soak.tally.errors.items()))
        results["server_errors"] = dict(soak.server_errors.most_common(20))
        results["server_log_errors"] = log_errors(server_log.read_text(errors="replace"))
        results["latency"] = {
            k: latency_summary(v) for k, v in sorted(soak.tally.latencies.items())
        }
        results["rss_trend"] = {k: rss_trend(v) for k, v in soak.rss.items()}
        results["worker_lifetimes"] = lifetimes(soak.per_worker)
        results["rss_series"] = {k: [[t, round(mb, 2)] for t, mb in v] for k, v in soak.rss.items()}
    results["targets"] = targets(results)
    write_results("soak", results)
    return results


def targets(results: dict[str, Any]) -> dict[str, Any]:
    v, trend = results["verify"], results["rss_trend"]
    fsck_clean = v["fsck_returncode"] == 0 and not v["fsck_problems"]
    return {
        "lost_versions": {
            "value": v["lost_versions"],
            "answered_versions": v["answered_versions"],
            "target": "== 0",
            "met": v["lost_versions"] == 0,
        },
        "fsck_clean": {
            "value": fsck_clean,
            "dangling_objects": v["fsck_dangling"],
            "lock_files_left": len(v["lock_files_left"]),
            "target": "git fsck --full clean, no lock file left",
            "met": fsck_clean and not v["lock_files_left"],
        },
        "rss_growth_small": {
            **{
                name: {k: trend[name][k] for k in ("start_mb", "end_mb", "slope_mb_per_min")}
                for name in ("master", "worker_mean")
                if name in trend
            },
            "target": f"fitted growth <= max({GROWTH_FLOOR_MB} MB, {GROWTH_SHARE:.0%} of start, "
            "2 x noise), master and mean worker",
            "met": all(growth_is_small(trend[name]) for name in ("master", "worker_mean")),
        },
        "kills": results["kills"],
        "latency_p99_ms": {k: s["p99_ms"] for k, s in results["latency"].items()},
        "errors": sum(results["errors"].values()),
    }
