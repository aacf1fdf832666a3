"""The deployer's click commands: deploy, status, down, versions, show, diff.

Each of deploy, status and down works on a Compose project on one engine (the default) or,
with ``--orchestrator swarm`` (``CONSIGN_ORCHESTRATOR``), on a Swarm stack through a
swarm manager (:mod:`deployer.swarm`); the option names the same thing for all three so
one environment variable sets it for a whole job, and picks the
:class:`deployer.orchestrators.Orchestrator` once: the commands never branch on it again
(beyond refusing the options the other one has, marked :class:`OrchestratorOption`).

deploy and down build one typed request from their options
(:mod:`deployer.deploy.request`) and hand it to :mod:`deployer.run`, which owns
lock → deploy/teardown → record; this module only parses, fetches, and presents.

Failures become exit codes in one place, :func:`consign.errors.exits`; commands only
return the code of a deploy or status that ran. Every Docker SDK call runs inside
:func:`deployer.engine.sdk.engine_errors`, so an engine that does not answer is exit 6 with
one line naming it.
"""

from __future__ import annotations

import contextlib
import functools
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar, cast

import click
from click.core import ParameterSource

from consign.errors import (
    ConsignError,
    Interrupted,
    RegistryUnreachable,
    VersionRejected,
    exits,
)
from consign.exit_codes import ExitCode
from consign.registry_url import REGISTRY_URL
from consign.registryclient import ca_file_option
from consign.secrets.masker import masked_output
from consign.version_arg import VERSION
from deployer import run
from deployer.deploy import sources
from deployer.deploy.attempt import project_name
from deployer.deploy.hostvars import HostVariables
from deployer.deploy.outcome import Outcome
from deployer.deploy.request import (
    DeployRequest,
    DeploySettings,
    DescriptorSource,
    EngineTarget,
    LockAndRecord,
    TeardownRequest,
)
from deployer.deploy.workdir import Workdir
from deployer.ledger import lock, show
from deployer.ledger.client import LedgerClient, LedgerError
from deployer.options import env_file_option, verify_timeout_option
from deployer.orchestrators import orchestrator_for
from deployer.plan import flow as planning
from deployer.plan import text as plan_text
from deployer.report import render, write_json
from deployer.status_text import as_text
from deployer.versions import diff_cmd, show_cmd, versions_cmd

F = TypeVar("F", bound=Callable[..., Any])
COMMANDLINE = ParameterSource.COMMANDLINE


@contextlib.contextmanager
def _failure_report(request: DeployRequest) -> Iterator[None]:
    """With --report, a failed deploy still leaves a report saying what failed."""
    try:
        yield
    except (ConsignError, KeyboardInterrupt) as error:
        code = error.exit_code if isinstance(error, ConsignError) else Interrupted.exit_code
        if request.report:
            _write_failure(request, error, code)
        raise


def _write_failure(request: DeployRequest, error: BaseException, code: ExitCode) -> None:
    assert request.report
    masker = request.settings.variables.masker
    doc: dict[str, Any] = {
        "application": request.application,
        "release": request.release,
        "version": request.version,
        "project": request.project,
        "error": str(error) or type(error).__name__,
        "verdicts": {},
        "rollback": None,
        "exit_code": int(code),
    }
    with open(request.report, "w", encoding="utf-8") as fh:
        json.dump(masker.tree(doc), fh, indent=2)


def _project_option(text: str, required: bool = False) -> Callable[[F], F]:
    """--project (--stack, CONSIGN_PROJECT), the one declaration deploy, status and down use."""
    return click.option(
        "--project", "--stack", "project", envvar="CONSIGN_PROJECT", required=required, help=text
    )


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


