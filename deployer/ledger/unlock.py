"""``consign unlock``: break a stranded lock, saying whose and why.

``--environment E --registry URL --reason "..."`` breaks the environment's lock in the
registry (role ``report``); the registry records it in E's ledger as an ``unlock`` event
(who, why, the lock as it was). ``--project P --reason "..."`` removes the project's lock
on the engine (``--host``/``DOCKER_HOST``; :mod:`.projectlock`). Both may be given.
``--lock-id`` breaks the environment's lock only if it is still that one, so a retried
unlock never breaks the next deploy's lock. A lock that is already free is said so, exit 0.
"""

from __future__ import annotations

import click

from consign.errors import EnvironmentLocked, RegistryUnreachable, exits
from consign.exit_codes import ExitCode
from consign.registry_url import REGISTRY_URL
from consign.registryclient import ca_file_option
from deployer.engine.sdk import engine, engine_errors
from deployer.ledger import projectlock
from deployer.ledger.client import LedgerClient, LedgerError
from deployer.ledger.session import user


@click.command("unlock")
@click.option("--environment", envvar="CONSIGN_ENVIRONMENT", help="Break this environment's lock.")
@click.option(
    "--registry",
    envvar="CONSIGN_REGISTRY",
    type=REGISTRY_URL,
    help="Registry base URL (--environment).",
)
@ca_file_option
@click.option("--token", envvar="CONSIGN_TOKEN", help="Bearer token (role report).")
@click.option(
    "--report-token",
    envvar="CONSIGN_REPORT_TOKEN",
    help="Bearer token for breaking the lock (default: --token).",
)
@click.option(
    "--lock-id",
    envvar="CONSIGN_LOCK_ID",
    help="Break the environment's lock only if it is this one (GET .../lock shows its id).",
)
@click.option(
    "--project",
    envvar="CONSIGN_PROJECT",
    help="Remove this Compose project's (or Swarm stack's) lock on the engine.",
)
@click.option("--host", envvar="DOCKER_HOST", help="Docker Engine (unix://, tcp://, ssh://).")
@click.option(
    "--reason",
    envvar="CONSIGN_UNLOCK_REASON",
    required=True,
    help="Why the lock is broken (recorded in the ledger).",
)
@click.option("--by", envvar="CONSIGN_BY", default=lambda: user(), help="Who breaks it (recorded).")
@exits()
def unlock_cmd(
    environment: str | None, registry: str | None, ca_file: str | None, token: str | None,
    report_token: str | None, lock_id: str | None, project: str | None, host: str | None,
    reason: str, by: str,
) -> ExitCode:  # fmt: skip
    """Break a stranded lock: an environment's (recorded in its ledger) and/or a project's
    on its engine."""
    if not environment and not project:
        raise click.UsageError("give --environment (with --registry) and/or --project")
    if environment and not registry:
        raise click.UsageError("--environment needs --registry (the lock lives there)")
    if not reason.strip():
        raise click.UsageError("--reason must say why (it is recorded)")
    if project:
        _break_project(project, host)
    if environment and registry:
        ledger = LedgerClient(registry, report_token or token, ca_file=ca_file)
        _break_environment(ledger, environment, by, reason, lock_id)
    return ExitCode.OK


def _break_project(project: str, host: str | None) -> None:
    client = engine(host)
    try:
        with engine_errors(host):
            found = projectlock.holder_of(client, project)
            if found is None:
                click.echo(f"project {project} is not locked on this engine; nothing to remove")
                return
            container, holder = found
            projectlock.remove(client, container)
        click.echo(f"removed the lock of {projectlock.describe(project, holder)}")
    finally:
        client.close()


def _break_environment(
    client: LedgerClient, environment: str, by: str, reason: str, lock_id: str | None
) -> None:
    try:
        answer = client.break_lock(environment, by, reason, lock_id)
    except LedgerError as e:
        if e.status == 404 and not e.body.get("lock"):
            click.echo(f"{environment} is not locked; nothing to break")
            return
        if e.status == 404:  # --lock-id names a lock that another one has replaced
            raise EnvironmentLocked(f"{e.message}; nothing was broken") from e
        raise RegistryUnreachable(f"cannot break the lock of {environment}: {e.message}") from e
    click.echo(str(answer.get("message") or f"broke the lock of {environment}"))
    record = answer.get("record")
    if isinstance(record, dict):
        click.echo(f"recorded in the ledger of {environment} (record {record.get('id')})")
    else:
        click.echo(f"not recorded in the ledger: {answer.get('not_recorded')}")
