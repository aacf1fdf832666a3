"""One deploy attempt: check, label, up, watch, report.

:func:`attempt` deploys one descriptor into one project and returns an
:class:`~deployer.report.Outcome`; nothing is started when Compose refuses the
descriptor. :mod:`deployer.rollback` runs it for the requested version and, when that
fails, for the version the project carried before.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from consign.exit_codes import ExitCode
from consign.process import Completed
from deployer import labels as lb
from deployer.compose import ComposeRunner, attribute_errors, error_lines
from deployer.report import Outcome, Progress, describe
from deployer.sources import Descriptor
from deployer.verdicts import ServiceVerdict, Verdict
from deployer.watch_up import watch_up
from deployer.watcher import service_logs

NEVER_STARTED = "0001-01-01T00:00:00Z"
LOG_LINES = 50


def project_name(application: str, release: str) -> str:
    """A Compose-valid project name from application and release ("TLO GE", "Milestone")."""
    name = re.sub(r"[^a-z0-9_-]+", "-", f"{application}-{release}".lower())
    name = re.sub(r"-{2,}", "-", name).strip("-_")
    return name or "consign"


@dataclass(frozen=True)
class Settings:
    project: str
    timeout: float = 300.0
    stable: float = 5.0
    pull: str = "missing"
    rollback: bool = True


def project_containers(client: Any, project: str) -> list[Any]:
    return list(
        client.containers.list(all=True, filters={"label": f"{lb.PROJECT_LABEL}={project}"})
    )


def attempt(
    descriptor: Descriptor, compose: ComposeRunner, client: Any, settings: Settings, out: TextIO
) -> Outcome:
    """Deploy one descriptor. Raises InvalidDescriptor before anything is started.

    The watch begins before ``compose up`` and runs beside it (:func:`watch_up`), so the
    services compose started first settle while it still creates the others.
    """
    project = settings.project
    d = descriptor
    outcome = Outcome(
        d.application, d.release, d.version, d.kind, d.location, d.commit, project
    )  # fmt: skip
    ours = lb.labels_for(descriptor)
    with tempfile.TemporaryDirectory(prefix="consign-deploy-") as scratch:
        path = Path(d.location) if d.kind == "file" else Path(scratch, "docker-compose.yml")
        if d.kind != "file":
            path.write_text(d.text, encoding="utf-8")
        # One `config` both validates and lists the services; the override only adds
        # labels to those services, so it cannot make a valid descriptor invalid.
        model = compose.config(project, [path]).get("services", {})
        replicas = {name: expected_containers(spec) for name, spec in model.items()}
        services = [name for name in model if replicas[name] > 0]  # scale 0: not run
        override = lb.write_override(Path(scratch), services, ours)
        images = {name: str(spec.get("image") or "") for name, spec in model.items()}

        def up() -> Completed:
            return compose.up(project, [path, override], pull=settings.pull)

        def failed(done: Completed) -> dict[str, str]:
            outcome.error = "compose up failed: " + (
                "\n".join(error_lines(done.stderr)) or done.stderr.strip()
            )
            return _not_created(client, project, images, ours, done.stderr)

        title = f"{project} {describe(d.application, d.release, d.version, d.location)}"
        with Progress(title, out) as progress:
            verdicts, done = watch_up(
                client,
                project,
                services,
                timeout=settings.timeout,
                stable=settings.stable,
                up=up,
                failed=failed,
                on_update=progress,
                replicas=replicas,
            )
    outcome.verdicts = verdicts
    for name, sv in verdicts.items():
        if not sv.verdict.ok and sv.verdict != Verdict.NOT_CREATED:
            outcome.logs[name] = service_logs(client, project, name, tail=LOG_LINES)
    if done.returncode != 0 and all(sv.verdict.ok for sv in verdicts.values()):
        outcome.error = None  # compose complained, yet every service came up
    return outcome


def _not_created(
    client: Any, project: str, images: dict[str, str], ours: dict[str, str], stderr: str
) -> dict[str, str]:
    """Services compose did not create or start, each with compose's words about it.

    Containers still carrying another version's labels (compose stopped before replacing
    them) do not count as created for this deploy.
    """
    services = list(images)
    by_service: dict[str, list[Any]] = {}
    for c in project_containers(client, project):
        if all(c.labels.get(k) == v for k, v in ours.items()):
            by_service.setdefault(c.labels.get(lb.SERVICE_LABEL, ""), []).append(c)
    names = {s: [c.name for c in cs] for s, cs in by_service.items()}
    blamed = attribute_errors(stderr, project, services, names)
    general = "\n".join(error_lines(stderr)) or stderr.strip() or "compose up failed"
    if blamed:  # the others were left alone because compose stopped at these
        general = f"compose stopped at the error of {', '.join(sorted(blamed))} before it"
    missing: dict[str, str] = {}
    for service in services:
        cs = by_service.get(service, [])
        never = all(
            c.attrs.get("State", {}).get("StartedAt", NEVER_STARTED) == NEVER_STARTED for c in cs
        )
        if not cs or never or service in blamed:
            missing[service] = blamed.get(service, general)
            if not cs and images[service] and not _have_image(client, images[service]):
                missing[service] = (
                    f"image {images[service]} is not on the host and could not be pulled: "
                    + missing[service]
                )
    return missing


def _have_image(client: Any, image: str) -> bool:
    import docker.errors

    try:
        client.images.get(image)
    except docker.errors.ImageNotFound:
        return False
    return True


def exit_code(verdicts: dict[str, ServiceVerdict]) -> ExitCode:
    bad = [sv.verdict for sv in verdicts.values() if not sv.verdict.ok]
    if not bad:
        return ExitCode.OK
    if all(v == Verdict.TIMED_OUT for v in bad):
        return ExitCode.TIMEOUT
    return ExitCode.FAILED


def expected_containers(service: dict[str, Any]) -> int:
    """How many containers Compose runs for a service of its resolved model: ``scale``,
    else ``deploy.replicas``, else one."""
    if service.get("scale") is not None:
        return int(service["scale"])
    replicas = (service.get("deploy") or {}).get("replicas")
    return 1 if replicas is None else int(replicas)
