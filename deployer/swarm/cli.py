"""`consign stack deploy|status|down`: the Swarm path as its own command group.

Until `consign deploy --orchestrator swarm` is wired (docs/swarm.md says how), this group
is how stacks are deployed. Options mirror `consign deploy`'s (same ``CONSIGN_*``
variables); exceptions become exit codes in one place, :func:`_exit_codes`.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click
import requests

from consign.exit_codes import ExitCode
from consign.process import CommandFailed
from deployer import sources
from deployer.deploy import project_name
from deployer.labels import Deployed
from deployer.report import Outcome, render, write_json
from deployer.status import as_text
from deployer.swarm import status as stack_status
from deployer.swarm.deploy import StackSettings, deploy_stack
from deployer.swarm.stack import DockerCliMissing, NotAManager, StackInvalid, StackRunner, manager

F = TypeVar("F", bound=Callable[..., Any])


def _exit_codes(func: F) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import docker.errors

        engine = (DockerCliMissing, NotAManager, docker.errors.DockerException)
        table: list[tuple[type[BaseException] | tuple[type[BaseException], ...], ExitCode, str]] = [
            (sources.SourceError, ExitCode.REGISTRY_UNREACHABLE, "cannot get the descriptor"),
            (StackInvalid, ExitCode.INVALID_DESCRIPTOR, "invalid descriptor, nothing deployed"),
            (
                (*engine, requests.ConnectionError),
                ExitCode.ENGINE_UNREACHABLE,
                "cannot use the swarm",
            ),
            (CommandFailed, ExitCode.FAILED, "command failed"),
            (TimeoutError, ExitCode.FAILED, "gave up waiting"),
        ]
        try:
            code = func(*args, **kwargs)
        except Exception as e:
            for kinds, code, what in table:
                if isinstance(e, kinds):
                    click.echo(f"error: {what}: {e}", err=True)
                    report = click.get_current_context().params.get("report")
                    if report:
                        _error_report(report, e, code)
                    sys.exit(int(code))
            raise
        sys.exit(int(code))

    return wrapper  # type: ignore[return-value]


def _error_report(path: str, error: Exception, code: ExitCode) -> None:
    params = click.get_current_context().params
    keys = ("application", "release", "version", "project")
    doc = {k: params.get(k) for k in keys} | {
        "error": str(error), "verdicts": {}, "rollback": None, "exit_code": int(code),
    }  # fmt: skip
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=2)


def _host(func: F) -> F:
    return click.option(
        "--host",
        envvar="DOCKER_HOST",
        help="A swarm manager's engine: unix://, tcp:// or ssh:// (default: the local one).",
    )(func)


def _project(func: F, required: bool = False) -> F:
    return click.option(
        "--project",
        "--stack",
        "project",
        envvar="CONSIGN_PROJECT",
        required=required,
        help="Stack name (default: from APPLICATION and RELEASE, as a Compose project).",
    )(func)


@click.group("stack")
def stack() -> None:
    """Deploy descriptors as Swarm stacks across a cluster (docs/swarm.md)."""


@stack.command("deploy")
@click.argument("application", required=False, envvar="CONSIGN_APPLICATION")
@click.argument("release", required=False, envvar="CONSIGN_RELEASE")
@click.argument("version", required=False, envvar="CONSIGN_VERSION")
@click.option("--registry", envvar="CONSIGN_REGISTRY", help="Registry base URL (HTTP API).")
@click.option("--token", envvar="CONSIGN_TOKEN", help="Bearer token for the registry.")
@click.option("--git", "git_url", envvar="CONSIGN_GIT", help="Registry Git repo URL or path.")
@click.option("--file", "file_path", envvar="CONSIGN_FILE", help="A local descriptor file.")
@_project
@_host
@click.option(
    "--timeout", envvar="CONSIGN_TIMEOUT", type=click.FloatRange(0), default=300.0,
    show_default=True,
)  # fmt: skip
@click.option(
    "--stable", envvar="CONSIGN_STABLE", type=click.FloatRange(0), default=5.0, show_default=True
)
@click.option(
    "--rollback/--no-rollback", envvar="CONSIGN_ROLLBACK", default=True, show_default=True
)
@click.option(
    "--resolve-image",
    envvar="CONSIGN_RESOLVE_IMAGE",
    type=click.Choice(["always", "changed", "never"]),
    default="always",
    show_default=True,
    help="`docker stack deploy --resolve-image`: pin image digests from the registry.",
)
@click.option(
    "--report", envvar="CONSIGN_REPORT", type=click.Path(dir_okay=False), help="Write JSON."
)
@_exit_codes
def deploy_cmd(
    application: str | None,
    release: str | None,
    version: str | None,
    registry: str | None,
    token: str | None,
    git_url: str | None,
    file_path: str | None,
    project: str | None,
    host: str | None,
    timeout: float,
    stable: float,
    rollback: bool,
    resolve_image: str,
    report: str | None,
) -> ExitCode:
    """Deploy APPLICATION RELEASE VERSION as a stack and watch every service and task."""
    named = application is not None and release is not None and version is not None
    if file_path is None and not named:
        raise click.UsageError("APPLICATION RELEASE VERSION are required unless --file is given")
    if file_path is None and not (registry or git_url):
        raise click.UsageError("one of --registry, --git or --file is required")
    if project is None:
        if not (application and release):
            raise click.UsageError("--project is required with --file and no APPLICATION RELEASE")
        project = project_name(application, release)

    def fetch(app: str, rel: str, ver: str, kind: str, where: str) -> sources.Descriptor:
        if kind == "git":
            return sources.from_git(where, app, rel, ver)
        if kind == "registry":
            return sources.from_registry(where, app, rel, ver, token)
        raise sources.SourceError("the previous version came from a local file; cannot fetch it")

    def previous(d: Deployed) -> sources.Descriptor:
        return fetch(d.application, d.release, d.version, d.source, d.registry)

    if file_path is not None:
        descriptor = sources.from_file(file_path, application, release, version)
    elif git_url:
        assert application and release and version
        descriptor = sources.from_git(git_url, application, release, version)
    else:
        assert application and release and version and registry
        descriptor = sources.from_registry(registry, application, release, version, token)
    client = manager(host)
    settings = StackSettings(project, timeout, stable, rollback, resolve_image)
    try:
        outcome, back, code = deploy_stack(
            descriptor, StackRunner(host), client, settings, previous, sys.stdout
        )
    finally:
        client.close()
    _final(outcome, "deploy")
    if back is not None:
        _final(back, "rollback")
    if report:
        write_json(report, outcome, back, int(code))
    return code


def _final(outcome: Outcome, what: str) -> None:
    title = f"{what} stack {outcome.project}: {outcome.what}"
    render(outcome, title + (" OK" if outcome.ok else " FAILED"))


@stack.command("status")
@_project
@_host
@click.option("--json", "as_json", envvar="CONSIGN_JSON", is_flag=True, help="Print JSON.")
@_exit_codes
def status_cmd(project: str | None, host: str | None, as_json: bool) -> ExitCode:
    """What Consignment deployed as stacks, and each service's verdict now."""
    client = manager(host)
    try:
        found = stack_status.collect(client, project)
    finally:
        client.close()
    if as_json:
        click.echo(json.dumps([p.as_json() for p in found], indent=2))
    else:
        click.echo(as_text(found), nl=False)
    if not found:
        if not as_json:
            click.echo(f"no Consignment stack{' ' + project if project else 's'} on the swarm")
        return ExitCode.FAILED if project else ExitCode.OK
    return ExitCode.OK if all(p.ok for p in found) else ExitCode.FAILED


@stack.command("down")
@functools.partial(_project, required=True)
@_host
@_exit_codes
def down_cmd(project: str, host: str | None) -> ExitCode:
    """Remove a stack: its services, tasks and networks (named volumes stay on the nodes)."""
    client = manager(host)
    try:
        removed = stack_status.down(StackRunner(host), client, project)
    finally:
        client.close()
    if not removed:  # nothing to do: a retried teardown is not an error
        click.echo(f"no stack {project} on the swarm; nothing to remove")
        return ExitCode.OK
    click.echo(f"removed stack {project}")
    return ExitCode.OK