class OrchestratorOption(click.Option):
    """An option only one orchestrator uses (``only_with``): given on the command line with
    the other one it is a usage error; set from the environment it is left alone (a job
    may set it for both)."""

    def __init__(self, *args: Any, only_with: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.only_with = only_with


def _refuse_other_orchestrators_options(orchestrator: str) -> None:
    """A usage error for an :class:`OrchestratorOption` of the other orchestrator given on
    the command line."""
    ctx = click.get_current_context()
    for param in ctx.command.params:
        if not isinstance(param, OrchestratorOption) or param.only_with == orchestrator:
            continue
        if param.name and ctx.get_parameter_source(param.name) == COMMANDLINE:
            flag = param.opts[0]
            raise click.UsageError(f"{flag} does not apply with --orchestrator {orchestrator}")


def _compose_option(func: F) -> F:
    return click.option(
        "--compose",
        "compose_cmd",
        cls=OrchestratorOption,
        only_with="compose",
        envvar="CONSIGN_COMPOSE",
        help="Compose command line (default: `docker compose`, else a v2 `docker-compose`).",
    )(func)


def _ledger_options(func: F) -> F:
    """--environment, --by, --report-token, --spool, --lock-wait, --lock-poll,
    --require-lock, --move-environment (deploy, down, verify), handed to the command as one
    ``ledger: LockAndRecord`` parameter."""
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
    names = ("environment", "by", "report_token", "spool", "lock_wait", "lock_poll",
             "require_lock", "move_environment")  # fmt: skip

    @functools.wraps(func)
    def grouped(*args: Any, **kwargs: Any) -> Any:
        kwargs["ledger"] = LockAndRecord(**{name: kwargs.pop(name) for name in names})
        return func(*args, **kwargs)

    for option in reversed(options):
        grouped = option(grouped)
    return cast(F, grouped)


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
@ca_file_option
@click.option("--git", "git_url", envvar="CONSIGN_GIT", help="Registry Git repo URL or path.")
@click.option("--file", "file_path", envvar="CONSIGN_FILE", help="A local descriptor file.")
@_project_option("Compose project (or Swarm stack) name (default: from APPLICATION and RELEASE).")
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
    "--skip-verify",
    envvar="CONSIGN_SKIP_VERIFY",
    is_flag=True,
    help="Do not run the descriptor's verification services (Compose profile `verify`); "
    "the deploy is recorded with its verification skipped.",
)
@verify_timeout_option(
    "Seconds the verification services have, together, to exit; those still running are "
    "stopped and timed out."
)
@click.option(
    "--pull",
    cls=OrchestratorOption,
    only_with="compose",
    envvar="CONSIGN_PULL",
    type=click.Choice(["missing", "never", "always"]),
    default="missing",
    show_default=True,
    help="Compose's pull policy for images.",
)
@click.option(
    "--resolve-image",
    cls=OrchestratorOption,
    only_with="swarm",
    envvar="CONSIGN_RESOLVE_IMAGE",
    type=click.Choice(["always", "changed", "never"]),
    default="always",
    show_default=True,
    help="Swarm: `docker stack deploy --resolve-image` (pin image digests from the registry).",
)
@click.option(
    "--workdir",
    cls=OrchestratorOption,
    only_with="compose",
    envvar="CONSIGN_WORKDIR",
    type=click.Path(file_okay=False, path_type=Path, resolve_path=True),
    help="Host folder the descriptor and its files are written under (<workdir>/<project>/, "
    "kept), so relative paths resolve there; in a container, mount it at the same path "
    "(docs/image.md).",
)
@click.option(
    "--require-pinned-images",
    cls=OrchestratorOption,
    only_with="compose",
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
@env_file_option()
@_ledger_options
@click.option(
    "--force",
    envvar="CONSIGN_FORCE",
    is_flag=True,
    help="Deploy a version even though it was rejected at the gate.",
)
@click.option(
    "--plan",
    envvar="CONSIGN_PLAN",
    is_flag=True,
    help="Only say what the deploy would change on the target (per service: create, "
    "recreate and why, start, remove, unchanged; images to pull; volumes), changing "
    "nothing, taking no lock, recording nothing: exit 0 when nothing would change, 10 "
    "when something would.",
)
@click.option(
    "--json",
    "as_json",
    envvar="CONSIGN_JSON",
    is_flag=True,
    help="With --plan: print the plan as JSON (docs/deployer.md, Plan).",
)
@click.option(
    "--bisect-step",
    envvar="CONSIGN_BISECT_STEP",
    hidden=True,
    help="Mark the records as a step of `consign bisect` (at most 200 bytes, one line).",
)
@exits()
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
    skip_verify: bool,
    verify_timeout: float,
    pull: str,
    resolve_image: str,
    workdir: Path | None,
    require_pinned_images: bool,
    report: str | None,
    env_file: str | None,
    ledger: LockAndRecord,
    force: bool,
    plan: bool,
    as_json: bool,
    bisect_step: str | None,
) -> ExitCode:
    """Deploy APPLICATION RELEASE VERSION (a number or `latest`) and watch every service.

    With --registry, the environment is locked through the registry for the deploy and its
    rollback, and the deploy (and rollback) is recorded in the registry's ledger. With
    --plan, only say what it would change."""
    named = application is not None and release is not None and version is not None
    if file_path is None and not named:
        raise click.UsageError("APPLICATION RELEASE VERSION are required unless --file is given")
    if file_path is None and not (registry or git_url):
        raise click.UsageError("one of --registry, --git or --file is required")
    if project is None:
        if not (application and release):
            raise click.UsageError("--project is required with --file and no APPLICATION RELEASE")
        project = project_name(application, release)
    _refuse_other_orchestrators_options(orchestrator)
    ctx = click.get_current_context()
    if as_json and not plan and ctx.get_parameter_source("as_json") == COMMANDLINE:
        raise click.UsageError("--json applies to --plan (a deploy's JSON is --report FILE)")
    variables = HostVariables.read(env_file)  # exit 2 for a file others may read
    request = DeployRequest(
        application,
        release,
        version,
        source=DescriptorSource(registry, token, ca_file, git_url, file_path),
        target=EngineTarget(orchestrator, host, compose_cmd),
        settings=DeploySettings(
            project,
            timeout=timeout,
            stable=stable,
            rollback=rollback,
            verify=not skip_verify,
            verify_timeout=verify_timeout,
            pull=pull,
            require_pinned=require_pinned_images,
            resolve_image=resolve_image,
            workdir=Workdir(workdir),
            variables=variables,
        ),
        ledger=ledger.options(registry, token, ca_file),
        report=report,
        force=force,
        bisect_step=bisect_step,
    )
    if plan:  # compose config's output holds resolved values: masked like a deploy's
        with masked_output(variables.masker):
            return _plan(request, as_json)
    with masked_output(variables.masker), _failure_report(request):
        return _deploy(request)


