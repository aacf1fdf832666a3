"""The deployer's click commands: deploy, status, down (and publish, from publisher.command).

Each of deploy, status and down works on a Compose project on one engine (the default) or,
with ``--orchestrator swarm`` (``CONSIGN_ORCHESTRATOR``), on a Swarm stack through a
swarm manager (:mod:`deployer.swarm`); the option names the same thing for all three so
one environment variable sets it for a whole job.

Failures become exit codes in one place, :func:`consign.errors.exits`; commands only
return the code of a deploy or status that ran. Every Docker SDK call runs inside
:func:`deployer.engine.sdk.engine_errors`, so an engine that does not answer is exit 6 with
one line naming it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from consign.errors import exits
from consign.exit_codes import ExitCode
from deployer.deploy import record, sources
from deployer.deploy.attempt import Settings, project_name
from deployer.deploy.record import Deployed
from deployer.deploy.rollback import deploy
from deployer.engine.compose import ComposeRunner
from deployer.engine.sdk import engine, engine_errors
from deployer.report import Outcome, render, write_json
from deployer.status import as_text, collect
from deployer.swarm import status as stack_status
from deployer.swarm.deploy import StackSettings, deploy_stack
from deployer.swarm.stack import StackRunner, manager
from deployer.versions import diff_cmd, show_cmd, versions_cmd
from publisher.command import publish

F = TypeVar("F", bound=Callable[..., Any])
COMMANDLINE = ParameterSource.COMMANDLINE


def _error_report(error: BaseException, code: ExitCode) -> None:
    """With --report, a failed command still leaves a report saying what failed."""
    params = click.get_current_context().params
    path = params.get("report")
    if not path:
        return
    doc: dict[str, Any] = {
        "application": params.get("application"),
        "release": params.get("release"),
        "version": params.get("version"),
        "project": params.get("project"),
        "error": str(error) or type(error).__name__,
        "verdicts": {},
        "rollback": None,
        "exit_code": int(code),
    }
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=2)


def _host_option(func: F) -> F:
    return click.option(
        "--host",
        envvar="DOCKER_HOST",
        help="Target Docker Engine: unix://, tcp:// or ssh:// (default: the local engine).",
    )(func)


def _orchestrator_option(func: F) -> F:
    return click.option(
        "--orchestrator",
        envvar="CONSIGN_ORCHESTRATOR",
        type=click.Choice(["compose", "swarm"]),
        default="compose",
        show_default=True,
        help="compose: a Compose project on one engine; swarm: a stack, --host a swarm manager.",
    )(func)


def _only_with(orchestrator: str, *names: str) -> None:
    """A usage error for an option given on the command line that ``orchestrator`` does not
    use (set from the environment, it is left alone: a job may set it for both)."""
    ctx = click.get_current_context()
    for param in ctx.command.params:
        if param.name in names and ctx.get_parameter_source(param.name) == COMMANDLINE:
            flag = param.opts[0]
            raise click.UsageError(f"{flag} does not apply with --orchestrator {orchestrator}")


def _compose_option(func: F) -> F:
    return click.option(
        "--compose",
        "compose_cmd",
        envvar="CONSIGN_COMPOSE",
        help="Compose command line (default: `docker compose`, else a v2 `docker-compose`).",
    )(func)


@click.command("deploy")
@click.argument("application", required=False, envvar="CONSIGN_APPLICATION")
@click.argument("release", required=False, envvar="CONSIGN_RELEASE")
@click.argument("version", required=False, envvar="CONSIGN_VERSION")
@click.option("--registry", envvar="CONSIGN_REGISTRY", help="Registry base URL (HTTP API).")
@click.option("--token", envvar="CONSIGN_TOKEN", help="Bearer token for the registry.")
@click.option(
    "--ca-file",
    envvar="CONSIGN_CA_FILE",
    type=click.Path(exists=True, dir_okay=False),
    help="PEM CA bundle to verify an HTTPS registry (default: the system's, or "
    "REQUESTS_CA_BUNDLE).",
)
@click.option("--git", "git_url", envvar="CONSIGN_GIT", help="Registry Git repo URL or path.")
@click.option("--file", "file_path", envvar="CONSIGN_FILE", help="A local descriptor file.")
@click.option(
    "--project",
    "--stack",
    "project",
    envvar="CONSIGN_PROJECT",
    help="Compose project (or Swarm stack) name (default: from APPLICATION and RELEASE).",
)
@_orchestrator_option
@_host_option
@_compose_option
@click.option(
    "--timeout",
    envvar="CONSIGN_TIMEOUT",
    type=click.FloatRange(0),
    default=300.0,
    show_default=True,
)
@click.option(
    "--stable", envvar="CONSIGN_STABLE", type=click.FloatRange(0), default=5.0, show_default=True
)
@click.option(
    "--rollback/--no-rollback", envvar="CONSIGN_ROLLBACK", default=True, show_default=True
)
@click.option(
    "--pull",
    envvar="CONSIGN_PULL",
    type=click.Choice(["missing", "never", "always"]),
    default="missing",
    show_default=True,
    help="Compose's pull policy for images.",
)
@click.option(
    "--resolve-image",
    envvar="CONSIGN_RESOLVE_IMAGE",
    type=click.Choice(["always", "changed", "never"]),
    default="always",
    show_default=True,
    help="Swarm: `docker stack deploy --resolve-image` (pin image digests from the registry).",
)
@click.option(
    "--require-pinned-images",
    envvar="CONSIGN_REQUIRE_PINNED_IMAGES",
    is_flag=True,
    help="Fail (and roll back) when a service runs another image than `consign publish "
    "--pin-images` recorded (default: a warning).",
)
@click.option(
    "--report",
    envvar="CONSIGN_REPORT",
    type=click.Path(dir_okay=False),
    help="Write a JSON report.",
)
@exits(_error_report)
def deploy_cmd(
    application: str | None,
    release: str | None,
    version: str | None,
    registry: str | None,
    token: str | None,
    ca_file: str | None,
    git_url: str | None,
    file_path: str | None,
    project: str | None,
    orchestrator: str,
    host: str | None,
    compose_cmd: str | None,
    timeout: float,
    stable: float,
    rollback: bool,
    pull: str,
    resolve_image: str,
    require_pinned_images: bool,
    report: str | None,
) -> ExitCode:
    """Deploy APPLICATION RELEASE VERSION (a number or `latest`) and watch every service."""
    named = application is not None and release is not None and version is not None
    if file_path is None and not named:
        raise click.UsageError("APPLICATION RELEASE VERSION are required unless --file is given")
    if file_path is None and not (registry or git_url):
        raise click.UsageError("one of --registry, --git or --file is required")
    if project is None:
        if not (application and release):
            raise click.UsageError("--project is required with --file and no APPLICATION RELEASE")
        project = project_name(application, release)
    swarm = orchestrator == "swarm"
    if swarm:
        _only_with("swarm", "compose_cmd", "pull", "require_pinned_images")
    else:
        _only_with("compose", "resolve_image")

    def fetch(
        app: str, rel: str, ver: str, kind: str | None = None, where: str | None = None
    ) -> sources.Descriptor:
        if kind == "git" or (kind is None and git_url):
            return sources.from_git(where or git_url or "", app, rel, ver)
        if kind == "registry" or (kind is None and registry):
            verify = ca_file or True
            return sources.from_registry(where or registry or "", app, rel, ver, token, verify)
        raise sources.SourceError(
            "the previous version came from a local file; cannot fetch it again"
        )

    def previous(d: Deployed) -> sources.Descriptor:
        if file_path is None:
            return fetch(d.application, d.release, d.version)
        return fetch(d.application, d.release, d.version, d.source, d.registry)

    if file_path is not None:
        descriptor = sources.from_file(file_path, application, release, version)
    else:
        assert application and release and version
        descriptor = fetch(application, release, version)
    client = manager(host) if swarm else engine(host)
    what = "deploy stack" if swarm else "deploy"
    try:
        with engine_errors(host):
            if swarm:
                stack_settings = StackSettings(project, timeout, stable, rollback, resolve_image)
                outcome, back, code = deploy_stack(
                    descriptor, StackRunner(host), client, stack_settings, previous, sys.stdout
                )
            else:
                compose = ComposeRunner(host, compose_cmd)
                settings = Settings(project, timeout, stable, pull, rollback, require_pinned_images)
                outcome, back, code = deploy(
                    descriptor, compose, client, settings, previous, sys.stdout
                )
    finally:
        client.close()
    _final(outcome, what)
    if back is not None:
        _final(back, what.replace("deploy", "rollback"))
    if report:
        write_json(report, outcome, back, int(code))
    return code


def _final(outcome: Outcome, what: str) -> None:
    title = f"{what} {outcome.project}: {outcome.what}"
    render(outcome, title + (" OK" if outcome.ok else " FAILED"))


@click.command("status")
@click.option(
    "--project",
    "--stack",
    "project",
    envvar="CONSIGN_PROJECT",
    help="Only this Compose project (or Swarm stack).",
)
@_orchestrator_option
@_host_option
@click.option("--json", "as_json", envvar="CONSIGN_JSON", is_flag=True, help="Print JSON.")
@exits()
def status_cmd(project: str | None, orchestrator: str, host: str | None, as_json: bool) -> ExitCode:
    """What Consignment deployed on the target, and each service's verdict now."""
    swarm = orchestrator == "swarm"
    client = manager(host) if swarm else engine(host)
    try:
        with engine_errors(host):
            found = stack_status.collect(client, project) if swarm else collect(client, project)
    finally:
        client.close()
    if as_json:
        click.echo(json.dumps([p.as_json() for p in found], indent=2))
    if not as_json:
        click.echo(as_text(found), nl=False)
    if not found:
        if not as_json:
            kind, where = ("stack", "swarm") if swarm else ("project", "target")
            click.echo(f"no Consignment {kind}{' ' + project if project else 's'} on the {where}")
        return ExitCode.FAILED if project else ExitCode.OK
    return ExitCode.OK if all(p.ok for p in found) else ExitCode.FAILED


