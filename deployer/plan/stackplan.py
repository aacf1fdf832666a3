"""``consign deploy --orchestrator swarm --plan``: the stack's plan, changing nothing.

The descriptor and the deployer's labels override are merged by ``docker stack config``
(as the deploy does; a CLI without it: the descriptor as read, with the labels added)
and compared with the stack's services (one list call) by
:mod:`deployer.plan.stackcompare`. Like the Compose plan it takes no lock and records
nothing. Images are pulled by each node when its tasks start, so no image list is given.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, TextIO

from deployer.deploy import envfiles
from deployer.deploy.request import DeployRequest
from deployer.deploy.sources import Descriptor
from deployer.engine.sdk import engine_errors
from deployer.plan.involved import in_progress_warning, new_version, reader_for, version_of
from deployer.plan.model import DeployPlan
from deployer.plan.registrydiff import registry_diff
from deployer.plan.stackcompare import plan_stack_services
from deployer.swarm import labels as lb
from deployer.swarm.check import check
from deployer.swarm.deploy import LEGACY_VERSION, deployed, load, replicas_of, write_labels
from deployer.swarm.stack import StackInvalid, StackRunner, manager
from deployer.swarm.watch import stack_services


def plan_stack(request: DeployRequest, descriptor: Descriptor, out: TextIO) -> DeployPlan:
    target, stack, d = request.target, request.project, descriptor
    runner = StackRunner(target.host)
    client = manager(target.host)
    try:
        with engine_errors(target.host):
            running = deployed(client, stack)
            current = stack_services(client, stack)
        model = _merged(d, runner, out)
    finally:
        client.close()
    wanted = {name: replicas_of(spec) for name, spec in model.items()}
    plan = DeployPlan(stack, "swarm", new_version(d), version_of(running))
    plan.services = plan_stack_services(model, wanted, current)
    if request.settings.resolve_image == "always" and model:
        plan.warnings.append(
            "--resolve-image always: the deploy asks each image's registry for its digest; "
            "a tag that moved there updates its service, which the plan cannot see"
        )
    plan.warnings += in_progress_warning(running)
    plan.registry_diff, plan.registry_note = registry_diff(
        reader_for(request), plan.running, plan.new
    )
    return plan


def _merged(d: Descriptor, runner: StackRunner, out: TextIO) -> dict[str, Any]:
    """The services as ``docker stack deploy`` reads them, our labels included."""
    descriptor_model = load(d.text)
    findings = check(descriptor_model)
    if not findings.ok:
        raise StackInvalid("Swarm would not run it as described:\n" + findings.summary())
    for warning in findings.warned:
        print(f"warning: {warning}", file=out)
    names = list(descriptor_model["services"])
    labels = lb.stack_labels(d, names)
    with tempfile.TemporaryDirectory(prefix="consign-plan-") as scratch:
        legacy = runner.needs_version and "version" not in descriptor_model
        text = f'version: "{LEGACY_VERSION}"\n{d.text}' if legacy else d.text
        path = Path(d.location) if d.kind == "file" and not legacy else Path(scratch, "stack.yml")
        if path.parent == Path(scratch):
            path.write_text(text, encoding="utf-8")
        if d.kind != "file":
            envfiles.materialise(Path(scratch), d.files)
        envfiles.check(d.text, path.parent, local=d.kind == "file" and not legacy)
        override = write_labels(Path(scratch), labels, runner.needs_version)
        merged = runner.config([path, override])
    if merged is not None:
        services: dict[str, Any] = load(merged)["services"]
        return services
    services = dict(descriptor_model["services"])
    for name, own in labels.items():
        spec = dict(services[name])
        deploy = dict(spec.get("deploy") or {})
        deploy["labels"] = {**dict(deploy.get("labels") or {}), **own}
        spec["deploy"] = deploy
        services[name] = spec
    return services
