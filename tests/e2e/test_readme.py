"""README's commands, copied as they are into a fresh shell: the walk-through, every line of
it (`make run &` with CONSIGN_BIND and CONSIGN_REPO, the deploy of a complete version to a
healthy verdict, the incomplete `latest` refused), then the Git block against the registry
the walk started."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.serving import ROOT, free_port

README = ROOT / "README.md"
WALK_PROJECT = "shop-dev"  # the Compose project the walk deploys (and removes)
WALK_IMAGE = "consign-walk/web:1"  # the image the walk builds


def blocks() -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```", README.read_text(), flags=re.S | re.M)


def block(marker: str, address: str) -> str:
    """The README block containing ``marker``, pointed at ``address`` (host:port)."""
    [text] = [b for b in blocks() if marker in b]
    return text.replace("localhost:9090", address).replace("127.0.0.1:9090", address)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONSIGN_")}
    return env | extra


def bash(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )


class Walk:
    """The walk-through's block run by bash in its own session, output to files (its
    `make run &` outlives bash, holding any pipe open): ended with the whole session."""

    def __init__(self, tmp_path: Path) -> None:
        self.address = f"127.0.0.1:{free_port()}"
        self.out, self.err = tmp_path / "walk.out", tmp_path / "walk.err"
        self.env = clean_env(
            CONSIGN_BIND=self.address,
            CONSIGN_REPO=str(tmp_path / "registry.git"),
            CONSIGN_WORKERS="1",
            CONSIGN_SPOOL=str(tmp_path / "spool"),
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def run(self, timeout: float = 400) -> int:
        script = block("curl -sX PUT", self.address)
        with self.out.open("wb") as out, self.err.open("wb") as err:
            self.proc = subprocess.Popen(
                ["bash", "-e", "-o", "pipefail", "-c", script],
                cwd=ROOT, env=self.env, stdout=out, stderr=err, start_new_session=True,
            )  # fmt: skip
            return self.proc.wait(timeout=timeout)

    def end(self) -> None:
        """SIGTERM to the session (make, consign serve, gunicorn), then wait for the port."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)
        os.killpg(self.proc.pid, signal.SIGKILL)


def remove_walk_containers() -> None:
    """Whatever a failed walk left of its project (a passing walk removes it itself)."""
    found = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={WALK_PROJECT}"],
        capture_output=True, text=True, timeout=60,
    ).stdout.split()  # fmt: skip
    if found:
        subprocess.run(["docker", "rm", "-f", "-v", *found], capture_output=True, timeout=120)
    subprocess.run(
        ["docker", "network", "rm", f"{WALK_PROJECT}_default"], capture_output=True, timeout=60
    )


def image_exists(ref: str) -> bool:
    probe = subprocess.run(["docker", "image", "inspect", ref], capture_output=True, timeout=60)
    return probe.returncode == 0


@pytest.mark.docker
@pytest.mark.slow
def test_the_walk_through_every_command_and_git_is_the_contract(tmp_path: Path) -> None:
    had_image = image_exists(WALK_IMAGE)
    walk = Walk(tmp_path)
    try:
        code = walk.run()
        out, err = walk.out.read_text(), walk.err.read_text()
        assert code == 0, f"{out}\n{err}"
        assert "component plex-data (derived by the registry" in out
        assert "services:\n  transmission-data:" in out  # the descriptor YAML
        assert '"state_reason":"incomplete: plex \\u2192 bittorrent-sync-data"' in out
        # the complete version deploys to a healthy verdict, and `status` says so
        assert "deploy shop-dev: Shop/Dev v1 OK" in out, out
        assert re.search(r"migrate\s.*completed", out) and re.search(r"web\s.*healthy", out)
        assert re.search(r"^  web\s+healthy", out, flags=re.M), out  # consign status
        # the incomplete latest: exit 4, saying why, nothing started
        assert "exit 4" in out
        assert 'service "plex" depends on undefined service "bittorrent-sync-data"' in err
        assert "removed project shop-dev" in out
        left = subprocess.run(
            ["docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={WALK_PROJECT}"],
            capture_output=True, text=True, timeout=60,
        ).stdout  # fmt: skip
        assert left == "", "the walk's `consign down` left containers"
        git = bash(block("git clone", walk.address), tmp_path)
        assert git.returncode == 0, git.stderr
        assert "warning" not in git.stderr.lower(), git.stderr
        assert "TLO GE/Milestone v2: plex-data" in git.stdout
    finally:
        walk.end()
        remove_walk_containers()
        if not had_image:
            subprocess.run(["docker", "image", "rm", WALK_IMAGE], capture_output=True, timeout=60)


def test_make_run_honours_consign_bind(tmp_path: Path) -> None:
    """`make run` serves on CONSIGN_BIND and prints nothing alarming."""
    address = f"127.0.0.1:{free_port()}"
    env = clean_env(
        CONSIGN_BIND=address,
        CONSIGN_REPO=str(tmp_path / "r.git"),
        CONSIGN_PUBLISH_TOKENS="readme-test",  # else the (intended) open-publish warning
        CONSIGN_WORKERS="1",
    )
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
