"""`python -m bench bisect`: ``consign bisect``'s figures (issue 23).

- **Deploys used vs ⌈log2(M-N)⌉**, from the search itself (deployer/bisect/search.py) over
  every first-bad position (and "none") of every range width 1..64: the most deploys a
  search takes, and for how many widths that is one more than ⌈log2(M-N)⌉ (the widths
  M-N = 2^k: the deploy that tells "M is the first bad" from "no bad version").
- **Wall time for 20 versions of the test solution** (tests/deployer/bisect/
  test_bisect_engine.py: 4 busybox components, api's 4th build breaks its body, two
  versions incomplete), judged two ways, ``rounds`` times each: by ``--run`` (the 24
  versions published, version 4 deployed, then `consign bisect --good 4 --bad 24 --run
  ...`) and by verification alone (QA's smoke test published first as v1, so 5..25, its
  ${SMOKE_TOKEN} from ``--env-file``): a fresh `consign serve` each, timed end to end (the
  leave deploy back to the version found included).
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


def one_round(judge: str) -> dict[str, Any]:
    """One bisection of the test solution, judged by ``run`` (--run) or ``verification``."""
    from tests.deployer.bisect.test_bisect_engine import APP, REL, SEQUENCE, TOKEN, publish_all

    project = f"bench-bisect-{secrets.token_hex(3)}"
    verified = judge == "verification"
    offset = 1 if verified else 0  # the smoke test is v1: every version one higher
    good, bad = 4 + offset, 24 + offset
    with tempfile.TemporaryDirectory() as folder, serve(Path(folder) / "r.git", workers=2) as url:
        publish_all(url, [("smoke", ""), *SEQUENCE] if verified else SEQUENCE)
        env_file = Path(folder) / "bisect.env"
        env_file.write_text(f"SMOKE_TOKEN={TOKEN}\n", encoding="utf-8")
        env_file.chmod(0o600)
        common = ["--registry", url, "--environment", f"{project}-qa", "--project", project,
                  "--stable", "0.5", "--timeout", "60", "--lock-wait", "5",
                  "--env-file", str(env_file), "--verify-timeout", "60"]  # fmt: skip
        check = 'docker exec "$CONSIGN_BISECT_PROJECT-api-1" cat /www/index.html | grep -qx good'
        judged_by = [] if verified else ["--run", check]
        try:
            deployed = _consign("deploy", APP, REL, str(good), *common)
            assert deployed.returncode == 0, deployed.stdout + deployed.stderr
            started = time.monotonic()
            done = _consign("bisect", APP, REL, "--good", str(good), "--bad", str(bad),
                            *judged_by, "--json", *common)  # fmt: skip
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
    return {"judge": judge, "seconds": seconds, "deploys": result["deploys"],
            "first_bad": result["first_bad"], "steps": result["steps"],
            "headline": result["headline"]}  # fmt: skip


def run(rounds: int = 3) -> dict[str, Any]:
    figures = search_figures()
    # alternated, so the machine's load falls on both alike
    walls = [one_round(judge) for _ in range(rounds) for judge in ("run", "verification")]
    by_run = [w for w in walls if w["judge"] == "run"]
    by_verification = [w for w in walls if w["judge"] == "verification"]
    data: dict[str, Any] = {
        "search": figures,
        "rounds": walls,
        "load": os.getloadavg(),
        "targets": {
            "deploys_20_versions": by_run[0]["deploys"],
            "deploys_20_versions_by_verification": by_verification[0]["deploys"],
            "ceil_log2_20": math.ceil(math.log2(20)),
            "wall_seconds_p50": round(statistics.median(w["seconds"] for w in by_run), 2),
            "wall_seconds_p50_by_verification": round(
                statistics.median(w["seconds"] for w in by_verification), 2
            ),
            "widths_1_64_over_ceil_log2": figures["widths_over_ceil_log2"],
            "max_over_ceil_log2": figures["max_over"],
        },
    }
    write_results("bisect", data)
    return data
