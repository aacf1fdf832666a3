"""Lock → deploy or teardown → record: the one place that does it, for both orchestrators.

``consign deploy`` and ``consign down`` (and any command that changes a project: a verify,
a redeploy) hand a typed request (:mod:`deployer.deploy.request`) to :func:`deploy` or
:func:`teardown`. They open the engine through the chosen
:class:`~deployer.orchestrators.Orchestrator`, take the environment lock from the ledger,
do the work inside it, and report the records to the ledger before the lock goes (the
next deploy sees this one), Ctrl-C included. Nothing here reads click.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, TextIO

from consign.errors import ConsignError
from consign.exit_codes import ExitCode
from consign.textclip import clip_utf8
from deployer.deploy.outcome import Outcome
from deployer.deploy.record import Deployed
from deployer.deploy.request import (
    DeployRequest,
    EngineTarget,
    LedgerOptions,
    TeardownRequest,
    VerifyRequest,
)
from deployer.deploy.sources import Descriptor
from deployer.engine.sdk import engine_errors
from deployer.ledger import endings, outcomes, projectenv
from deployer.ledger import record as ledger_record
from deployer.ledger.session import Ledger, ledger_for
from deployer.orchestrators import orchestrator_for
from deployer.verification.rules import Verification


@dataclass(frozen=True)
class Deployment:
    """What a deploy came to: the requested attempt, the rollback (or Swarm's own), the
    exit code (the requested deploy's) and the verb its report is titled with."""

    outcome: Outcome
    rollback: Outcome | None
    code: ExitCode
    verb: str


def open_ledger(
    options: LedgerOptions, target: EngineTarget, client: Any, project: str, why_not: str = ""
) -> tuple[Ledger, dict[str, Any]]:
    """The command's ledger and the engine description its records carry."""
    with engine_errors(target.host):
        engine_info = ledger_record.engine_info(client, target.host, project)
    if target.orchestrator == "swarm":
        engine_info["orchestrator"] = "swarm"  # "project" is then the stack
    ledger = ledger_for(
        registry=options.registry,
        token=options.token,
        environment=options.environment,
        by=options.by,
        spool=options.spool,
        lock_wait=options.lock_wait,
        engine_name=str(engine_info.get("name") or "engine"),
        project=project,
        why_not=why_not,
        require_lock=options.require_lock,
        move_environment=options.move_environment,
        lock_poll=options.lock_poll,
        ca_file=options.ca_file,
        held=options.held_lock,
    )
    ledger.engine_info = engine_info
    return ledger, engine_info


def deploy(request: DeployRequest, descriptor: Descriptor, out: TextIO) -> Deployment:
    """Deploy ``descriptor`` as the request says (and roll back when it fails), inside the
    environment lock; every attempt is recorded (a killed deployer's earlier one too)."""
    target, project = request.target, request.project
    why_not = "a --file deploy is not recorded" if request.source.file_path is not None else ""
    runs = orchestrator_for(target.orchestrator, target.host, target.compose_cmd)
    client = runs.connect()
    try:
        ledger, engine_info = open_ledger(request.ledger, target, client, project, why_not)
        holder = {
            "application": request.application,
            "release": request.release,
            "version": descriptor.version,
        }
        with engine_errors(target.host), ledger.locked(holder, client, project, runs.deployed):
            started = ledger_record.utc_now()
            found = _killed(runs.deployed(client, project), client, ledger, engine_info, out)
            settings = replace(request.settings, by=ledger.by, environment=ledger.environment)
            observer = runs.observer(client, project)
            try:
                outcome, back, code, _ = runs.deploy(
                    descriptor, client, settings, request.source.previous, out, observer
                )
            finally:  # after Ctrl-C too: the attempt it stopped is recorded as interrupted
                records = found + _marked(
                    outcomes.deploy_records(
                        observer, started=started, environment=ledger.environment,
                        by=ledger.by, engine=engine_info,
                    ),
                    request.bisect_step,
                )  # fmt: skip
                # before the lock goes: the next deploy sees this one; no secret value in it
                ledger.report(settings.variables.masker.tree(records))
    finally:
        client.close()
    return Deployment(outcome, back, code, runs.verb)


#: The registry's limit on a record's ``bisect`` mark (bytes of UTF-8).
MAX_BISECT_STEP = 200


def _marked(records: list[dict[str, Any]], step: str | None) -> list[dict[str, Any]]:
    """The records of this deploy with ``consign bisect``'s mark (one line, clipped to
    the registry's limit), when it is a step of a bisection."""
    if not step:
        return records
    mark = clip_utf8(" ".join(step.split()), MAX_BISECT_STEP)
    return [{**r, "bisect": mark} for r in records]


def _killed(
    previous: Deployed | None,
    client: Any,
    ledger: Ledger,
    engine_info: dict[str, Any],
    out: TextIO,
) -> list[dict[str, Any]]:
    """The record of an earlier deploy of the project whose deployer was killed (its
    project record still says it is in progress), said in one line; [] when none."""
    if previous is None or not endings.killed(previous):
        return []
    print(endings.killed_line(previous), file=out, flush=True)
    return [
        endings.killed_record(
            client, previous, environment=ledger.environment, by=ledger.by, engine=engine_info
        )
    ]


def teardown(request: TeardownRequest, out: TextIO) -> None:
    """Remove the project (a retried teardown is not an error) inside the environment
    lock, and record the teardown of what was deployed there (nothing recorded without a
    Consignment record or for a --file deploy)."""
    target, project = request.target, request.project
    runs = orchestrator_for(target.orchestrator, target.host, target.compose_cmd, target.volumes)
    client = runs.connect()  # an engine that does not answer is exit 6, before anything runs
    try:
        # what was deployed: the project record, or the stack's services' labels (read
        # before they go)
        was = runs.deployed(client, project)
        what = runs.label(project)
        why_not = "" if was and was.application else f"{what} has no Consignment record"
        if was is not None and was.source == "file":
            why_not = f"{what} was deployed from a --file, which is not recorded"
        ledger, engine_info = open_ledger(request.ledger, target, client, project, why_not)
        started = ledger_record.utc_now()
        holder = {"application": was.application, "release": was.release} if was else {}
        with (
            engine_errors(target.host),
            ledger.locked({**holder, "teardown": project}, client, project),
        ):
            if not runs.teardown(client, project):
                print(f"no {runs.kind} {project} on the {runs.where}; nothing to remove", file=out)
                return
            print(f"removed {runs.kind} {project}", file=out, flush=True)
            projectenv.forget(client, project)  # a torn-down project may come back as any
            if was is None or not (was.application and was.release):
                return
            gone = outcomes.teardown_record(
                application=was.application, release=was.release, version=was.version,
                commit=was.commit, source=was.registry, started=started,
                environment=ledger.environment, by=ledger.by, engine=engine_info,
            )  # fmt: skip
            ledger.report([gone])
    finally:
        client.close()


class NothingToVerify(ConsignError):
    """``consign verify`` of a project with no Consignment record of a version (exit 1)."""

    label = "nothing to verify"


def verify(request: VerifyRequest, out: TextIO) -> Verification:
    """Re-run the verification of the version the project runs (its project record names
    it; the descriptor is fetched from the source, ``--registry`` first), inside the
    environment lock (it starts containers), and record a ``verify`` record."""
    target, project = request.target, request.project
    runs = orchestrator_for(target.orchestrator, target.host, target.compose_cmd)
    client = runs.connect()
    try:
        was = runs.deployed(client, project)
        if was is None or not (was.application and was.version):
            raise NothingToVerify(f"project {project} has no Consignment record of a version")
        asked = (request.application, request.release)
        if asked != (None, None) and asked != (was.application, was.release):
            raise NothingToVerify(
                f"project {project} runs {was.application}/{was.release} v{was.version}, "
                f"not {request.application}/{request.release}"
            )
        descriptor = request.source.previous(was)
        variables = request.settings.variables
        for warning in variables.admit(descriptor.text):  # exit 4 before the lock
            print(warning, file=out)
        ledger, engine_info = open_ledger(request.ledger, target, client, project)
        holder = {"application": was.application, "release": was.release,
                  "version": was.version, "verify": project}  # fmt: skip
        with engine_errors(target.host), ledger.locked(holder, client, project, runs.deployed):
            started = ledger_record.utc_now()
            found = runs.verify(descriptor, client, request.settings, out)
            ledger.report(
                variables.masker.tree(
                    [
                        outcomes.verify_record(
                            application=was.application,
                            release=was.release,
                            version=was.version,
                            commit=was.commit or None,
                            source=descriptor.location,
                            started=started,
                            environment=ledger.environment,
                            by=ledger.by,
                            engine=engine_info,
                            verification=found,
                        )
                    ]
                )
            )
    finally:
        client.close()
    return found
