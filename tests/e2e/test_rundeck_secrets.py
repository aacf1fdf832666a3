"""docs/rundeck.md's deploy job with secrets from Key Storage (issue 24), as Rundeck runs
it: the documented job format, both of Rundeck's quoting rules, then the rendered command
over a real SSH connection with the real deployer image against the real engine. The
secure options' values reach the containers through the deployer's environment, while no
process on the host ever shows them on its command line (what `ps` reads), and the job's
output and the deployer's own record of the deploy carry them nowhere."""

from __future__ import annotations

import re
import secrets
import shlex
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from consign.exit_codes import ExitCode
from tests.deployer.helpers import containers
from tests.e2e.conftest import StartRegistry
from tests.e2e.jobformat import job_errors
from tests.e2e.rundeck_expand import JOB_CONTEXT, render_exec, tokenize
from tests.e2e.serve import publish
from tests.e2e.sshd import SshServer
from tests.serving import ROOT

DOC = ROOT / "docs" / "rundeck.md"
FRAGMENT = """\
services:
  shop:
    image: busybox:latest
    command: ["sh", "-c", "echo connecting with $$DB_PASSWORD; exec sleep 100000"]
    stop_grace_period: 1s
    environment:
      DB_PASSWORD: ${DB_PASSWORD}
      API_TOKEN: ${API_TOKEN:?the payment token}
"""


def documented_job() -> dict[str, Any]:
    text = DOC.read_text()
    found = re.search(
        r"<!-- deploy-with-secrets job: begin -->\n```yaml\n(.*?)```\n"
        r"<!-- deploy-with-secrets job: end -->",
        text,
        re.S,
    )
    assert found, "the job's YAML block is missing from docs/rundeck.md"
    document = yaml.safe_load(found.group(1))
    assert job_errors(document) == []
    (job,) = document
    return dict(job)


def test_the_documented_job_takes_its_secrets_from_key_storage_by_name() -> None:
    job = documented_job()
    options = {o["name"]: o for o in job["options"]}
    for name, variable in (("db_password", "DB_PASSWORD"), ("api_token", "API_TOKEN")):
        option = options[name]
        assert option["secure"] is True and option["valueExposed"] is True
        assert option["storagePath"].startswith("keys/") and option["required"] is True
        argv = tokenize(job["sequence"]["commands"][0]["exec"])
        assert f"{variable}=${{option.{name}}}" in argv  # env's argument, before docker
        assert argv[argv.index("-e", argv.index("run")) :].count(variable) == 1  # bare -e NAME
    assert tokenize(job["sequence"]["commands"][0]["exec"])[:2] == ["exec", "env"]
    # Rundeck 5 quotes each reference, older ones the whole word: the same words either way
    context = {"option": {"db_password": "p w'd", "api_token": "t$k"}, "job": JOB_CONTEXT}
    step = job["sequence"]["commands"][0]["exec"]
    assert shlex.split(render_exec(step, context)) == shlex.split(
        render_exec(step, context, per_reference=False)
    )


class CommandLines:
    """Every process's command line on this host, read over and over while a job runs.

    The node's shell holds the rendered command (values included) until ``exec`` replaces
    it (by ``env``, which replaces itself by the docker client), as any Rundeck exec step
    holds its text: a moment, longer on a loaded host (its ``$(stat ...)`` child too).
    ``kept`` lists the command lines that held a value while the docker client ran (a
    shell that keeps the text for the whole deploy) and any docker process with a value
    among its arguments. The ssh client is not looked at: it stands for Rundeck's
    executor, which runs in the Rundeck server's JVM on another machine, where no command
    line exists."""

    def __init__(self, needles: list[str]) -> None:
        self.needles = [n.encode() for n in needles]
        self.kept: list[str] = []
        self.client_looks = 0  # looks that saw the docker client running
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> CommandLines:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _look(self) -> None:
        holders, client = [], False
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                argv = cmdline.read_bytes().split(b"\0")
            except OSError:
                continue
            if argv[0] == b"ssh":
                continue
            text = b" ".join(argv)
            holds = any(n in text for n in self.needles)
            docker = argv[0].endswith(b"docker")
            client = client or (docker and b"run" in argv and b"Shop" in argv)
            if holds:
                holders.append(text.decode(errors="replace"))
                if docker:
                    self.kept.append(holders[-1])
        if client:
            self.client_looks += 1
            self.kept += holders

    def _watch(self) -> None:
        while not self._stop.is_set():
            self._look()
            time.sleep(0.05)


@pytest.mark.ssh
@pytest.mark.docker
@pytest.mark.slow
def test_the_job_deploys_with_its_secrets_and_no_command_line_shows_them(
    sshd: SshServer,
    start_registry: StartRegistry,
    deployer_image: str,
    deployer_workdir: Path,
    project: str,
    tmp_path: Path,
) -> None:
    registry = start_registry()
    (tmp_path / "fragment.yml").write_text(FRAGMENT)
    publish(registry.url, tmp_path / "fragment.yml", "Shop", "R1", component="shop")
    db_password = f"s3cr3t-canary-{secrets.token_hex(6)} it's"
    api_token = f"s3cr3t-canary-{secrets.token_hex(6)}"
    job = documented_job()
    step = job["sequence"]["commands"][0]["exec"].replace("consign-spool:", f"{project}-spool:")
    options = {
        "application": "Shop", "release": "R1", "version": "1", "project": project,
        "environment": f"rd-{project}", "force": "no", "registry_token": "",
        "db_password": db_password, "api_token": api_token,
    }  # fmt: skip
    globals_ = {
        "registry_url": registry.url,
        "deployer_image": deployer_image,
        "deployer_workdir": str(deployer_workdir),
    }
    context = {"option": options, "globals": globals_, "job": JOB_CONTEXT}
    try:
        # a job that does not pass API_TOKEN: the deployer refuses before anything starts
        bare = render_exec(step.replace(" -e API_TOKEN ", " "), context)
        refused = sshd.run(bare, timeout=240)
        assert refused.returncode == ExitCode.INVALID_DESCRIPTOR, refused.stdout + refused.stderr
        assert "API_TOKEN (used by service shop)" in refused.stderr
        assert containers(project) == []

        with CommandLines([db_password, api_token]) as seen:
            done = sshd.run(render_exec(step, context), timeout=240)
        output = done.stdout + done.stderr
        assert done.returncode == ExitCode.OK, output
        (shop,) = containers(project)
        env = shop.attrs["Config"]["Env"]
        assert f"DB_PASSWORD={db_password}" in env and f"API_TOKEN={api_token}" in env
        assert seen.client_looks > 10 and seen.kept == []  # watched while the client ran
        for value in (db_password, api_token):
            assert value not in output and value not in registry.log.read_text()
    finally:
        from consign.process import run

        run(["docker", "volume", "rm", "-f", f"{project}-spool"], check=False, timeout=60)
