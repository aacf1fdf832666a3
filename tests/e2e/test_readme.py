"""README's commands, copied as they are into a fresh shell, against a real `consign serve`
(and `make run` itself with CONSIGN_BIND). Lines that deploy to the engine under fixed
project names (`consign deploy`, `consign status`) are left to the deployer's own tests."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.serving import ROOT, ServedRegistry, free_port

README = ROOT / "README.md"
SKIPPED = ("make run", "consign deploy", "consign status")


def blocks() -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```", README.read_text(), flags=re.S | re.M)


def block(marker: str, address: str) -> str:
    """The README block containing ``marker``, pointed at ``address`` (host:port), without
    the lines in SKIPPED (a command continued with backslashes counts as one line)."""
    [text] = [b for b in blocks() if marker in b]
    commands = re.split(r"(?<!\\)\n", text)
    kept = [c for c in commands if not any(s in c for s in SKIPPED)]
    script = "\n".join(kept)
    return script.replace("localhost:9090", address).replace("127.0.0.1:9090", address)


def bash(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONSIGN_")}
    return subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServedRegistry]:
    with ServedRegistry(tmp_path / "registry.git", tmp_path / "serve.log") as server:
        yield server.start()


@pytest.mark.docker
def test_the_walk_through_and_git_is_the_contract(served: ServedRegistry, tmp_path: Path) -> None:
    address = f"{served.host}:{served.port}"
    walk = bash(block("curl -sX PUT", address), ROOT)
    assert walk.returncode == 0, walk.stderr
    assert "component plex-data (derived by the registry" in walk.stdout
    assert "services:\n  transmission-data:" in walk.stdout  # the descriptor YAML
    assert '"state_reason":"incomplete: plex \\u2192 bittorrent-sync-data"' in walk.stdout
    git = bash(block("git clone", address), tmp_path)
    assert git.returncode == 0, git.stderr
    assert "warning" not in git.stderr.lower(), git.stderr
    assert "TLO GE/Milestone v2: plex-data" in git.stdout


def test_make_run_honours_consign_bind(tmp_path: Path) -> None:
    """`make run` serves on CONSIGN_BIND and prints nothing alarming."""
    address = f"127.0.0.1:{free_port()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONSIGN_")}
    env |= {
        "CONSIGN_BIND": address,
        "CONSIGN_REPO": str(tmp_path / "r.git"),
        "CONSIGN_PUBLISH_TOKENS": "readme-test",  # else the (intended) open-publish warning
        "CONSIGN_WORKERS": "1",
    }
    log = (tmp_path / "make.log").open("wb")
    proc = subprocess.Popen(
        ["make", "-s", "run"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if requests.get(f"http://{address}/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        # This machine's pip configuration names index locations that may not exist
        # ("WARNING: Location ... is ignored"): pip's setting, not the project's output.
        lines = (tmp_path / "make.log").read_text().splitlines()
        output = "\n".join(line for line in lines if not line.startswith("WARNING: Location '"))
        assert proc.poll() is None, output
        assert requests.get(f"http://{address}/healthz", timeout=5).status_code == 200, output
        # the registry's own startup warnings name roles left open on purpose (no tokens here)
        ours = "TOKENS CONFIGURED: ANYONE WHO CAN REACH THIS REGISTRY CAN"
        noise = "\n".join(line for line in output.splitlines() if ours not in line)
        assert "deprecat" not in noise.lower() and "warning" not in noise.lower(), output
        assert f"on http://{address}" in output
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # make and the server it started: our session
        proc.wait(timeout=60)
        log.close()
