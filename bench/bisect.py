"""`python -m bench bisect`: ``consign bisect``'s figures (issue 23).

- **Deploys used vs ⌈log2(M-N)⌉**, from the search itself (deployer/bisect/search.py) over
  every first-bad position (and "none") of every range width 1..64: the most deploys a
  search takes, and for how many widths that is one more than ⌈log2(M-N)⌉ (the widths
  M-N = 2^k: the deploy that tells "M is the first bad" from "no bad version").
- **Wall time for 20 versions of the test solution** (tests/deployer/bisect/
  test_bisect_engine.py: 4 busybox components, api's 4th build breaks its body, two
  versions incomplete): a fresh `consign serve`, the 24 versions published, version 4
  deployed, then `consign bisect --good 4 --bad 24 --run ...` timed end to end (the leave
  deploy back to version 4 included), ``rounds`` times.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import ROOT, serve, write_results
from deployer.bisect.search import Bisection, Judgement, StepVerdict


def _deploys(good: int, bad: int, first: int | None) -> int:
    def judge(version: int, step: int) -> Judgement:
        broken = first is not None and version >= first
        return Judgement(StepVerdict.BAD if broken else StepVerdict.GOOD, "")

    return Bisection(good, bad, judge).run().deploys


def search_figures(widest: int = 64) -> dict[str, Any]:
    rows = []
    for width in range(1, widest + 1):
        worst = max(
            _deploys(0, width, first if first <= width else None) for first in range(1, width + 2)
        )
        rows.append(
            {
                "width": width,
                "max_deploys": worst,
                "ceil_log2": math.ceil(math.log2(width)) if width > 1 else 0,
            }
        )
    over = [r["width"] for r in rows if r["max_deploys"] > r["ceil_log2"]]
    return {"rows": rows, "widths_over_ceil_log2": over, "max_over": max(
        r["max_deploys"] - r["ceil_log2"] for r in rows)}  # fmt: skip


def _consign(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "consignment", *args],
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip


def one_round() -> dict[str, Any]:
    from tests.deployer.bisect.test_bisect_engine import APP, REL, publish_all

    project = f"bench-bisect-{secrets.token_hex(3)}"
    with tempfile.TemporaryDirectory() as folder, serve(Path(folder) / "r.git", workers=2) as url:
        publish_all(url)
        common = ["--registry", url, "--environment", f"{project}-qa", "--project", project,
                  "--stable", "0.5", "--timeout", "60", "--lock-wait", "5"]  # fmt: skip
        try:
            deployed = _consign("deploy", APP, REL, "4", *common)
            assert deployed.returncode == 0, deployed.stdout + deployed.stderr
            check = 'docker exec "$CONSIGN_BISECT_PROJECT-api-1" cat /body | grep -qx good'
            started = time.monotonic()
            done = _consign("bisect", APP, REL, "--good", "4", "--bad", "24", "--run", check,
                            "--json", *common)  # fmt: skip
            seconds = time.monotonic() - started
            assert done.returncode == 0, done.stdout + done.stderr
            result = json.loads(done.stdout)
        finally:
            subprocess.run(["docker", "compose", "-p", project, "down", "-v", "-t", "0"],
                           capture_output=True, check=False, timeout=120)  # fmt: skip
            for key in ("record-of", "environment-of"):
                label = f"label=io.consignment.{key}={project}"
                listed = subprocess.run(
                    ["docker", "volume", "ls", "-q", "--filter", label],
                    capture_output=True, text=True, check=False,
                )  # fmt: skip
                if names := listed.stdout.split():
                    subprocess.run(
                        ["docker", "volume", "rm", "-f", *names], capture_output=True, check=False
                    )
    return {"seconds": seconds, "deploys": result["deploys"], "first_bad": result["first_bad"],
            "steps": result["steps"], "headline": result["headline"]}  # fmt: skip


def run(rounds: int = 3) -> dict[str, Any]:
    figures = search_figures()
    walls = [one_round() for _ in range(rounds)]
    data: dict[str, Any] = {
        "search": figures,
        "rounds": walls,
        "load": os.getloadavg(),
        "targets": {
            "deploys_20_versions": walls[0]["deploys"],
            "ceil_log2_20": math.ceil(math.log2(20)),
            "wall_seconds_p50": round(statistics.median(w["seconds"] for w in walls), 2),
            "widths_1_64_over_ceil_log2": figures["widths_over_ceil_log2"],
            "max_over_ceil_log2": figures["max_over"],
        },
    }
    write_results("bisect", data)
    return data
