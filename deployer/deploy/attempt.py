"""One deploy attempt: check, record, label, up + watch, logs.

:func:`attempt` deploys one descriptor into one project and returns an
:class:`~deployer.deploy.outcome.Outcome`; nothing is started when Compose (or the engine's image
reference grammar) refuses the descriptor. :mod:`deployer.deploy.rollback` runs it for the
requested version and, when that fails, for the version the project was at before.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from consign.errors import Interrupted, InvalidDescriptor
from consign.pins import image_mismatches, recorded_images
from consign.process import Completed
from deployer import label_keys as keys
from deployer.deploy import envfiles, leftovers, record
from deployer.deploy import labels as lb
from deployer.deploy.outcome import Outcome, describe
from deployer.deploy.request import DeploySettings
from deployer.deploy.sources import Descriptor
from deployer.engine.compose import ComposeRunner, attribute_errors, error_lines
from deployer.engine.reference import problem
from deployer.progress import Progress
from deployer.verdicts import ServiceVerdict, Verdict
from deployer.verdicts.dependencies import dependencies
from deployer.verification.compose import ComposeTests, ThenPrepare
from deployer.verification.rules import PROFILE, Verification, verification_services
from deployer.watch import watch_up
from deployer.watch.logs import service_logs
from deployer.watch.project import UpProcess

NEVER_STARTED = "0001-01-01T00:00:00Z"
LOG_LINES = 50
#: Container states that serve (or will again: restarting, paused).
LIVE = frozenset({"running", "restarting", "paused"})


def project_name(application: str, release: str) -> str:
    """A Compose-valid project name from application and release ("TLO GE", "Milestone")."""
    name = re.sub(r"[^a-z0-9_-]+", "-", f"{application}-{release}".lower())
    name = re.sub(r"-{2,}", "-", name).strip("-_")
    return name or "consign"


def in_progress(settings: DeploySettings) -> dict[str, Any]:
    """What the project record says while this deploy changes the project."""
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "by": settings.by,
        "environment": settings.environment,
        "started": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }


def attempt(
    descriptor: Descriptor,
    compose: ComposeRunner,
    client: Any,
    settings: DeploySettings,
    out: TextIO,
    before_changes: Callable[[], None] | None = None,
    *,
    verify: bool = False,
) -> Outcome:
    """Deploy one descriptor. Raises InvalidDescriptor before anything is started.

    The watch begins before ``compose up`` and runs beside it, so the services Compose
    started first settle while it still creates the others; a certain failure ends it.
    The failed services' logs are read on a thread (a crash-looping container can hold
    the engine's lock for a while): :meth:`Outcome.wait_logs` waits for them.
    ``before_changes`` runs once the descriptor is checked, before anything on the engine
    changes (a rollback waits there for the failed deploy's logs).
    ``verify``: this attempt runs the descriptor's verification services (profile
    ``verify``, :mod:`deployer.verification`) once every other service is ok, unless
    ``settings.verify`` is off (then they are recorded as skipped); a rollback does not.
    """
    project = settings.project
    d = descriptor
    outcome = Outcome(
        d.application, d.release, d.version, d.kind, d.location, d.commit, project
    )  # fmt: skip
    with settings.workdir.folder(project) as scratch:
        path = Path(d.location) if d.kind == "file" else Path(scratch, "docker-compose.yml")
        try:
            if d.kind != "file":
                path.write_text(d.text, encoding="utf-8")
                envfiles.materialise(Path(scratch), d.files)
            kept = d.kind == "file"  # a descriptor file's own folder
            settings.workdir.check(d.text, path.parent, client, out, kept=kept)
            envfiles.check(d.text, path.parent, local=d.kind == "file")
            settings.variables.beside(path.parent)  # Compose reads the .env there too
            for warning in settings.variables.admit(d.text):  # exit 4 when one is missing
                print(warning, file=out, flush=True)
            # One `config` both validates and lists the services; the override only adds
            # labels to those services, so it cannot make a valid descriptor invalid.
            # with the verification's profile: its services are told apart by it
            found = compose.config(project, [path], profiles=[PROFILE]).get("services", {})
            tests = verification_services(found)
            model = {name: spec for name, spec in found.items() if name not in tests}
            check_images(found)
            if before_changes is not None:
                before_changes()
        except KeyboardInterrupt as e:
            raise Interrupted(
                f"before anything changed on the engine: {project} is as it was"
            ) from e
        replicas = {name: expected_containers(spec) for name, spec in model.items()}
        services = [name for name in model if replicas[name] > 0]  # scale 0: not run
        labels = {name: lb.service_labels(d, name) for name in services}
        test_labels = {name: lb.test_labels(d, name) for name in tests}
        override = lb.write_override(Path(scratch), [*services, *tests], labels | test_labels)
        images = {name: str(spec.get("image") or "") for name, spec in model.items()}
        leftovers.tidy(client, project, out, "an earlier deploy (interrupted or killed)")
        record.write(client, d, project, in_progress(settings))

        runner = None  # the verification, prepared while the solution settles
        if tests and verify and settings.verify:
            runner = ComposeTests(client, compose, project, [path, override], settings.pull)

        def up() -> UpProcess:
            started = compose.up(project, [path, override], pull=settings.pull)
            return started if runner is None else ThenPrepare(started, runner, tests)

        def failed(done: Completed) -> dict[str, str]:
            return _not_created(client, project, images, labels, done.stderr)

        title = f"{project} {describe(d.application, d.release, d.version, d.location)}"
        masked = settings.variables.masker.mask
        with (
            Progress(title, out, mask=masked) as progress,
            _tidied(client, project, out),
            _discarded(runner, tests),
        ):
            result = watch_up(
                client,
                project,
                services,
                up=up,
                failed=failed,
                timeout=settings.timeout,
                stable=settings.stable,
                on_update=progress,
                replicas=replicas,
                dependencies=dependencies(model),
            )
        healthy = result.up.returncode == 0 and not result.interrupted_up
        if tests and verify and healthy and all(sv.verdict.ok for sv in result.verdicts.values()):
            outcome.verification = _verification(runner, tests, settings.verify_timeout, out)
        elif runner is not None:
            runner.discard(tests)  # prepared for a deploy that failed: removed unstarted
    if result.up.returncode != 0 or result.interrupted_up:
        leftovers.tidy(client, project, out, "this deploy")
    verdicts = result.verdicts
    outcome.verdicts = verdicts
    if result.certain_at is not None:
        outcome.failure_certain = time.time() - (time.monotonic() - result.certain_at)
    failing = [name for name, sv in verdicts.items() if sv.verdict.failed and sv.containers]
    if failing:  # every failed service that had a container, whatever Compose said
        outcome.read_logs(lambda: _logs(client, project, failing))
    if result.up.returncode != 0 and not result.interrupted_up:
        behind = _containers_behind(client, project, labels)
        words = _not_created(client, project, images, labels, result.up.stderr)
        verdicts.update(not_at_version(verdicts, behind, words))
    if result.interrupted_up:
        outcome.fail("a failure was certain: compose up was stopped, the rest not awaited")
    elif result.up.returncode != 0 and not all(sv.verdict.ok for sv in verdicts.values()):
        # (compose complaining while every service runs this version's build is no failure)
        stderr = result.up.stderr
        outcome.fail("compose up failed: " + ("\n".join(error_lines(stderr)) or stderr.strip()))
    if outcome.verification is not None and outcome.verification.failed:
        outcome.fail(outcome.verification.summary())
    check_pins(client, d, outcome, settings)
    return outcome


def _verification(
    runner: ComposeTests | None, tests: list[str], timeout: float, out: TextIO
) -> Verification:
    """Run the tests (``runner`` None: --skip-verify, they are recorded as skipped), said
    in a line each way."""
    if runner is None:
        print(f"verification skipped (--skip-verify): {', '.join(tests)}", file=out, flush=True)
        return Verification.skipped()
    print(f"verifying: {', '.join(tests)}", file=out, flush=True)
    found = runner.run(tests, timeout)
    print(found.summary(), file=out, flush=True)
    return found


@contextlib.contextmanager
def _discarded(runner: ComposeTests | None, tests: list[str]) -> Iterator[None]:
    """Tests prepared for a deploy that Ctrl-C (or an error) ends while it settles are
    removed unstarted."""
    try:
        yield
    except BaseException:
        if runner is not None:
            runner.discard(tests)
        raise


@contextlib.contextmanager
def _tidied(client: Any, project: str, out: TextIO) -> Iterator[None]:
    """Ctrl-C while Compose ran (it has stopped when this sees it): what it created but
    never started is removed."""
    try:
        yield
    except KeyboardInterrupt:
        leftovers.tidy(client, project, out, "this deploy")
        raise


def check_pins(client: Any, d: Descriptor, outcome: Outcome, settings: DeploySettings) -> None:
    """Compare each pinned service's running image IDs with what ``--pin-images`` recorded:
    a warning line per service in the final output and ``image_mismatches`` in the report; with
    ``require_pinned`` a failure (which rolls back like any other)."""
    recorded = recorded_images(d.components)
    if not recorded:
        return
    filters = {"label": f"com.docker.compose.project={settings.project}"}
    running: dict[str, set[str]] = {}
    for c in client.containers.list(all=True, filters=filters, ignore_removed=True):
        service = c.labels.get("com.docker.compose.service")
        if service in recorded:
            running.setdefault(service, set()).add(str(c.attrs.get("Image", "")))
    outcome.image_mismatches = image_mismatches(recorded, running)
    if outcome.image_mismatches and settings.require_pinned:
        names = ", ".join(outcome.image_mismatches)
        outcome.fail(
            f"--require-pinned-images: {names} not running the image CI built and recorded"
        )


def _logs(client: Any, project: str, services: list[str]) -> dict[str, str]:
    return {name: service_logs(client, project, name, tail=LOG_LINES) for name in services}


def check_images(model: dict[str, Any]) -> None:
    """Refuse image references the engine cannot parse (exit 4, nothing started)."""
    bad = [
        f"service {name}: {why}"
        for name, spec in model.items()
        if spec.get("image") and (why := problem(str(spec["image"])))
    ]
    if bad:
        raise InvalidDescriptor("; ".join(bad))


def not_at_version(
    verdicts: dict[str, ServiceVerdict], behind: dict[str, list[str]], words: dict[str, str]
) -> dict[str, ServiceVerdict]:
    """After a failed ``up``: the services judged ok while a container of theirs still
    carries another build's labels (Compose stopped before replacing it), each made
    NOT_CREATED with Compose's words. ``behind``: service -> the names of those containers."""
    changed: dict[str, ServiceVerdict] = {}
    for service, sv in verdicts.items():
        if sv.verdict.ok and behind.get(service):
            why = words.get(service) or "compose up failed"
            names = ", ".join(sorted(behind[service]))
            detail = f"still another build's container ({names}): {why}"
            changed[service] = replace(
                sv, verdict=Verdict.NOT_CREATED, exit_code=None, detail=detail
            )
    return changed