def _fetch(request: DeployRequest) -> sources.Descriptor:
    source = request.source
    if source.file_path is not None:
        return sources.from_file(
            source.file_path, request.application, request.release, request.version
        )
    assert request.application and request.release and request.version
    return source.fetch(request.application, request.release, request.version)


def _admit_variables(request: DeployRequest, descriptor: sources.Descriptor) -> None:
    """A variable nobody supplies: exit 4 before the lock, the engine, anything (the .env
    beside the descriptor counts: Compose reads it)."""
    settings = request.settings
    folder = settings.workdir.root / request.project if settings.workdir.root else None
    if request.source.file_path is not None:
        folder = Path(request.source.file_path).resolve().parent
    if folder is not None and request.target.orchestrator == "compose":
        settings.variables.beside(folder)
    for warning in settings.variables.admit(descriptor.text):
        click.echo(warning, err=True)


def _plan(request: DeployRequest, as_json: bool) -> ExitCode:
    """`deploy --plan`: what the deploy would change (:mod:`deployer.plan`), nothing done."""
    descriptor = _fetch(request)
    _admit_variables(request, descriptor)
    found = planning.plan(request, descriptor, sys.stderr if as_json else sys.stdout)
    if descriptor.rejected is not None:
        r = descriptor.rejected
        found.warnings.append(
            f"version {descriptor.version} was rejected by {r.get('by')} at {r.get('at')}: "
            f"{r.get('reason') or '(no reason given)'}; the deploy needs --force"
        )
    if request.report:
        Path(request.report).write_text(json.dumps(found.as_json(), indent=2) + "\n")
    if as_json:
        click.echo(json.dumps(found.as_json(), indent=2))
    else:
        click.echo(plan_text.as_text(found), nl=False)
    return ExitCode.PLAN_CHANGES if found.changes else ExitCode.OK


