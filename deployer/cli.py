"""The deployer's click commands: deploy, status, down, versions, show, diff.

Each of deploy, status and down works on a Compose project on one engine (the default) or,
with ``--orchestrator swarm`` (``CONSIGN_ORCHESTRATOR``), on a Swarm stack through a
swarm manager (:mod:`deployer.swarm`); the option names the same thing for all three so
one environment variable sets it for a whole job, and picks the
:class:`deployer.orchestrators.Orchestrator` once: the commands never branch on it again
(beyond refusing the options the other one has).

Failures become exit codes in one place, :func:`consign.errors.exits`; commands only
return the code of a deploy or status that ran. Every Docker SDK call runs inside
:func:`deployer.engine.sdk.engine_errors`, so an engine that does not answer is exit 6 with
one line naming it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from consign.errors import RegistryUnreachable, VersionRejected, exits
from consign.exit_codes import ExitCode
from consign.registry_url import REGISTRY_URL
from consign.version_arg import VERSION
from deployer.deploy import sources
from deployer.deploy.attempt import project_name
from deployer.deploy.record import Deployed
from deployer.engine.sdk import engine_errors
from deployer.ledger import endings, lock, outcomes, projectenv, show
from deployer.ledger import record as ledger_record
from deployer.ledger.client import LedgerClient, LedgerError
from deployer.ledger.session import Ledger, ledger_for
from deployer.orchestrators import DeployOptions, orchestrator_for
from deployer.report import Outcome, render, write_json
from deployer.status_text import as_text
from deployer.versions import diff_cmd, show_cmd, versions_cmd

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


def _ledger_options(func: F) -> F:
    """--environment, --by, --report-token, --spool, --lock-wait, --lock-poll,
    --require-lock, --move-environment (deploy and down)."""
    options = [
        click.option(
            "--environment",
            envvar="CONSIGN_ENVIRONMENT",
            help="Environment recorded in the ledger and locked (default: "
            "<engine name>-<project>, made a valid name).",
        ),
        click.option(
            "--by", envvar="CONSIGN_BY", help="Who deploys, recorded (default: the user)."
        ),
        click.option(
            "--report-token",
            envvar="CONSIGN_REPORT_TOKEN",
            help="Bearer token for the lock and the report (default: --token).",
        ),
        click.option(
            "--spool",
            envvar="CONSIGN_SPOOL",
            type=click.Path(file_okay=False, path_type=Path),
            help="Directory keeping records the registry could not take "
            "(default: ~/.local/state/consign/spool).",
        ),
        click.option(
            "--lock-wait",
            envvar="CONSIGN_LOCK_WAIT",
            type=click.FloatRange(0),
            default=lock.DEFAULT_WAIT,
            show_default=True,
            help="Seconds to wait for another deploy of the project or to the environment "
            "before exit 8.",
        ),
        click.option(
            "--lock-poll",
            envvar="CONSIGN_LOCK_POLL",
            type=click.FloatRange(0.05, 60),
            default=lock.POLL,
            show_default=True,
            help="Seconds between two looks at a held lock while waiting.",
        ),
        click.option(
            "--require-lock",
            envvar="CONSIGN_REQUIRE_LOCK",
            is_flag=True,
            help="Exit 8 instead of going on without the environment lock when the registry "
            "cannot be asked for it.",
        ),
        click.option(
            "--move-environment",
            envvar="CONSIGN_MOVE_ENVIRONMENT",
            is_flag=True,
            help="Record the project under --environment although it is recorded under "
            "another one (else that is refused, exit 2).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _ledger(
    params: dict[str, Any], client: Any, host: str | None, project: str, why_not: str = ""
) -> tuple[Ledger, dict[str, Any]]:
    """The command's ledger and the engine description its records carry."""
    with engine_errors(host):
        engine_info = ledger_record.engine_info(client, host, project)
    if params.get("orchestrator") == "swarm":
        engine_info["orchestrator"] = "swarm"  # "project" is then the stack
    ledger = ledger_for(
        registry=params.get("registry"),
        token=params.get("report_token") or params.get("token"),
        environment=params.get("environment"),
        by=params.get("by"),
        spool=params.get("spool"),
        lock_wait=params["lock_wait"],
        engine_name=str(engine_info.get("name") or "engine"),
        project=project,
        why_not=why_not,
        require_lock=bool(params.get("require_lock")),
        move_environment=bool(params.get("move_environment")),
        lock_poll=float(params.get("lock_poll") or lock.POLL),
    )
    ledger.engine_info = engine_info
    return ledger, engine_info


def _gate(descriptor: sources.Descriptor, force: bool) -> None:
    """A rejected version is deployed only with --force (issue 10)."""
    r = descriptor.rejected
    if r is None:
        return
    line = (
        f"version {descriptor.version} was rejected by {r.get('by')} at {r.get('at')}: "
        f"{r.get('reason') or '(no reason given)'}"
    )
    if not force:
        raise VersionRejected(f"{line}; use --force")
    click.echo(f"warning: {line}; deploying it because of --force", err=True)


