"""Secrets resolved on the deploy host and never written down (issue 24), through the real
components: `consign serve` under gunicorn (its log captured), `consign publish`, Compose,
the engine, the ledger and the spool.

One scenario, two canaries: one supplied by --env-file, one by the environment (a
secret-looking name). Version 1 runs them; version 2 prints both in its log and fails, so
its logs are printed, reported and recorded, and the rollback to version 1 needs the
variables again. Afterwards no byte of either canary is found in the output, the report,
the ledger's records (API and UI), the registry's log, any ref of the registry's
repository, or any file the deploys wrote (workdir, spool, report, registry).
"""

from __future__ import annotations

import json
import secrets
import subprocess
from pathlib import Path

import pytest
import requests

from consign.exit_codes import ExitCode
from consign.secrets.masker import MASK
from tests.deployer.helpers import consign, containers
from tests.e2e.serve import publish
from tests.serving import ServedRegistry

pytestmark = [pytest.mark.docker, pytest.mark.slow]

VERSION = """services:
  app:
    image: busybox:latest
    command: ["sh", "-c", "{command}"]
    stop_grace_period: 1s
    environment:
      DB_PASSWORD: ${{DB_PASSWORD}}
      API_TOKEN: ${{API_TOKEN:?the API token}}
      MODE: ${{MODE:-plain}}
      PIN: ${{PIN}}
      LEVEL: ${{LOG_LEVEL}}
"""
RUNS = "test -n $$DB_PASSWORD && test -n $$API_TOKEN && exec sleep 100000"
FAILS = (
    "echo db=$$DB_PASSWORD token=$$API_TOKEN; echo both: $$DB_PASSWORD/$$API_TOKEN >&2; "
    "exec sleep 100000"
)
#: Version 2's healthcheck prints a canary and fails: its output is the recorded detail.
UNHEALTHY = """    healthcheck:
      test: ["CMD-SHELL", "echo check $$API_TOKEN; exit 1"]
      interval: 1s
      retries: 1
"""


def fragments(canary: str, size: int = 12) -> list[str]:
    """Every piece of the canary's random part long enough to tell it (a wrapped or cut
    value leaves pieces, not the whole)."""
    secret = canary.removeprefix("s3cr3t-canary-")
    return [secret[i : i + size] for i in range(len(secret) - size + 1)]


def _files_holding(root: Path, needles: list[bytes], skip: Path) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink() and skip not in path.parents:
            data = path.read_bytes()
            found += [f"{path}: {n.decode()}" for n in needles if n in data][:1]
    return found