def _deploy(request: DeployRequest) -> ExitCode:
    """Fetch, pass the gate, deploy (:mod:`deployer.run`), then say how it went."""
    descriptor = _fetch(request)
    _gate(descriptor, request.force)
    _admit_variables(request, descriptor)
    settings = request.settings
    done = run.deploy(request, descriptor, sys.stdout)
    mask = settings.variables.masker.mask
    shown = _final(done.outcome, done.verb, mask=mask)
    if done.rollback is not None:
        _final(done.rollback, done.verb.replace("deploy", "rollback"), shown, mask)
    if request.report:
        masker = request.settings.variables.masker
        write_json(request.report, done.outcome, done.rollback, int(done.code), masker)
    return done.code


def _final(
    outcome: Outcome,
    what: str,
    shown: dict[str, str] | None = None,
    mask: Callable[[str], str] | None = None,
) -> dict[str, str]:
    """The phase's report (its logs printed once: those ``shown`` before are not repeated)."""
    return render(outcome, f"{what} {outcome.project}: {outcome.what}", shown=shown, mask=mask)


@click.command("status")
@_project_option("Only this Compose project (or Swarm stack).")
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
@ca_file_option
@exits()
def status_cmd(
    project: str | None,
    orchestrator: str,
    host: str | None,
    as_json: bool,
    environment: str | None,
    registry: str | None,
    token: str | None,
    ca_file: str | None,
) -> ExitCode:
    """What Consignment deployed on the target, and each service's verdict now.

    With --environment and --registry: what the registry's ledger says runs in that
    environment (from any machine); exit 1 when its current deployment is not ok."""
    if environment:
        if not registry:
            raise click.UsageError("--environment needs --registry (the ledger is read there)")
        return _ledger_status(environment, LedgerClient(registry, token, ca_file=ca_file), as_json)
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


def _ledger_status(environment: str, ledger: LedgerClient, as_json: bool) -> ExitCode:
    try:
        state = ledger.environment(environment)
    except LedgerError as e:
        raise RegistryUnreachable(f"cannot read {environment} from the ledger: {e}") from e
    click.echo(json.dumps(state, indent=2) if as_json else show.environment_text(state), nl=as_json)
    deployed = state.get("deployed") or []
    # a failed verification rolled back left the older version running, as rolled_back does
    ok = all(
        d.get("outcome") in ("ok", "verified", "rolled_back", "torn_down")
        or (d.get("outcome") == "verification_failed" and d.get("rolled_back_to") is not None)
        for d in deployed
    )
    return ExitCode.OK if ok else ExitCode.FAILED


@click.command("down")
@_project_option("Compose project (or Swarm stack) to remove.", required=True)
@click.option(
    "--volumes",
    cls=OrchestratorOption,
    only_with="compose",
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
@ca_file_option
@env_file_option()
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
    ca_file: str | None,
    env_file: str | None,
    ledger: LockAndRecord,
) -> ExitCode:
    """Remove a project's containers, networks and record (volumes kept unless --volumes),
    or with --orchestrator swarm a stack's services, tasks and networks. With --registry,
    the environment is locked for the teardown and it is recorded."""
    _refuse_other_orchestrators_options(orchestrator)
    request = TeardownRequest(
        project,
        EngineTarget(orchestrator, host, compose_cmd, volumes),
        ledger.options(registry, token, ca_file),
    )
    # a teardown reads no descriptor, so needs no variable; the file is checked as for a
    # deploy (one CONSIGN_ENV_FILE serves a job's every command) and its values masked
    variables = HostVariables.read(env_file)
    with masked_output(variables.masker):
        run.teardown(request, sys.stdout)
    return ExitCode.OK


commands: list[click.Command] = [
    deploy_cmd,
    status_cmd,
    down_cmd,
    versions_cmd,
    show_cmd,
    diff_cmd,
]
