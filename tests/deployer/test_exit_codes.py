"""Each exit code for what causes it, on the real engine: 4 for a descriptor the engine
refuses to parse, 130 for Ctrl-C (SIGINT to a running deploy, Compose stopped, the
rollback decision stated). 5 and 6 are in test_cli.py, 1 and 3 in the scenarios."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from consign.exit_codes import ExitCode
from tests.deployer.conftest import ROOT
from tests.deployer.helpers import consign, containers, recorded

pytestmark = pytest.mark.docker


def test_an_image_reference_the_engine_cannot_parse_is_an_invalid_descriptor(
    tmp_path: Path, project: str
) -> None:
    path = tmp_path / "d.yml"
    path.write_text(
        "services:\n  web:\n    image: shop/web:${TAG}\n  ok:\n    image: busybox:latest\n"
    )
    env = {"TAG": ""}  # as when CI forgot to set it
    code, out = consign("deploy", "--file", str(path), "--project", project, env=env)
    assert code == ExitCode.INVALID_DESCRIPTOR, out
    assert "service web: 'shop/web:' is not a valid image reference (an empty tag" in out
    assert containers(project) == [] and recorded(project) is None  # nothing started


def _compose_children(project: str) -> list[str]:
    """Command lines of running processes that name the project (a Compose left behind)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        text = " ".join(a.decode(errors="replace") for a in argv)
        if project in text and " up " in f" {text} ":
            found.append(text)
    return found


def test_ctrl_c_stops_compose_states_the_rollback_decision_and_exits_130(
    tmp_path: Path, project: str
) -> None:
    path = tmp_path / "d.yml"
    path.write_text(
        """services:
  first:
    image: busybox:latest
    stop_grace_period: 1s
    command: ["sleep", "100000"]
    healthcheck:
      test: ["CMD", "false"]
      interval: 1s
      retries: 1000
  second:
    image: busybox:latest
    stop_grace_period: 1s
    command: ["sleep", "100000"]
    depends_on:
      first:
        condition: service_healthy
"""
    )
    argv = [sys.executable, "-m", "consignment", "deploy", "A", "R", "1", "--file", str(path)]
    env = {**os.environ, "CONSIGN_PROJECT": project, "CONSIGN_TIMEOUT": "300"}
    proc = subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # Compose now waits for `first` to become healthy
            if ": first pending" in line:
                break
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == ExitCode.INTERRUPTED, out + err
    assert err.strip().startswith("error: interrupted: Compose was stopped;"), err
    assert "no rollback was done" in err and len(err.strip().splitlines()) == 1
    assert _compose_children(project) == []  # Compose did not outlive the deploy
    assert recorded(project).version == "1"  # the record says what the project is at
