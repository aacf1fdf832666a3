"""``consign deploy --plan``: the plan of one deploy request, changing nothing.

No lock is taken (neither the environment's in the registry nor the project's lock
container on the engine: a plan must never wait behind a deploy nor hold one up), no
record is written (no project record, no ledger record), nothing is pulled or created.
The descriptor is written where the deploy writes it (a scratch folder, or
``--workdir/<project>/`` on the deployer's host, so relative paths resolve to the same
host paths and the configuration hashes are the deploy's) and read with Compose's
``config``; the engine is only listed and inspected.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TextIO

from deployer.deploy import envfiles, record
from deployer.deploy import labels as lb
from deployer.deploy.attempt import check_images, expected_containers
from deployer.deploy.record import Deployed
from deployer.deploy.request import DeployRequest
from deployer.deploy.sources import Descriptor
from deployer.engine.compose import ComposeRunner
from deployer.engine.sdk import engine, engine_errors
from deployer.plan import compare, dryrun, reading
from deployer.plan.involved import in_progress_warning, new_version, reader_for, version_of
from deployer.plan.model import DeployPlan, Wanted
from deployer.plan.registrydiff import registry_diff
from deployer.plan.stackplan import plan_stack


def plan_compose(request: DeployRequest, descriptor: Descriptor, out: TextIO) -> DeployPlan:
    """The Compose project's plan (see the module doc)."""
    target, project = request.target, request.project
    compose = ComposeRunner(target.host, target.compose_cmd)
    client = engine(target.host)
    try:
        with engine_errors(target.host):
            running = record.read(client, project)
            return _plan(request, descriptor, compose, client, running, out)
    finally:
        client.close()


def _plan(
    request: DeployRequest,
    d: Descriptor,
    compose: ComposeRunner,
    client: Any,
    running: Deployed | None,
    out: TextIO,
) -> DeployPlan:
    settings, project = request.settings, request.project
    with settings.workdir.folder(project) as scratch:
        path = Path(d.location) if d.kind == "file" else Path(scratch, "docker-compose.yml")
        if d.kind != "file":
            path.write_text(d.text, encoding="utf-8")
            envfiles.materialise(Path(scratch), d.files)
        settings.workdir.check(d.text, path.parent, client, out, kept=d.kind == "file")
        envfiles.check(d.text, path.parent, local=d.kind == "file")
        # The deploy's two files: the descriptor and our labels override for the services
        # it runs. The names are read from the text so that Compose's model, the hashes and
        # its dry run all run at once; checked against the model below.
        guessed = reading.service_names(d.text)
        override = lb.write_override(Path(scratch), guessed, _labels(d, guessed))
        files = [path, override]
        with reading.Concurrent(compose, project, files, settings.pull) as compose_said:
            model = compose_said.model()
            services = model.get("services") or {}
            check_images(services)
            replicas = {name: expected_containers(spec) for name, spec in services.items()}
            running_ones = [name for name in services if replicas[name] > 0]
            labels = _labels(d, running_ones)
            images = {name: str(spec.get("image") or "") for name, spec in services.items()}
            ids = reading.image_ids(client, images.values())
            if not set(running_ones) <= set(guessed):  # the text said less than Compose
                compose_said.stop_dry_run()
                override = lb.write_override(Path(scratch), running_ones, labels)
                hashes = reading.compose_view(compose, project, files, model=False)[1]
                said: dryrun.DryRun | str | None = None
            else:
                hashes = compose_said.hashes()
                said = None
            wanted = [
                Wanted(
                    name,
                    images[name],
                    hashes.get(name, ""),
                    labels.get(name, {}),
                    replicas[name],
                    ids.get(images[name]) if images[name] else None,
                )
                for name in services
            ]
            seen = reading.containers(client, project)
            plan = DeployPlan(project, "compose", new_version(d), version_of(running))
            plan.services = compare.plan_services(wanted, seen)
            plan.images = compare.images_to_pull(wanted, settings.pull)
            plan.resources = compare.resources(
                "volume", model.get("volumes") or {}, reading.volume_names(client),
                compare.volume_users(services),
            ) + compare.resources(
                "network", model.get("networks") or {}, reading.network_names(client),
                compare.network_users(services),
            )  # fmt: skip
            if plan.images:  # it would ask the images' registry: its answer is not used
                compose_said.stop_dry_run()
            elif compose_said.dry_running:
                said = compose_said.dry_run()
            else:
                said = dryrun.dry_run(compose, project, files, settings.pull)
            plan.cross_check = _cross_check(said, project, plan)
    plan.warnings += in_progress_warning(running)
    plan.registry_diff, plan.registry_note = registry_diff(
        reader_for(request), plan.running, plan.new
    )
    return plan


def _labels(d: Descriptor, services: list[str]) -> dict[str, dict[str, str]]:
    return {name: lb.service_labels(d, name) for name in services}


def _cross_check(
    said: dryrun.DryRun | str | None, project: str, plan: DeployPlan
) -> dict[str, Any]:
    """Compose's dry run against the plan, when it could say something: not when images
    are to be pulled (it would resolve them at their registry, and fail offline)."""
    if plan.images:
        return {"ran": False, "why": "images are to be pulled (the dry run would resolve them)"}
    if said is None or isinstance(said, str):
        return {"ran": False, "why": f"it failed: {said}"}
    lines = dryrun.disagreements(said, project, plan.services, plan.resources)
    return {"ran": True, "disagreements": lines}


def plan(request: DeployRequest, descriptor: Descriptor, out: TextIO) -> DeployPlan:
    """The request's plan, for its orchestrator."""
    if request.target.orchestrator == "swarm":
        return plan_stack(request, descriptor, out)
    return plan_compose(request, descriptor, out)