@click.command("deploy")
@click.argument("application", required=False, envvar="CONSIGN_APPLICATION")
@click.argument("release", required=False, envvar="CONSIGN_RELEASE")
@click.argument("version", required=False, envvar="CONSIGN_VERSION", type=VERSION)
@click.option(
    "--registry", envvar="CONSIGN_REGISTRY", type=REGISTRY_URL, help="Registry base URL (HTTP API)."
)
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
    "--workdir",
    envvar="CONSIGN_WORKDIR",
    type=click.Path(file_okay=False, path_type=Path, resolve_path=True),
    help="Host folder the descriptor and its files are written under (<workdir>/<project>/, "
    "kept), so relative paths resolve there; in a container, mount it at the same path "
    "(docs/image.md).",
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
@_ledger_options
@click.option(
    "--force",
    envvar="CONSIGN_FORCE",
    is_flag=True,
    help="Deploy a version even though it was rejected at the gate.",
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
    workdir: Path | None,
    require_pinned_images: bool,
    report: str | None,
    environment: str | None,
    by: str | None,
    report_token: str | None,
    spool: Path | None,
    lock_wait: float,
    lock_poll: float,
    require_lock: bool,
    move_environment: bool,
    force: bool,
) -> ExitCode:
    """Deploy APPLICATION RELEASE VERSION (a number or `latest`) and watch every service.

    With --registry, the environment is locked through the registry for the deploy and its
    rollback, and the deploy (and rollback) is recorded in the registry's ledger."""
    named = application is not None and release is not None and version is not None
    if file_path is None and not named:
        raise click.UsageError("APPLICATION RELEASE VERSION are required unless --file is given")
    if file_path is None and not (registry or git_url):
        raise click.UsageError("one of --registry, --git or --file is required")
    if project is None:
        if not (application and release):
            raise click.UsageError("--project is required with --file and no APPLICATION RELEASE")
        project = project_name(application, release)
    if orchestrator == "swarm":
        _only_with("swarm", "compose_cmd", "pull", "require_pinned_images", "workdir")
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
    _gate(descriptor, force)
    why_not = "a --file deploy is not recorded" if file_path is not None else ""
    runs = orchestrator_for(orchestrator, host, compose_cmd)
    options = DeployOptions(
        project, timeout, stable, rollback, pull, require_pinned_images, resolve_image,
        workdir=workdir,
    )  # fmt: skip
    client = runs.connect()
    what = runs.verb
    try:
        params = click.get_current_context().params
        ledger, engine_info = _ledger(params, client, host, project, why_not)
        holder = {"application": application, "release": release, "version": descriptor.version}
        with engine_errors(host), ledger.locked(holder, client, project, runs.deployed):
            started = ledger_record.utc_now()
            found = _killed(runs.deployed(client, project), client, ledger, engine_info)
            options = replace(options, by=ledger.by, environment=ledger.environment)
            observer = runs.observer(client, project)
            try:
                outcome, back, code, _ = runs.deploy(
                    descriptor, client, options, previous, sys.stdout, observer
                )
            finally:  # after Ctrl-C too: the attempt it stopped is recorded as interrupted
                records = found + outcomes.deploy_records(
                    observer, started=started, environment=ledger.environment, by=ledger.by,
                    engine=engine_info,
                )  # fmt: skip
                ledger.report(records)  # before the lock goes: the next deploy sees this one
    finally:
        client.close()
    shown = _final(outcome, what)
    if back is not None:
        _final(back, what.replace("deploy", "rollback"), shown)
    if report:
        write_json(report, outcome, back, int(code))
    return code


def _killed(
    previous: Deployed | None, client: Any, ledger: Ledger, engine_info: dict[str, Any]
) -> list[dict[str, Any]]:
    """The record of an earlier deploy of the project whose deployer was killed (its
    project record still says it is in progress), said in one line; [] when none."""
    if previous is None or not endings.killed(previous):
        return []
    click.echo(endings.killed_line(previous))
    return [
        endings.killed_record(
            client, previous, environment=ledger.environment, by=ledger.by, engine=engine_info
        )
    ]