@click.command("down")
@click.option(
    "--project",
    "--stack",
    "project",
    envvar="CONSIGN_PROJECT",
    required=True,
    help="Compose project (or Swarm stack) to remove.",
)
@click.option(
    "--volumes",
    envvar="CONSIGN_VOLUMES",
    is_flag=True,
    help="Remove its volumes too (Compose only: a stack's volumes stay on its nodes).",
)
@_orchestrator_option
@_host_option
@_compose_option
@exits()
def down_cmd(
    project: str, volumes: bool, orchestrator: str, host: str | None, compose_cmd: str | None
) -> ExitCode:
    """Remove a project's containers, networks and record (volumes kept unless --volumes),
    or with --orchestrator swarm a stack's services, tasks and networks."""
    if orchestrator == "swarm":
        _only_with("swarm", "volumes", "compose_cmd")
        return _stack_down(project, host)
    client = engine(host)  # an engine that does not answer is exit 6, before Compose runs
    try:
        ComposeRunner(host, compose_cmd).down(project, volumes=volumes)
        with engine_errors(host):
            record.forget(client, project)
    finally:
        client.close()
    click.echo(f"removed project {project}")
    return ExitCode.OK


def _stack_down(stack: str, host: str | None) -> ExitCode:
    client = manager(host)
    try:
        with engine_errors(host):
            removed = stack_status.down(StackRunner(host), client, stack)
    finally:
        client.close()
    if not removed:  # nothing to do: a retried teardown is not an error
        click.echo(f"no stack {stack} on the swarm; nothing to remove")
        return ExitCode.OK
    click.echo(f"removed stack {stack}")
    return ExitCode.OK


commands: list[click.Command] = [
    deploy_cmd,
    status_cmd,
    down_cmd,
    versions_cmd,
    show_cmd,
    diff_cmd,
    publish,
]
