"""``consign drift --environment NAME``: does the engine still run what the ledger says
was deployed there? A Compose project is compared container by container
(:mod:`deployer.ledger.drift`), a Swarm stack service by service
(:mod:`deployer.ledger.stackdrift`: image, replicas, component/build labels). Exit 0 when
nothing differs, 1 when something does (the drift is then recorded in the ledger as an
event of its own, unless ``--no-record``), 5 when the registry cannot say, 6 when the
engine does not answer or, for a recorded stack, is not a swarm manager (NotAManager, as
for ``--orchestrator swarm``): failures go through
:mod:`consign.errors` like every other command's.

``--env-file`` (``CONSIGN_ENV_FILE``, one file for a job's every command) is checked as a
deploy checks it (exit 2 when others may read it) and its values are masked in the output.
A Compose project is compared by what the engine recorded (config hashes, images), so no
``${VAR}`` is resolved; a stack's wanted replicas are read from its descriptor with its
``${VAR}`` resolved from the environment and the file, as the deploy resolved them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from consign.errors import RegistryUnreachable, exits
from consign.exit_codes import ExitCode
from consign.interpolation import InterpolationError, interpolate
from consign.registry_url import REGISTRY_URL
from consign.registryclient import ca_file_option
from consign.secrets.masker import masked_output
from deployer.deploy.hostvars import HostVariables
from deployer.engine.sdk import engine, engine_errors
from deployer.ledger import drift, record, stackdrift
from deployer.ledger.client import LedgerClient, LedgerError
from deployer.ledger.session import user
from deployer.ledger.spool import Spool, default_directory, deliver
from deployer.options import env_file_option


@click.command("drift")
@click.option(
    "--environment",
    envvar="CONSIGN_ENVIRONMENT",
    required=True,
    help="The environment whose recorded deployment is compared.",
)
@click.option(
    "--registry",
    envvar="CONSIGN_REGISTRY",
    required=True,
    type=REGISTRY_URL,
    help="Registry base URL (http:// or https://).",
)
@click.option("--token", envvar="CONSIGN_TOKEN", help="Bearer token for reading the registry.")
@click.option(
    "--report-token",
    envvar="CONSIGN_REPORT_TOKEN",
    help="Bearer token for recording the drift (default: --token).",
)
@click.option(
    "--project",
    envvar="CONSIGN_PROJECT",
    help="Compose project (default: the one recorded with the deployment).",
)
@click.option("--host", envvar="DOCKER_HOST", help="Docker Engine (unix://, tcp://, ssh://).")
@click.option("--by", envvar="CONSIGN_BY", default=lambda: user(), help="Who checks (recorded).")
@click.option(
    "--record/--no-record",
    envvar="CONSIGN_RECORD",
    default=True,
    show_default=True,
    help="Record a drift found as a ledger event.",
)
@click.option(
    "--spool",
    envvar="CONSIGN_SPOOL",
    type=click.Path(path_type=Path),
    help="Spool directory for records the registry cannot take now.",
)
@click.option("--json", "as_json", envvar="CONSIGN_JSON", is_flag=True, help="Print JSON.")
@env_file_option(
    "Values for the descriptor's ${VAR} on this host, as for deploy (a stack's replicas; "
    "refused unless only its owner can read it; its values are masked)."
)
@ca_file_option
@exits()
def drift_cmd(
    environment: str, registry: str, token: str | None, report_token: str | None,
    project: str | None, host: str | None, by: str, record: bool, spool: Path | None,
    as_json: bool, env_file: str | None, ca_file: str | None,
) -> ExitCode:  # fmt: skip
    """Compare the engine with the deployment recorded for ENVIRONMENT."""
    variables = HostVariables.read(env_file)  # exit 2 for a file others may read
    with masked_output(variables.masker):
        return _drift(environment, registry, token, report_token, project, host, by, record,
                      spool, as_json, variables, ca_file)  # fmt: skip


def _drift(
    environment: str, registry: str, token: str | None, report_token: str | None,
    project: str | None, host: str | None, by: str, record: bool, spool: Path | None,
    as_json: bool, variables: HostVariables, ca_file: str | None,
) -> ExitCode:  # fmt: skip
    client = LedgerClient(registry, token, ca_file=ca_file)
    try:
        state = client.environment(environment)
    except LedgerError as e:
        raise RegistryUnreachable(f"cannot read {environment} from the ledger: {e}") from e
    docker = engine(host)
    try:
        with engine_errors(host):
            return _check(environment, state, docker, host, project, as_json, record, by,
                          registry, (token, report_token or token), spool, ca_file,
                          variables)  # fmt: skip
    finally:
        docker.close()


def _check(
    environment: str, state: dict[str, Any], docker: Any, host: str | None,
    project: str | None, as_json: bool, record: bool, by: str, registry: str,
    tokens: tuple[str | None, str | None], spool: Path | None, ca_file: str | None,
    variables: HostVariables,
) -> ExitCode:  # fmt: skip
    results: list[dict[str, Any]] = []
    for deployed in state.get("deployed") or []:
        name = project or (deployed.get("engine") or {}).get("project")
        if not name:
            raise click.UsageError(f"{environment}: the record names no project; pass --project")
        if (deployed.get("engine") or {}).get("orchestrator") == "swarm":
            found = _stack(deployed, docker, name, (registry, tokens[0], ca_file), as_json,
                           variables)  # fmt: skip
            results.append({"record": deployed, "project": name, "differences": found,
                            "containers": [], "stack": True})  # fmt: skip
            continue
        listed, again = drift.watched_containers(docker, name)
        containers = [c.attrs for c in listed]
        found = drift.compute(deployed, containers, again)
        results.append({"record": deployed, "project": name, "differences": found,
                        "containers": containers})  # fmt: skip
    drifted = [r for r in results if r["differences"]]
    _print(environment, results, as_json)
    lines: list[str] = []
    if drifted and record:
        reporter = LedgerClient(registry, tokens[1], ca_file=ca_file)
        box = Spool(spool or default_directory())
        for r in drifted:
            body = _drift_record(environment, r, by, docker, host)
            lines.append(deliver(reporter, body, box).line)
    for line in lines:
        click.echo(line, err=as_json)
    return ExitCode.FAILED if drifted else ExitCode.OK


def _recorded_version(rec: dict[str, Any]) -> Any:
    # rolled back (outcome rolled_back, or verification_failed): the older version runs
    back = rec.get("rolled_back_to")
    return rec["version"] if back is None else back


def _stack(
    rec: dict[str, Any],
    docker: Any,
    stack: str,
    registry: tuple[str, str | None, str | None],
    quiet: bool,
    variables: HostVariables,
) -> list[drift.Difference]:
    """The stack's differences; the replicas the recorded version asks for are read from
    its descriptor in the registry (``registry``: URL, token, CA file; one line, and only
    running vs wanted, when it cannot)."""
    from docker.errors import APIError

    from deployer.deploy import sources
    from deployer.swarm.stack import NotAManager
    from deployer.swarm.watch import stack_services

    try:
        docs = stack_services(docker, stack)
    except APIError as e:
        raise NotAManager(
            f"stack {stack}: this engine cannot list Swarm services ({e.explanation or e}); "
            "point --host at a manager of the swarm"
        ) from e
    replicas: dict[str, int | None] | None = None
    version = _recorded_version(rec)
    try:
        url, token, ca_file = registry
        got = sources.from_registry(
            url, rec["application"], rec["release"], str(version), token, ca_file
        )
        replicas = wanted_replicas(got.text, variables.lookup)
    except Exception as e:  # the other comparisons stand without it
        click.echo(f"stack {stack}: replicas compared with what the services want only: "
                   f"v{version}'s descriptor cannot be read: {e}", err=quiet)  # fmt: skip
    return stackdrift.compute(rec, docs, stackdrift.running_images(docker, docs), replicas)


def wanted_replicas(text: str, lookup: Any) -> dict[str, int | None]:
    """service -> the replicas a stack's descriptor asks for (None: global), its ``${VAR}``
    resolved by ``lookup`` as the deploy resolved them (StackInvalid, InterpolationError or
    ValueError when it cannot say)."""
    from deployer.swarm.deploy import load, replicas_of

    try:
        resolved = interpolate(text, lookup, strict=True)
    except InterpolationError as e:
        raise ValueError(f"its variables: {e}") from e
    spec = load(resolved.replace("$$", "$"))["services"]
    return {n: replicas_of(s) for n, s in spec.items() if isinstance(s, dict)}


def _print(environment: str, results: list[dict[str, Any]], as_json: bool) -> None:
    """Print the comparison, as text or JSON."""
    if as_json:
        doc = [
            {
                "environment": environment,
                "project": r["project"],
                "application": r["record"]["application"],
                "release": r["record"]["release"],
                "version": r["record"]["version"],
                "record": r["record"]["id"],
                "differences": [vars(d) for d in r["differences"]],
            }
            for r in results
        ]
        click.echo(json.dumps(doc, indent=2))
        return
    if not results:
        click.echo(f"{environment}: the ledger records nothing deployed")
    for r in results:
        rec = r["record"]
        head = f"{environment}: {rec['application']}/{rec['release']} v{rec['version']} "
        where = "stack" if r.get("stack") else "project"
        head += f"({where} {r['project']}, recorded {rec['finished']} by {rec['by']})"
        click.echo(head + (": drift" if r["differences"] else ": no drift"))
        for d in r["differences"]:
            click.echo(f"  {d.line}")


def _drift_record(
    environment: str, found: dict[str, Any], by: str, docker: Any, host: str | None
) -> dict[str, Any]:
    rec = found["record"]
    now = record.utc_now()
    return record.build(
        kind="drift",
        environment=environment,
        application=rec["application"],
        release=rec["release"],
        version=_recorded_version(rec),
        commit=None,
        outcome="drift",
        started=now,
        finished=now,
        by=by,
        engine=record.engine_info(docker, host, found["project"]),
        source=rec.get("source"),
        service_entries=drift.services_of(found["differences"], found["containers"]),
    )
