"""`consign status` before, during and after a deploy; `consign down`. The deploy runs
as a real `python -m consignment` subprocess so status can be asked while it waits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from consign.exit_codes import ExitCode
from tests.deployer.conftest import ROOT, scenario
from tests.deployer.helpers import consign, containers

pytestmark = pytest.mark.docker


def status(project: str) -> tuple[int, list[dict[str, object]]]:
    code, out = consign("status", "--project", project, "--json")
    return code, json.loads(out)


def test_status_before_during_and_after(tmp_path: Path, project: str) -> None:
    code, found = status(project)
    assert (code, found) == (ExitCode.FAILED, [])  # before: nothing deployed there

    path = tmp_path / "slow.yml"
    path.write_text(scenario("slow.yml"))
    argv = [sys.executable, "-m", "consignment", "deploy", "App", "Rel", "4", "--file", str(path)]
    env = {**os.environ, "CONSIGN_PROJECT": project, "CONSIGN_TIMEOUT": "120"}
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    during: list[dict[str, object]] = []
    try:
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline and not during:
            code, found = status(project)
            if found and found[0]["services"]:  # the record exists before any container
                during = found
                assert code == ExitCode.FAILED  # not healthy yet
            time.sleep(0.3)
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == ExitCode.OK, out
    assert during, "status never saw the project while the deploy was waiting"
    assert during[0]["version"] == "4" and during[0]["ok"] is False
    assert during[0]["services"]["web"]["verdict"] == "pending"  # type: ignore[index]
    assert "web healthy" in out  # plain timestamped lines: stdout is not a terminal

    code, after = status(project)
    assert code == ExitCode.OK
    assert after[0]["application"] == "App" and after[0]["release"] == "Rel"
    assert after[0]["services"] == {
        "web": {"verdict": "healthy", "exit_code": None, "detail": "healthcheck passes"}
    }
    code, text = consign("status", "--project", project)
    assert code == ExitCode.OK and "App/Rel v4" in text and "healthy" in text

    code, text = consign("down", "--project", project)
    assert code == ExitCode.OK, text
    assert containers(project) == []
    assert status(project) == (ExitCode.FAILED, [])


def test_status_reports_crash_looping(tmp_path: Path, project: str) -> None:
    path = tmp_path / "crashloop.yml"
    path.write_text(scenario("crashloop.yml"))
    code, out = consign("deploy", "--file", str(path), "--project", project, "--stable", "1")
    assert code == ExitCode.FAILED, out
    code, found = status(project)
    assert code == ExitCode.FAILED
    services = found[0]["services"]
    assert services["loop"]["verdict"] == "crash-looping"  # type: ignore[index]
    assert services["steady"]["verdict"] == "running"  # type: ignore[index]


def test_status_says_failed_then_not_running_in_words(tmp_path: Path, project: str) -> None:
    """After a failed first deploy (issue 21: it printed the version and exited 1 without
    the word), and after every container stopped."""
    path = tmp_path / "crashloop.yml"
    path.write_text(scenario("crashloop.yml"))
    code, out = consign("deploy", "Shop", "Dev", "1", "--file", str(path), "--project", project)
    assert code == ExitCode.FAILED, out
    code, text = consign("status", "--project", project)
    assert code == ExitCode.FAILED
    # (the exit code is named when the one inspect still shows it)
    assert text.startswith(f"{project}: Shop/Dev v1 failed: loop crash-looping"), text
    path.write_text(
        "services:\n  steady:\n    image: busybox:latest\n    stop_grace_period: 1s\n"
        "    command: [sleep, '100000']\n"
    )
    code, out = consign(
        "deploy", "Shop", "Dev", "2", "--file", str(path), "--project", project, "--stable", "1"
    )
    assert code == ExitCode.OK, out
    code, text = consign("status", "--project", project)
    assert (code, text.splitlines()[0]) == (ExitCode.OK, f"{project}: Shop/Dev v2 running")
    for c in containers(project):
        c.stop(timeout=1)
    code, text = consign("status", "--project", project)
    assert code == ExitCode.FAILED
    assert text.splitlines()[0] == (
        f"{project}: Shop/Dev v2 not running: steady exited (exit 137)"
    ), text
