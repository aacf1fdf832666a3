"""Housekeeping under growth: a geometric repack against ``git gc --auto``, side by side.

Two repositories grow at once, in-process, through the same store code, to ``--scale-to``
versions (the shape of :mod:`bench.scale`: releases of 100 versions, 5 components): one
with today's housekeeping (``git repack -d --geometric=2`` past 50 packs), one with the
previous one (``git gc --auto``, which repacks everything past 50 packs; selected here as
on a Git older than 2.32). Publishes alternate in blocks of ``BLOCK``, geometric then
gc-auto, so that machine noise hits both alike. Every publish is timed; a publish that ran
housekeeping counts as a pause. Figures: publish p50/p99, longest and total pause, the
packs held at each 1,000 versions, then descriptor reads of random versions from a fresh
reader (and, on the geometric repository, the same reads with a multi-pack index, to see
whether one would help). Without fsync (``durable=False``), like the scale fill: the
figure of interest is housekeeping's share, not the disk's.
"""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import percentile, summary_ms, write_results
from bench.scale import COMPONENTS, PER_RELEASE, _fragment
from consign.compose.fragments import parse_fragment
from consign.process import run as run_command
from registry.store import DescriptorStore, Target
from registry.store.housekeeping import Housekeeper, pack_count

APPS = 10
BLOCK = 100  # publishes per repository before switching to the other
READS = 300
MODES: dict[str, tuple[int, int] | None] = {"geometric": None, "gc_auto": (2, 31)}


class Grower:
    """One repository growing version by version, its publishes timed."""

    def __init__(self, path: Path, git_version: tuple[int, int] | None) -> None:
        self.path = path
        self.store = DescriptorStore(path, durable=False)
        keeper = Housekeeper(self.store.repository.path, git_version=git_version)
        self.store.repository.housekeeper = self.store.housekeeper = keeper
        self.keeper = keeper
        self.versions = 0
        self.samples: list[float] = []
        self.pauses: list[float] = []
        self.packs: dict[int, int] = {}
        self.window: list[float] = []  # pauses since the last 1,000 versions
        self.pauses_at: dict[int, float] = {}  # mean pause (ms) of each 1,000 versions

    def publish(self) -> None:
        k, build = divmod(self.versions, PER_RELEASE)
        target = Target(f"App {k % APPS}", f"R{k // APPS:04d}")
        i = build % COMPONENTS
        text = _fragment(i, build)
        spec, _ = parse_fragment(text)
        runs = self.keeper.runs
        t0 = time.perf_counter()
        self.store.publish([target], f"svc-{i}", text, spec, {"buildNumber": build})
        took = time.perf_counter() - t0
        self.versions += 1
        self.samples.append(took)
        if self.keeper.runs != runs:
            self.pauses.append(took)
            self.window.append(took)
        if self.versions % 1000 == 0:
            self.packs[self.versions] = pack_count(self.path)
            mean = sum(self.window) / len(self.window) if self.window else 0.0
            self.pauses_at[self.versions] = round(mean * 1000, 1)
            self.window = []

    def figures(self) -> dict[str, Any]:
        return {
            "publish": summary_ms(self.samples)
            | {"p99_ms": round(percentile(self.samples, 0.99) * 1000, 2)},
            "housekeeping_runs": len(self.pauses),
            "longest_pause_ms": round(max(self.pauses, default=0.0) * 1000, 1),
            "total_pause_s": round(sum(self.pauses), 2),
            "packs_at": self.packs,
            "mean_pause_ms_at": self.pauses_at,
            "packs_end": pack_count(self.path),
        }


def reads(path: Path, versions: int, seed: int) -> list[float]:
    """Numbered descriptor reads of random versions from a reader that has read nothing."""
    pick = random.Random(seed)
    reader = DescriptorStore(path)
    samples = []
    try:
        for _ in range(READS):
            k, build = divmod(pick.randrange(versions), PER_RELEASE)
            t0 = time.perf_counter()
            reader.descriptor(f"App {k % APPS}", f"R{k // APPS:04d}", build + 1)
            samples.append(time.perf_counter() - t0)
    finally:
        reader.close()
    return samples


def run(scale_to: int = 10_000, log: Callable[[str], None] = print) -> dict[str, Any]:
    results: dict[str, Any] = {"versions": scale_to, "block": BLOCK}
    with tempfile.TemporaryDirectory(prefix="consign-housekeeping-") as d:
        growers = {name: Grower(Path(d) / f"{name}.git", v) for name, v in MODES.items()}
        while any(g.versions < scale_to for g in growers.values()):
            for g in growers.values():
                for _ in range(min(BLOCK, scale_to - g.versions)):
                    g.publish()
            done = next(iter(growers.values())).versions
            if done % 1000 == 0:
                log(
                    f"  {done} versions: "
                    + ", ".join(
                        f"{n} {g.packs.get(done)} packs, pauses {g.pauses_at.get(done)} ms"
                        for n, g in growers.items()
                    )
                )
        for name, g in growers.items():
            g.store.close()
            results[name] = g.figures()
        geometric = growers["geometric"].path
        read_samples: dict[str, list[float]] = {"geometric": [], "gc_auto": []}
        for r in range(3):  # alternating
            for name, g in growers.items():
                read_samples[name] += reads(g.path, scale_to, seed=r)
        run_command(["git", "--git-dir", str(geometric), "multi-pack-index", "write"])
        midx: list[float] = []
        for r in range(3):
            midx += reads(geometric, scale_to, seed=r)
        results["reads"] = {n: summary_ms(s) for n, s in read_samples.items()}
        results["reads"]["geometric_with_midx"] = summary_ms(midx)
    results["targets"] = {
        name: {
            "publish_p50_ms": results[name]["publish"]["p50_ms"],
            "publish_p99_ms": results[name]["publish"]["p99_ms"],
            "longest_pause_ms": results[name]["longest_pause_ms"],
            "packs_end": results[name]["packs_end"],
        }
        for name in MODES
    }
    write_results("housekeeping", results)
    return results