def _containers_behind(
    client: Any, project: str, labels: dict[str, dict[str, str]]
) -> dict[str, list[str]]:
    """Service -> the names of its live containers (one-offs aside) that do not carry this
    version's labels (a stopped leftover of a replacement serves nothing)."""
    behind: dict[str, list[str]] = {}
    rows = client.containers.list(
        all=True, filters={"label": f"{keys.PROJECT}={project}"}, ignore_removed=True
    )
    for c in rows:
        service = c.labels.get(keys.SERVICE, "")
        if service not in labels or c.labels.get(keys.ONEOFF) == "True":
            continue
        if c.status not in LIVE:
            continue
        if any(c.labels.get(k) != v for k, v in labels[service].items()):
            behind.setdefault(service, []).append(c.name)
    return behind


def _not_created(
    client: Any,
    project: str,
    images: dict[str, str],
    labels: dict[str, dict[str, str]],
    stderr: str,
) -> dict[str, str]:
    """Services Compose did not create or start, each with Compose's words about it.

    A container still carrying another build's labels (Compose stopped before replacing
    it) does not count as created for this deploy. The watch applies these words only to
    services none of whose containers ever started (and never over an observed verdict).
    """
    services = list(images)
    by_service: dict[str, list[Any]] = {}
    rows = client.containers.list(
        all=True, filters={"label": f"{keys.PROJECT}={project}"}, ignore_removed=True
    )
    for c in rows:
        service = c.labels.get(keys.SERVICE, "")
        if all(c.labels.get(k) == v for k, v in labels.get(service, {}).items()):
            by_service.setdefault(service, []).append(c)
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


def expected_containers(service: dict[str, Any]) -> int:
    """How many containers Compose runs for a service of its resolved model: ``scale``,
    else ``deploy.replicas``, else one."""
    if service.get("scale") is not None:
        return int(service["scale"])
    replicas = (service.get("deploy") or {}).get("replicas")
    return 1 if replicas is None else int(replicas)
