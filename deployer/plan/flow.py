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

from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from consign.errors import ConsignError
from deployer.deploy import envfiles, record
from deployer.deploy import labels as lb
from deployer.deploy.attempt import check_images, expected_containers
from deployer.deploy.record import Deployed
from deployer.deploy.request import DeployRequest
from deployer.deploy.sources import Descriptor
from deployer.engine.compose import ComposeRunner
from deployer.engine.sdk import engine, engine_errors
from deployer.plan import compare, dryrun, keydiff, reading
from deployer.plan.involved import in_progress_warning, new_version, reader_for, version_of
from deployer.plan.model import DeployPlan, ServicePlan, Wanted
from deployer.plan.registrydiff import registry_diff
from deployer.plan.stackplan import plan_stack
from deployer.verification.rules import verification_services


def plan_compose(request: DeployRequest, descriptor: Descriptor, out: TextIO) -> DeployPlan:
    """The Compose project's plan (see the module doc)."""
    target, project = request.target, request.project
    compose = ComposeRunner(target.host, target.compose_cmd, request.settings.variables.passed)
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
            found = model.get("services") or {}
            check_images(found)
            tests = verification_services(found)
            services = {name: spec for name, spec in found.items() if name not in tests}
            replicas = {name: expected_containers(spec) for name, spec in services.items()}
            running_ones = [name for name in services if replicas[name] > 0]
            labels = _labels(d, running_ones)
            images = {name: str(spec.get("image") or "") for name, spec in found.items()}
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
            # the deploy pulls a verification service's image when it prepares the tests
            checks = [Wanted(t, images[t], "", {}, 1, ids.get(images[t])) for t in tests]
            verify = settings.verify
            seen = reading.containers(client, project)
            plan = DeployPlan(project, "compose", new_version(d), version_of(running))
            plan.services = compare.plan_services(wanted, seen)
            plan.services += compare.verification_plans(checks, verify)
            plan.images = compare.images_to_pull(wanted + (checks if verify else []), settings.pull)
            # what `up` itself pulls (the dry run would resolve those at their registry)
            up_pulls = compare.images_to_pull(wanted, settings.pull)
            plan.resources = compare.resources(
                "volume", model.get("volumes") or {}, reading.volume_names(client),
                compare.volume_users(services),
            ) + compare.resources(
                "network", model.get("networks") or {}, reading.network_names(client),
                compare.network_users(services),
            )  # fmt: skip
            if up_pulls:  # it would ask the images' registry: its answer is not used
                compose_said.stop_dry_run()
            elif compose_said.dry_running:
                said = compose_said.dry_run()
            else:
                said = dryrun.dry_run(compose, project, files, settings.pull)
            plan.cross_check = _cross_check(said, project, plan, bool(up_pulls))
    plan.warnings += in_progress_warning(running)
    _name_keys(plan, request, d, running)
    plan.registry_diff, plan.registry_note = registry_diff(
        reader_for(request), plan.running, plan.new
    )
    return plan


def _name_keys(
    plan: DeployPlan, request: DeployRequest, d: Descriptor, running: Deployed | None
) -> None:
    """Each recreate whose configuration hash changed gets the keys that differ from the
    running version's definition (its descriptor fetched as a rollback fetches it), or,
    when the definitions are equal, the host's variables the service uses."""
    hashed = [s for s in plan.services if any(r.kind == "config_hash" for r in s.reasons)]
    if running is None or not hashed:
        return
    same = (running.application, running.release, running.version) == (
        d.application or "",
        d.release or "",
        d.version or "",
    )
    try:
        before_text = d.text if same else request.source.previous(running).text
    except ConsignError as e:
        plan.warnings.append(
            f"the running version's descriptor cannot be read, so the keys that differ are "
            f"not named: {e}"
        )
        return
    before, after = keydiff.services_of(before_text), keydiff.services_of(d.text)
    for i, s in enumerate(plan.services):
        if s not in hashed:
            continue
        reason = keydiff.definition_reason(before.get(s.service), after.get(s.service))
        if reason is None or (reason.kind == "host_variables" and _has(s, "labels", "image")):
            continue  # our labels or the image explain the hash already
        at = next(n for n, r in enumerate(s.reasons) if r.kind == "config_hash")
        reasons = (*s.reasons[:at], reason, *s.reasons[at:])
        plan.services[i] = replace(s, reasons=reasons)


def _has(s: ServicePlan, *kinds: str) -> bool:
    return any(r.kind in kinds for r in s.reasons)


def _labels(d: Descriptor, services: list[str]) -> dict[str, dict[str, str]]:
    return {name: lb.service_labels(d, name) for name in services}


def _cross_check(
    said: dryrun.DryRun | str | None, project: str, plan: DeployPlan, up_pulls: bool
) -> dict[str, Any]:
    """Compose's dry run against the plan, when it could say something: not when ``up``
    pulls images (it would resolve them at their registry, and fail offline)."""
    if up_pulls:
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