def _final(outcome: Outcome, what: str, shown: dict[str, str] | None = None) -> dict[str, str]:
    """The phase's report (its logs printed once: those ``shown`` before are not repeated)."""
    return render(outcome, f"{what} {outcome.project}: {outcome.what}", shown=shown)


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
@click.option(
    "--environment",
    envvar="CONSIGN_ENVIRONMENT",
    help="With --registry: the ledger's view of this environment (no engine needed).",
)
@click.option(
    "--registry",
    envvar="CONSIGN_REGISTRY",
    type=REGISTRY_URL,
    help="Registry URL (with --environment).",
)
@click.option("--token", envvar="CONSIGN_TOKEN", help="Bearer token for reading the registry.")
@exits()
def status_cmd(
    project: str | None,
    orchestrator: str,
    host: str | None,
    as_json: bool,
    environment: str | None,
    registry: str | None,
    token: str | None,
) -> ExitCode:
    """What Consignment deployed on the target, and each service's verdict now.

    With --environment and --registry: what the registry's ledger says runs in that
    environment (from any machine); exit 1 when its current deployment is not ok."""
    if environment:
        if not registry:
            raise click.UsageError("--environment needs --registry (the ledger is read there)")
        return _ledger_status(environment, registry, token, as_json)
    runs = orchestrator_for(orchestrator, host)
    client = runs.connect()
    try:
        found = runs.status(client, project)
    finally:
        client.close()
    if as_json:
        click.echo(json.dumps([p.as_json() for p in found], indent=2))
    if not as_json:
        click.echo(as_text(found), nl=False)
    if not found:
        if not as_json:
            name = f" {project}" if project else "s"
            click.echo(f"no Consignment {runs.kind}{name} on the {runs.where}")
        return ExitCode.FAILED if project else ExitCode.OK
    return ExitCode.OK if all(p.ok for p in found) else ExitCode.FAILED


def _ledger_status(environment: str, registry: str, token: str | None, as_json: bool) -> ExitCode:
    try:
        state = LedgerClient(registry, token).environment(environment)
    except LedgerError as e:
        raise RegistryUnreachable(f"cannot read {environment} from the ledger: {e}") from e
    click.echo(json.dumps(state, indent=2) if as_json else show.environment_text(state), nl=as_json)
    deployed = state.get("deployed") or []
    ok = all(d.get("outcome") in ("ok", "rolled_back", "torn_down") for d in deployed)
    return ExitCode.OK if ok else ExitCode.FAILED


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
@click.option(
    "--registry",
    envvar="CONSIGN_REGISTRY",
    type=REGISTRY_URL,
    help="Registry base URL (lock, record).",
)
@click.option("--token", envvar="CONSIGN_TOKEN", help="Bearer token for the registry.")
@_ledger_options
@exits()
def down_cmd(
    project: str,
    volumes: bool,
    orchestrator: str,
    host: str | None,
    compose_cmd: str | None,
    registry: str | None,
    token: str | None,
    environment: str | None,
    by: str | None,
    report_token: str | None,
    spool: Path | None,
    lock_wait: float,
    lock_poll: float,
    require_lock: bool,
    move_environment: bool,
) -> ExitCode:
    """Remove a project's containers, networks and record (volumes kept unless --volumes),
    or with --orchestrator swarm a stack's services, tasks and networks. With --registry,
    the environment is locked for the teardown and it is recorded."""
    if orchestrator == "swarm":
        _only_with("swarm", "volumes", "compose_cmd")
    runs = orchestrator_for(orchestrator, host, compose_cmd, volumes)
    client = runs.connect()  # an engine that does not answer is exit 6, before anything runs
    try:
        # what was deployed: the project record, or the stack's services' labels (read
        # before they go)
        was = runs.deployed(client, project)

        def remove() -> bool:
            if not runs.teardown(client, project):  # a retried teardown is not an error
                click.echo(f"no {runs.kind} {project} on the {runs.where}; nothing to remove")
                return False
            click.echo(f"removed {runs.kind} {project}")
            return True

        _teardown(client, host, project, was, runs.label(project), remove)
    finally:
        client.close()
    return ExitCode.OK


def _teardown(
    client: Any,
    host: str | None,
    project: str,
    was: Deployed | None,
    what: str,
    remove: Callable[[], bool],
) -> None:
    """Lock the environment, ``remove`` (False: there was nothing), record the teardown of
    ``was`` (what was deployed there; nothing recorded without one or for a --file)."""
    params = click.get_current_context().params
    why_not = "" if was and was.application else f"{what} has no Consignment record"
    if was is not None and was.source == "file":
        why_not = f"{what} was deployed from a --file, which is not recorded"
    ledger, engine_info = _ledger(params, client, host, project, why_not)
    started = ledger_record.utc_now()
    holder = {"application": was.application, "release": was.release} if was else {}
    with engine_errors(host), ledger.locked({**holder, "teardown": project}, client, project):
        removed = remove()
        if removed:
            projectenv.forget(client, project)  # a torn-down project may come back as any
        if not removed or was is None or not (was.application and was.release):
            return
        gone = outcomes.teardown_record(
            application=was.application, release=was.release, version=was.version,
            commit=was.commit, source=was.registry, started=started,
            environment=ledger.environment, by=ledger.by, engine=engine_info,
        )  # fmt: skip
        ledger.report([gone])


commands: list[click.Command] = [
    deploy_cmd,
    status_cmd,
    down_cmd,
    versions_cmd,
    show_cmd,
    diff_cmd,
]
