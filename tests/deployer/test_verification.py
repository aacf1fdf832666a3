"""Verification (issue 23) through the real thing: `consign serve` (gunicorn), the engine,
Compose. One solution of three components plus a verify component (a busybox wget checking
the API's body), over several versions: a deploy whose tests pass is `verified`; a version
whose API serves the wrong body fails its verification, is rolled back, its test's logs are
shown, exit 1 (a first deploy that fails its verification has nothing to roll back to: it
says what it left, and `consign status` fails the project until a verification passes);
`consign verify` re-runs the verification of what runs and records it;
--skip-verify records it skipped; a test that outlives --verify-timeout is stopped and timed
out. No test container is left behind."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import docker
import pytest
import requests

from tests.deployer.helpers import consign, containers, deploy
from tests.registry.conftest import b64
from tests.serving import ServedRegistry

APP, REL, ENV = "Verified Shop", "R1", "qa-verify"


def api(body: str) -> str:
    return f"""services:
  api:
    image: busybox:latest
    command:
      - sh
      - -c
      - mkdir -p /www && echo {body} > /www/index.html && exec httpd -f -p 8080 -h /www
"""


SLEEPER = """services:
  {name}:
    image: busybox:latest
    command: ["sleep", "3600"]
"""
SMOKE = """services:
  smoke:
    image: busybox:latest
    profiles: [verify]
    command:
      - sh
      - -c
      - body=$$(wget -qO- http://api:8080/); echo got $$body; test "$$body" = GOOD
"""


SLOW = """services:
  soak:
    image: busybox:latest
    profiles: [verify]
    command: ["sh", "-c", "echo soaking; exec sleep 600"]
"""


def publish(url: str, fragment: str) -> int:
    body = {"fragment": b64(fragment), "applications": [APP], "releases": [REL]}
    answer = requests.put(f"{url}/fragment", json=body, timeout=30)
    assert answer.status_code in (200, 201), answer.text
    number: int = answer.json()["versions"][0]["version"]
    return number


def history(url: str) -> list[dict[str, Any]]:
    answer = requests.get(f"{url}/api/environments/{ENV}/deployments?limit=50", timeout=30)
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["deployments"]
    return found


def leftover(project: str) -> None:
    """An exited container of the verification service, as a killed deployer leaves it."""
    labels = {"com.docker.compose.project": project, "com.docker.compose.service": "smoke",
              "io.consignment.verification": "true"}  # fmt: skip
    client = docker.from_env()
    try:
        made = client.containers.create("busybox:latest", ["false"], labels=labels,
                                        name=f"{project}-smoke-left")  # fmt: skip
        made.start()
        made.wait(timeout=30)
    finally:
        client.close()


def no_tests_left(project: str) -> None:
    left = [c.name for c in containers(project) if "smoke" in c.name or "soak" in c.name]
    assert not left, f"verification containers left behind: {left}"


@pytest.mark.docker
def test_verified_failed_rolled_back_reverified_skipped(
    served: ServedRegistry, project: str, tmp_path: Path
) -> None:
    url = served.url
    publish(url, api("GOOD"))
    publish(url, SLEEPER.format(name="web"))
    publish(url, SLEEPER.format(name="db"))
    good = publish(url, SMOKE)
    bad = publish(url, api("WRONG"))
    common = ["--registry", url, "--environment", ENV, "--project", project, "--stable", "0.5",
              "--timeout", "60", "--verify-timeout", "30"]  # fmt: skip

    # the first deploy fails its verification: nothing to roll back to, and it says so
    first_bad = deploy(tmp_path, APP, REL, str(bad), *common)
    assert first_bad.code == 1, first_bad.output
    assert (
        f"deploy failed; no rollback: nothing to roll back to ({project} had no recorded "
        f"version before this deploy): v{bad} left running, not verified (verification "
        "failed: smoke failed(1))"
    ) in first_bad.output
    code, output = consign("status", "--project", project)
    assert code == 1, output
    assert output.startswith(
        f"{project}: {APP}/{REL} v{bad} running, not verified: verification failed: smoke "
        "failed(1) (deploy at "
    ), output

    ok = deploy(tmp_path, APP, REL, str(good), *common)
    assert ok.code == 0, ok.output
    assert f"{APP}/{REL} v{good} OK, verified" in ok.output
    code, output = consign("status", "--project", project)
    assert (code, output.splitlines()[0]) == (
        0,
        f"{project}: {APP}/{REL} v{good} running, verified",
    )
    assert ok.report["outcome"] == "verified"
    assert ok.report["verification"]["status"] == "passed"
    [test] = ok.report["verification"]["tests"]
    assert test["service"] == "smoke" and test["exit_code"] == 0 and "got GOOD" in test["logs"]
    assert "verification passed (1 test)" in ok.output
    no_tests_left(project)
    first = history(url)[0]
    assert first["outcome"] == "verified" and first["version"] == good
    assert first["verification"]["tests"][0]["verdict"] == "passed"
    assert "smoke" not in {s["service"] for s in first["services"]}

    failed = deploy(tmp_path, APP, REL, str(bad), *common)
    assert failed.code == 1, failed.output
    assert failed.report["outcome"] == "verification_failed"
    assert "verification failed: smoke failed(1)" in failed.output
    assert "--- last log lines of verification test smoke (failed(1)) ---" in failed.output
    assert "got WRONG" in failed.output
    assert failed.report["rollback"]["ok"] and failed.report["rollback"]["verification"] is None
    no_tests_left(project)
    deployed, back = history(url)[1::-1]
    assert deployed["outcome"] == "verification_failed" and deployed["rolled_back_to"] == good
    assert deployed["verification"]["status"] == "failed"
    assert deployed["verification"]["tests"][0]["exit_code"] == 1
    assert back["kind"] == "rollback" and back["outcome"] == "ok" and "verification" not in back

    # a test container a killed deployer left (exited 1): status and drift do not count it,
    # the next verification removes it first
    leftover(project)
    code, output = consign("status", "--project", project, "--json")
    assert code == 0, output
    [status] = json.loads(output)
    assert status["ok"] and "smoke" not in status["services"], status
    assert status["verification"] is None  # v{good} by the rollback: verified when deployed
    code, output = consign("drift", "--environment", ENV, "--registry", url, "--project",
                           project, "--no-record")  # fmt: skip
    assert code == 0, output

    code, output = consign("verify", APP, REL, *common[:6])
    assert code == 0, output
    assert "verification passed" in output
    again = history(url)[0]
    assert again["kind"] == "verify" and again["outcome"] == "verified"
    assert again["version"] == good
    no_tests_left(project)

    # a slow test too (it would outlive --verify-timeout), deployed without verification
    slow = publish(url, SLOW)
    skipped = deploy(tmp_path, APP, REL, str(slow), *common, "--skip-verify")
    assert skipped.code == 0, skipped.output
    assert skipped.report["outcome"] == "ok"
    assert skipped.report["verification"] == {"status": "skipped", "tests": []}
    last = history(url)[0]
    assert last["outcome"] == "ok" and last["verification"]["status"] == "skipped"

    started = time.monotonic()
    code, output = consign("verify", APP, REL, *common[:6], "--verify-timeout", "3")
    assert code == 1, output
    assert time.monotonic() - started < 25  # stopped at the deadline, not awaited
    assert "verification failed: smoke failed(1), soak timed out" in output
    assert "got WRONG" in output and "soaking" in output  # both tests' logs kept
    last = history(url)[0]
    assert last["kind"] == "verify" and last["outcome"] == "verification_failed"
    assert last["version"] == slow and last["rolled_back_to"] is None  # nothing rolls back
    verdicts = {t["service"]: (t["verdict"], t["exit_code"]) for t in last["verification"]["tests"]}
    assert verdicts == {"smoke": ("failed", 1), "soak": ("timed_out", None)}
    no_tests_left(project)
    code, output = consign("status", "--project", project, "--json")
    assert code == 1, output
    [status] = json.loads(output)
    assert status["verification"]["status"] == "failed" and status["verification"]["by"] == "verify"
    assert (
        status["verification"]["summary"] == "verification failed: smoke failed(1), soak timed out"
    )