def test_canaries_reach_the_containers_and_nothing_else(tmp_path: Path, project: str) -> None:
    on_file = f"s3cr3t-canary-{secrets.token_hex(6)}"
    # long, so the final table must wrap it: a value broken across lines is masked too
    in_env = f"s3cr3t-canary-{secrets.token_hex(32)}"
    canaries = [piece.encode() for c in (on_file, in_env) for piece in fragments(c)]
    private = tmp_path / "private"  # the host's secrets: the one place they may be
    private.mkdir()
    env_file = private / "deploy.env"
    env_file.write_text(
        f"# the deploy host's secrets\nDB_PASSWORD='{on_file}'\nPIN=12\nLOG_LEVEL=\n"
    )
    env_file.chmod(0o600)

    with ServedRegistry(tmp_path / "registry.git", tmp_path / "serve.log", workers=2) as server:
        registry = server.start()
        for n, command in ((1, RUNS), (2, FAILS)):
            fragment = tmp_path / f"v{n}.yml"
            fragment.write_text(VERSION.format(command=command) + (UNHEALTHY if n == 2 else ""))
            build = {"bamboo_planKey": "HID-APP", "bamboo_buildNumber": str(n)}
            publish(registry.url, fragment, "Hid", "R1", component="app", build=build)

        environment = f"hid-{project}"
        common = [
            "--registry", registry.url, "--project", project, "--environment", environment,
            "--workdir", str(tmp_path / "work"), "--spool", str(tmp_path / "spool"),
            "--stable", "1", "--timeout", "60",
        ]  # fmt: skip
        env = {"API_TOKEN": in_env, "CONSIGN_ENV_FILE": str(env_file)}
        outputs: list[str] = []

        # a needed variable nobody supplies: exit 4 before anything starts, named, no value
        code, out = consign(
            "deploy", "Hid", "R1", "1", *common, env={"CONSIGN_ENV_FILE": str(env_file)}
        )
        outputs.append(out)
        assert code == ExitCode.INVALID_DESCRIPTOR, out
        assert "API_TOKEN (used by service app)" in out and "DB_PASSWORD" not in out
        assert containers(project) == []

        # a secret set to an empty value (the environment wins over the file): exit 4 too
        code, out = consign("deploy", "Hid", "R1", "1", *common, env={**env, "DB_PASSWORD": ""})
        outputs.append(out)
        assert code == ExitCode.INVALID_DESCRIPTOR, out
        assert "error: empty secrets:" in out and "DB_PASSWORD (used by service app)" in out
        assert containers(project) == []

        # an env file others can read: exit 2, nothing started
        env_file.chmod(0o640)
        code, out = consign("deploy", "Hid", "R1", "1", *common, env=env)
        outputs.append(out)
        assert code == ExitCode.USAGE and "mode 0640" in out, out
        env_file.chmod(0o600)
        assert containers(project) == []

        report1 = tmp_path / "report-1.json"
        code, out = consign("deploy", "Hid", "R1", "1", *common, "--report", str(report1), env=env)
        outputs.append(out)
        assert code == ExitCode.OK, out
        (app,) = containers(project)
        assert f"DB_PASSWORD={on_file}" in app.attrs["Config"]["Env"]  # the container has them
        assert f"API_TOKEN={in_env}" in app.attrs["Config"]["Env"]

        report2 = tmp_path / "report-2.json"
        code, out = consign("deploy", "Hid", "R1", "2", *common, "--report", str(report2), env=env)
        outputs.append(out)
        assert code == ExitCode.FAILED, out
        assert f"db={MASK} token={MASK}" in out and f"both: {MASK}/{MASK}" in out
        # the deploy and its rollback each admit a descriptor: each warning is said once
        assert out.count("warning: the value of PIN is shorter than 4 characters") == 1, out
        assert out.count("warning: LOG_LEVEL is set to an empty value") == 1, out
        doc = json.loads(report2.read_text())
        assert doc["rollback"]["ok"] is True  # the rollback had its variables too
        assert f"db={MASK} token={MASK}" in doc["logs"]["app"]

        api = requests.get(f"{registry.url}/api/environments/{environment}/deployments", timeout=10)
        ui = requests.get(f"{registry.url}/ui/environments/{environment}", timeout=10)
        assert api.status_code == 200 and ui.status_code == 200
        failed = next(r for r in api.json()["deployments"] if r["outcome"] == "rolled_back")
        assert f"check {MASK}" in failed["services"][0]["detail"]  # the record's door
        pages = api.text + ui.text

        # the registry gone: the next records wait in the spool (git source, same ledger URL)
        registry.stop()
        spooled = [*common, "--git", str(tmp_path / "registry.git"), "--no-rollback"]
        code, out = consign("deploy", "Hid", "R1", "2", *spooled, env=env)
        outputs.append(out)
        assert code == ExitCode.FAILED, out
        assert list((tmp_path / "spool").rglob("*.json")), "nothing was spooled"

    everything = "\n".join(outputs) + pages
    for canary in (on_file, in_env):
        assert [p for p in fragments(canary) if p in everything] == []
    refs = subprocess.run(
        ["git", "-C", str(tmp_path / "registry.git"), "for-each-ref", "--format=%(objectname)"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert refs
    grep = subprocess.run(
        ["git", "-C", str(tmp_path / "registry.git"), "grep", "-F", "-e", on_file, "-e", in_env,
         *refs],
        capture_output=True, text=True,
    )  # fmt: skip
    assert grep.returncode == 1 and grep.stdout == "", grep.stdout  # 1: no match
    assert _files_holding(tmp_path, canaries, skip=private) == []
    assert (tmp_path / "serve.log").stat().st_size > 0
