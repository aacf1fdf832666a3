"""``consign verify APPLICATION RELEASE``: re-run the verification of what a Compose project
runs now (its verification services, Compose profile ``verify``), without redeploying,
inside the environment lock, and record it in the ledger (a ``verify`` record). Exit 0
when every test passed, 1 when one failed or timed out (docs/deployer.md, "Verification")."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from consign.errors import exits
from consign.exit_codes import ExitCode
from consign.registry_url import REGISTRY_URL
from consign.registryclient import ca_file_option
from consign.secrets.masker import masked_output
from deployer import run
from deployer.cli import (
    _compose_option,
    _host_option,
    _ledger_options,
    _orchestrator_option,
    _project_option,
)
from deployer.deploy.attempt import project_name
from deployer.deploy.hostvars import HostVariables
from deployer.deploy.request import (
    DeploySettings,
    DescriptorSource,
    EngineTarget,
    LockAndRecord,
    VerifyRequest,
)
from deployer.deploy.workdir import Workdir
from deployer.options import env_file_option, verify_timeout_option
from deployer.report import verification_lines


@click.command("verify")
@click.argument("application", required=False, envvar="CONSIGN_APPLICATION")
@click.argument("release", required=False, envvar="CONSIGN_RELEASE")
@click.option(
    "--registry", envvar="CONSIGN_REGISTRY", type=REGISTRY_URL, help="Registry base URL (HTTP API)."
)
@click.option("--token", envvar="CONSIGN_TOKEN", help="Bearer token for the registry.")
@ca_file_option
@click.option("--git", "git_url", envvar="CONSIGN_GIT", help="Registry Git repo URL or path.")
@_project_option("Compose project or Swarm stack (default: from APPLICATION and RELEASE).")
@_host_option
@_compose_option
@_orchestrator_option
@verify_timeout_option("Seconds the verification services have, together, to exit.")
@click.option(
    "--workdir",
    envvar="CONSIGN_WORKDIR",
    type=click.Path(file_okay=False, path_type=Path, resolve_path=True),
    help="Host folder the descriptor and its files are written under (as deploy's).",
)
@env_file_option()
@_ledger_options
@exits()
def verify_cmd(
    application: str | None,
    release: str | None,
    registry: str | None,
    token: str | None,
    ca_file: str | None,
    git_url: str | None,
    project: str | None,
    host: str | None,
    compose_cmd: str | None,
    orchestrator: str,
    verify_timeout: float,
    workdir: Path | None,
    env_file: str | None,
    ledger: LockAndRecord,
) -> ExitCode:
    """Run the verification of what APPLICATION RELEASE (or --project) runs now, and record
    it (exit 0 passed, 1 failed or timed out)."""
    if project is None:
        if not (application and release):
            raise click.UsageError("APPLICATION RELEASE or --project is required")
        project = project_name(application, release)
    if not (registry or git_url):
        raise click.UsageError("one of --registry or --git is required")
    variables = HostVariables.read(env_file)  # exit 2 for a file others may read
    request = VerifyRequest(
        application,
        release,
        source=DescriptorSource(registry, token, ca_file, git_url),
        target=EngineTarget(orchestrator, host, compose_cmd),
        settings=DeploySettings(
            project,
            verify_timeout=verify_timeout,
            workdir=Workdir(workdir),
            variables=variables,
        ),
        ledger=ledger.options(registry, token, ca_file),
    )
    with masked_output(variables.masker):  # the tests' logs may print a secret
        found = run.verify(request, sys.stdout)
        for line in verification_lines(found):
            click.echo(line)
    return ExitCode.FAILED if found.failed else ExitCode.OK
