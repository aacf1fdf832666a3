"""The deployer's click commands: deploy, status, down (and publish, from publisher.command).

Exceptions become exit codes in one place, :func:`_exit_codes`; commands only return the
code of a deploy or status that ran.
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
from deployer.compose import ComposeMissing, ComposeRunner, InvalidDescriptor, engine
from deployer.deploy import Settings, project_name
from deployer.labels import Deployed
from deployer.report import Outcome, render, write_json
from deployer.rollback import deploy
from deployer.status import as_text, collect
from deployer.swarm.cli import stack
from publisher.command import publish

F = TypeVar("F", bound=Callable[..., Any])


def _exit_codes(func: F) -> F:
    """Map every failure we expect to its ExitCode and a one-line message on stderr."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import docker.errors

        table: list[tuple[type[BaseException] | tuple[type[BaseException], ...], ExitCode, str]] = [
            (sources.SourceError, ExitCode.REGISTRY_UNREACHABLE, "cannot get the descriptor"),
            (InvalidDescriptor, ExitCode.INVALID_DESCRIPTOR, "invalid descriptor, nothing started"),
            (ComposeMissing, ExitCode.ENGINE_UNREACHABLE, "compose"),
            (
                (docker.errors.DockerException, requests.ConnectionError),
                ExitCode.ENGINE_UNREACHABLE,
                "cannot reach the Docker Engine",
            ),
            (CommandFailed, ExitCode.FAILED, "command failed"),
        ]
        try:
            code = func(*args, **kwargs)
        except Exception as e:
            for kinds, code, what in table:
                if isinstance(e, kinds):
                    click.echo(f"error: {what}: {e}", err=True)
                    report = click.get_current_context().params.get("report")
                    if report:
                        _write_error_report(report, e, code)
                    sys.exit(int(code))
            raise
        sys.exit(int(code))

    return wrapper  # type: ignore[return-value]


def _write_error_report(path: str, error: Exception, code: ExitCode) -> None:
    params = click.get_current_context().params
    doc: dict[str, Any] = {
        "application": params.get("application"),
        "release": params.get("release"),
        "version": params.get("version"),
        "project": params.get("project"),
        "error": str(error),
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
@click.option("--git", "git_url", envvar="CONSIGN_GIT", help="Registry Git repo URL or path.")
@click.option("--file", "file_path", envvar="CONSIGN_FILE", help="A local descriptor file.")
@click.option("--project", envvar="CONSIGN_PROJECT", help="Compose project name.")
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
    "--report",
    envvar="CONSIGN_REPORT",
    type=click.Path(dir_okay=False),
    help="Write a JSON report.",
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
    compose_cmd: str | None,
    timeout: float,
    stable: float,
    rollback: bool,
    pull: str,
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

    def fetch(
        app: str, rel: str, ver: str, kind: str | None = None, where: str | None = None
    ) -> sources.Descriptor:
        if kind == "git" or (kind is None and git_url):
            return sources.from_git(where or git_url or "", app, rel, ver)
        if kind == "registry" or (kind is None and registry):
            return sources.from_registry(where or registry or "", app, rel, ver, token)
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
    compose = ComposeRunner(host, compose_cmd)
    client = engine(host)
    settings = Settings(project, timeout, stable, pull, rollback)
    try:
        outcome, back, code = deploy(descriptor, compose, client, settings, previous, sys.stdout)
    finally:
        client.close()
    _final(outcome, "deploy")
    if back is not None:
        _final(back, "rollback")
    if report:
        write_json(report, outcome, back, int(code))
    return code


def _final(outcome: Outcome, what: str) -> None:
    title = f"{what} {outcome.project}: {outcome.what}"
    render(outcome, title + (" OK" if outcome.ok else " FAILED"))


@click.command("status")
@click.option("--project", envvar="CONSIGN_PROJECT", help="Only this Compose project.")
@_host_option
@click.option("--json", "as_json", envvar="CONSIGN_JSON", is_flag=True, help="Print JSON.")
@_exit_codes
def status_cmd(project: str | None, host: str | None, as_json: bool) -> ExitCode:
    """What Consignment deployed on the target, and each service's verdict now."""
    client = engine(host)
    try:
        found = collect(client, project)
    finally:
        client.close()
    if as_json:
        click.echo(json.dumps([p.as_json() for p in found], indent=2))
    if not as_json:
        click.echo(as_text(found), nl=False)
    if not found:
        if not as_json:
            click.echo(f"no Consignment project{' ' + project if project else 's'} on the target")
        return ExitCode.FAILED if project else ExitCode.OK
    return ExitCode.OK if all(p.ok for p in found) else ExitCode.FAILED


@click.command("down")
@click.option(
    "--project", envvar="CONSIGN_PROJECT", required=True, help="Compose project to remove."
)
@click.option("--volumes", envvar="CONSIGN_VOLUMES", is_flag=True, help="Remove its volumes too.")
@_host_option
@_compose_option
@_exit_codes
def down_cmd(project: str, volumes: bool, host: str | None, compose_cmd: str | None) -> ExitCode:
    """Remove a project's containers and networks (volumes kept unless --volumes)."""
    ComposeRunner(host, compose_cmd).down(project, volumes=volumes)
    click.echo(f"removed project {project}")
    return ExitCode.OK


commands: list[click.Command] = [deploy_cmd, status_cmd, down_cmd, publish, stack]
