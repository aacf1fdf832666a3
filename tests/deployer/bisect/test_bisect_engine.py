"""`consign bisect` on the real engine against a real `consign serve`: 20 versions of a
4-component solution plus QA's smoke test (a verify component, published first) where one
build of one component breaks it (two versions in the range incomplete), judged by its
verification alone (the smoke test's ${SMOKE_TOKEN} from `--env-file`, never shown); then
by `--run` checking the deployed service's body over the first bad version (`--leave bad`);
then a range with no bad version, with a `--run` exit 125 skip and `--leave good`. Tiny
busybox services with no healthcheck and SIGKILL to stop them keep each deploy short; one
solution and one registry for all three keep the test's time down."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from click.testing import CliRunner

from consign.exit_codes import ExitCode
from consign.secrets.masker import MASK
from consignment.cli import main
from tests.deployer.helpers import containers, recorded
from tests.registry.conftest import b64
from tests.serving import ServedRegistry

pytestmark = pytest.mark.skipif(
    not os.path.exists("/var/run/docker.sock") and not os.environ.get("CONSIGN_REQUIRE_DOCKER"),
    reason="needs a Docker engine",
)

APP, REL = "Bisect Shop", "Milestone"
PLANS = {
    "web": "TLO-WEB",
    "api": "TLO-API",
    "db": "TLO-DB",
    "cache": "TLO-CACHE",
    "smoke": "QA-SMOKE",
}
#: The solution alone (bench/bisect.py's --run figures): v1..v4 publish each component
#: once; v5..v24 one build each. api's 4th build (v14) breaks its body; v9 and v17 are
#: incomplete (a fragment naming a service nobody provides, fixed by the next publish of
#: the same component). The test publishes VERIFIED: each of these one version higher.
SEQUENCE = [
    ("web", ""), ("api", ""), ("db", ""), ("cache", ""),
    ("web", ""), ("api", ""), ("db", ""), ("cache", ""), ("web", "ghost"), ("web", ""),
    ("api", ""), ("db", ""), ("cache", ""), ("api", ""), ("web", ""), ("db", ""),
    ("cache", "ghost"), ("cache", ""), ("api", ""), ("web", ""), ("db", ""), ("cache", ""),
    ("api", ""), ("web", ""),
]  # fmt: skip
FIRST_BAD, API_BREAKS_AT = 14, 4
#: QA's smoke test: the verify component, published before the solution (VERIFIED).
#: It says the token it was given (its logs reach the report and the ledger: masked there).
SMOKE = """services:
  smoke:
    image: busybox:latest
    profiles: [verify]
    environment:
      SMOKE_TOKEN: ${SMOKE_TOKEN}
    command:
      - sh
      - -c
      - >-
        echo "token $$SMOKE_TOKEN"; test -n "$$SMOKE_TOKEN" || exit 3;
        body=$$(wget -qO- http://api:8080/); echo "got $$body"; test "$$body" = good
"""
TOKEN = "s3cr3t-smoke-token-4711"
#: What the test publishes: the smoke test as v1, so the solution's versions are one higher.
VERIFIED = [("smoke", ""), *SEQUENCE]


def fragment(component: str, build: int, ghost: str) -> str:
    if component == "smoke":
        return SMOKE
    body = "broken" if component == "api" and build >= API_BREAKS_AT else "good"
    depends = f"    depends_on: [{ghost}]\n" if ghost else ""
    serve = f"mkdir -p /www && echo {body} > /www/index.html && exec httpd -f -p 8080 -h /www"
    return (
        f"services:\n  {component}:\n    image: busybox:latest\n    stop_signal: SIGKILL\n"
        f"    command: ['sh', '-c', '{serve}']\n{depends}"
    )


def publish_all(url: str, sequence: list[tuple[str, str]]) -> None:
    counts: dict[str, int] = {}
    for component, ghost in sequence:
        counts[component] = counts.get(component, 0) + 1
        n = counts[component]
        build = {
            "plan": PLANS[component], "number": str(n),
            "revision": f"{n:02d}{component}".encode().hex().ljust(40, "0")[:40],
            "url": f"https://bamboo.example/browse/{PLANS[component]}-{n}",
        }  # fmt: skip
        body = {
            "fragment": b64(fragment(component, n, ghost)), "applications": [APP],
            "releases": [REL], "component": component, "build": build,
        }  # fmt: skip
        answer = requests.put(f"{url}/fragment", json=body, timeout=30)
        assert answer.status_code == 201, answer.text


def consign(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def shop(served: ServedRegistry, prefix: str, projects: list[str]) -> Iterator[dict[str, str]]:
    """QA's smoke test as v1, then the solution: its versions are one higher (5..25)."""
    projects.append(prefix)
    publish_all(served.url, VERIFIED)
    yield {"url": served.url, "project": prefix, "environment": f"{prefix}-qa"}


def common(shop: dict[str, str]) -> list[str]:
    return [
        "--registry", shop["url"], "--environment", shop["environment"], "--project",
        shop["project"], "--stable", "0.5", "--timeout", "60", "--lock-wait", "2",
    ]  # fmt: skip


def history(shop: dict[str, str]) -> list[dict[str, Any]]:
    env = quote(shop["environment"])
    answer = requests.get(f"{shop['url']}/api/environments/{env}/deployments?limit=100", timeout=30)
    assert answer.status_code == 200, answer.text
    return list(reversed(answer.json()["deployments"]))


def test_bisect_by_verification_then_by_run(shop: dict[str, str], tmp_path: Path) -> None:
    env_file = tmp_path / "bisect.env"
    env_file.write_text(f"SMOKE_TOKEN={TOKEN}\n", encoding="utf-8")
    env_file.chmod(0o600)
    good, bad, first_bad = 4 + 1, 24 + 1, FIRST_BAD + 1
    settings = [*common(shop), "--env-file", str(env_file), "--verify-timeout", "30"]
    code, out, err = consign("deploy", APP, REL, str(good), *settings)
    assert code == 0, out + err
    # no --run: each step judged by its deploy's verification, and recorded so
    code, out, err = consign(
        "bisect", APP, REL, "--good", str(good), "--bad", str(bad), "--json",
        "--reject", "DEF-4711", *settings,
    )  # fmt: skip
    assert code == ExitCode.OK, out + err
    result = json.loads(out)
    assert result["first_bad"] == first_bad and result["last_good"] == first_bad - 1
    assert result["headline"].startswith(f"first bad: #{first_bad}: api TLO-API #4 (was #3), vcs ")
    [api] = result["changes"]
    assert api["url"] == "https://bamboo.example/browse/TLO-API-4"
    assert api["previous_url"] == "https://bamboo.example/browse/TLO-API-3"
    assert result["deploys"] <= math.ceil(math.log2(bad - good)) + 2
    by_verdict = {v: [s for s in result["steps"] if s["verdict"] == v] for v in ("good", "bad")}
    assert by_verdict["good"] and by_verdict["bad"]
    assert all(s["why"] == "verification passed" for s in by_verdict["good"])
    assert all(s["why"] == "verification failed: smoke failed (exit 1)" for s in by_verdict["bad"])
    skipped = [s for s in result["steps"] if s["verdict"] == "skip"]
    assert skipped and all(not s["deployed"] and "incomplete" in s["why"] for s in skipped)
    # the ledger: every step's verdict from its verification, the environment left as found
    records = history(shop)
    steps = [r for r in records if (r.get("bisect") or "").startswith("bisect step")]
    judged = [s for s in result["steps"] if s["deployed"]]
    assert [r["version"] for r in steps] == [s["version"] for s in judged]
    word = {"good": "verified", "bad": "verification_failed"}
    assert [r["outcome"] for r in steps] == [word[s["verdict"]] for s in judged]
    for r in steps:
        [test] = r["verification"]["tests"]
        assert test["service"] == "smoke" and f"token {MASK}" in test["logs"], test
        assert (test["verdict"] == "passed") == (r["outcome"] == "verified")
    assert recorded(shop["project"]).version == str(good) and result["left_on"] == good
    last = records[-1]
    assert (last["version"], last["outcome"]) == (good, "verified")
    assert last["bisect"] == f"bisect: leaving {shop['environment']} on v{good}"
    assert not [c.name for c in containers(shop["project"]) if "smoke" in c.name]
    # the env file's value reached the smoke test, and nowhere else
    assert TOKEN not in out + err and TOKEN not in json.dumps(records)
    # rejected at the gate with the reason; the lock is given back
    version = requests.get(
        f"{shop['url']}/api/applications/{quote(APP)}/releases/{REL}/versions/{first_bad}",
        timeout=30,
    ).json()
    assert version["rejected"]["reason"] == "DEF-4711"
    env = quote(shop["environment"])
    lock = requests.get(f"{shop['url']}/api/environments/{env}/lock", timeout=30)
    assert lock.status_code == 404 or lock.json().get("lock") is None, lock.text
    # --run: the first bad version's own tests fail, yet it runs (a step is never rolled
    # back), so the command judges it rather than call it "not deployed"; --leave bad
    check = 'docker exec "$CONSIGN_BISECT_PROJECT-api-1" cat /www/index.html | grep -qx good'
    code, out, err = consign(
        "bisect", APP, REL, "--good", str(first_bad - 2), "--bad", str(first_bad + 1),
        "--run", check, "--leave", "bad", *settings,
    )  # fmt: skip
    assert code == ExitCode.OK, out + err
    said = out + err
    assert f"version {first_bad - 1} is good: --run exited 0" in said
    assert f"version {first_bad} is BAD: --run exited 1 (its own verification failed: " in said
    assert f"left {shop['environment']} on version {first_bad}, which fails: verification" in said
    assert recorded(shop["project"]).version == str(first_bad)
    last = history(shop)[-1]
    assert (last["version"], last["outcome"]) == (first_bad, "verification_failed")
    assert TOKEN not in said
    # a range with no bad version, one version skipped by --run exit 125, --leave good
    skip = f'[ "$CONSIGN_BISECT_VERSION" = {good + 2} ] && exit 125; {check}'
    code, out, err = consign(
        "bisect", APP, REL, "--good", str(good), "--bad", str(good + 3), "--run", skip,
        "--leave", "good", *settings,
    )  # fmt: skip
    assert code == ExitCode.NO_BAD_VERSION, out + err
    assert f"no bad version in {good}..{good + 3}" in out
    assert f"version {good + 2} is skipped: --run exited 125" in out + err
    assert recorded(shop["project"]).version == str(good + 3)
