"""Deploy a descriptor as a Swarm stack: check -> deploy -> watch -> (rollback).

:func:`deploy_stack` is the entry point (the Swarm twin of the Compose path's
``deployer.deploy.rollback.deploy``): the requested version, and when it fails the version
the stack's services carried before (from their ``io.consignment.*`` labels,
:mod:`deployer.swarm.labels`), watched alike and reported beside it. The exit code is
always the requested deploy's.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TextIO

from consign.compose import yamlio
from consign.compose.errors import ComposeError
from consign.errors import Interrupted
from consign.exit_codes import ExitCode
from deployer.deploy import envfiles
from deployer.deploy.labels import test_labels
from deployer.deploy.outcome import Outcome, describe
from deployer.deploy.record import Deployed
from deployer.deploy.request import DeploySettings
from deployer.deploy.rollback import Flow, deploy_then_rollback, placeholder, version_or_location
from deployer.deploy.sources import Descriptor
from deployer.engine.fields import engine_offset
from deployer.progress import Progress
from deployer.swarm import autorollback, oneshot, secrets
from deployer.swarm import labels as lb
from deployer.swarm.check import check
from deployer.swarm.stack import StackInvalid, StackRunner
from deployer.swarm.verify import SwarmTests
from deployer.swarm.watch import service_logs, stack_services, watch_stack
from deployer.verdicts import Verdict
from deployer.verdicts.summary import exit_code
from deployer.verification.rules import Verification, verification_services

LOG_LINES = 50
#: Largest descriptor read (the registry's fragments are far smaller).
MAX_BYTES = 64 * 1024 * 1024
#: The Compose file version given to docker CLIs that need one (20.10 knows up to 3.9).
LEGACY_VERSION = "3.9"


def load(text: str) -> dict[str, Any]:
    """The descriptor as a mapping with ``services``; StackInvalid otherwise.

    Read with the ground floor's YAML 1.2 loader (:mod:`consign.compose.yamlio`), as Compose
    and the docker CLI read it (PyYAML's default would turn a service named ``off`` into ``False``).
    """
    try:
        model = yamlio.load(text, max_bytes=MAX_BYTES)
    except ComposeError as e:
        raise StackInvalid(f"the descriptor cannot be read: {e}") from e
    services = model.get("services") if isinstance(model, dict) else None
    if not isinstance(services, dict):
        raise StackInvalid("the descriptor has no `services:` mapping")
    model["services"] = {
        str(name): {k: yamlio.plain(v) for k, v in spec.items()} if isinstance(spec, dict) else spec
        for name, spec in services.items()
    }
    return model


def replicas_of(spec: Mapping[str, Any]) -> int | None:
    """``deploy.replicas`` (default 1); None for a global service (one per eligible node)."""
    deploy = spec.get("deploy") or {}
    if deploy.get("mode") == "global":
        return None
    replicas = deploy.get("replicas")
    return 1 if replicas is None else int(replicas)


def write_labels(
    directory: Path, labels: Mapping[str, Mapping[str, str]], versioned: bool = False
) -> Path:
    """The override that puts our labels on every service (``deploy.labels``: the
    service's, not its containers'; JSON is YAML)."""
    body: dict[str, Any] = {
        "services": {s: {"deploy": {"labels": dict(v)}} for s, v in labels.items()}
    }
    if versioned:
        body["version"] = LEGACY_VERSION
    path = directory / "consign-labels.stack.yml"
    path.write_text(json.dumps(body, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def without_tests(model: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The model without its verification services (Compose profile ``verify``:
    ``docker stack deploy`` refuses ``profiles``; they are run after the stack, as one-shot
    services, :mod:`deployer.swarm.verify`), and their names."""
    tests = verification_services(model["services"])
    kept = {name: spec for name, spec in model["services"].items() if name not in tests}
    return {**model, "services": kept}, tests


def _can_resolve(runner: StackRunner, tests: list[str]) -> None:
    """StackInvalid (exit 4) for a docker CLI without ``stack config``."""
    if runner.needs_version:
        raise StackInvalid(
            f"{', '.join(tests)}: verification services on Swarm need `docker stack config` "
            "(docker CLI 25 or newer) to resolve them as the stack's services are; deploy "
            "with --skip-verify, or use a newer docker CLI"
        )


def verify_stack(
    descriptor: Descriptor, runner: StackRunner, client: Any, settings: DeploySettings,
    out: TextIO,
) -> Verification:  # fmt: skip
    """``consign verify`` of a stack: the verification services of ``descriptor`` (the
    version the stack runs) run as after a deploy; nothing of the stack is touched.
    StackInvalid (exit 4) when it declares none."""
    d, stack = descriptor, settings.project
    full = load(d.text)
    _, tests = without_tests(full)
    if not tests:
        raise StackInvalid(
            f"{d.application}/{d.release} v{d.version} declares no verification "
            "(no service in the Compose profile 'verify')"
        )
    _can_resolve(runner, tests)
    local = Path(d.location).parent if d.kind == "file" else None
    specs = verification_model(full, tests, local)
    with tempfile.TemporaryDirectory(prefix="consign-stack-") as scratch:
        if d.kind != "file":
            envfiles.materialise(Path(scratch), d.files)
        shots = _shots(runner, d, stack, specs, Path(scratch))
    print(f"verifying stack {stack} at v{d.version}: {', '.join(tests)}", file=out, flush=True)
    return SwarmTests(client, stack, shots).run(tests, settings.verify_timeout)


def verification_model(
    model: dict[str, Any], tests: list[str], folder: Path | None
) -> dict[str, Any]:
    """The tests alone with the stack's networks, as ``docker stack config`` reads them
    (``profiles`` left out; a local descriptor's relative ``env_file`` made absolute from
    ``folder``, its folder). StackInvalid when a test declares what a one-shot service
    cannot honour (:func:`deployer.swarm.oneshot.unsupported`)."""
    problems = []
    services = {}
    for name in tests:
        spec = {k: v for k, v in model["services"][name].items() if k != "profiles"}
        bad = oneshot.unsupported(spec) + oneshot.unsupported_deploy(spec)
        if bad:
            problems.append(f"{name}: {', '.join(bad)}")
        if folder is not None and spec.get("env_file"):
            spec["env_file"] = envfiles_from(spec["env_file"], folder)
        services[name] = spec
    if problems:
        raise StackInvalid(
            "verification services on Swarm run as one-shot services, which cannot honour "
            f"{'; '.join(problems)} (docs/swarm.md, Verification); deploy with --skip-verify "
            "or with --orchestrator compose"
        )
    found: dict[str, Any] = {"services": services}
    if isinstance(model.get("networks"), dict):
        found["networks"] = model["networks"]
    return found


def envfiles_from(value: Any, folder: Path) -> Any:
    """``env_file`` entries relative to ``folder`` made absolute."""

    def one(entry: Any) -> Any:
        if isinstance(entry, str):
            return entry if "$" in entry else str(folder / entry)
        if isinstance(entry, dict) and isinstance(entry.get("path"), str):
            return {**entry, "path": one(entry["path"])}
        return entry

    return [one(e) for e in value] if isinstance(value, list) else one(value)


def attempt(
    descriptor: Descriptor,
    runner: StackRunner,
    client: Any,
    settings: DeploySettings,
    out: TextIO,
    requested: bool = False,
) -> Outcome:
    """Deploy one descriptor as the stack and watch it. Raises StackInvalid (nothing
    touched) when our checks or ``docker stack config`` refuse it (or it has verification
    services that cannot run as one-shot services). ``requested``: the deploy asked for, not
    a rollback: it runs the verification services once every other service is ok (unless
    --skip-verify: recorded as skipped); a rollback's were run when it was deployed."""
    d, stack = descriptor, settings.project
    outcome = Outcome(d.application, d.release, d.version, d.kind, d.location, d.commit, stack)
    full = load(d.text)
    descriptor_model, tests = without_tests(full)
    verify = bool(tests) and requested and settings.verify
    if verify:
        _can_resolve(runner, tests)
    local = Path(d.location).parent if d.kind == "file" else None
    test_specs = verification_model(full, tests, local) if verify else None
    if tests and requested and not settings.verify:
        outcome.verification = Verification.skipped()
        print(f"verification skipped (--skip-verify): {', '.join(tests)}", file=out)
    findings = check(descriptor_model)
    if not findings.ok:
        raise StackInvalid("Swarm would not run it as described:\n" + findings.summary())
    for warning in findings.warned:
        print(f"warning: {warning}", file=out)
    for line in settings.variables.admit(d.text):  # exit 4 when one is missing
        print(line, file=out, flush=True)
    with tempfile.TemporaryDirectory(prefix="consign-stack-") as scratch:
        # CLIs before 25 (Debian's 20.10, in the image) read only files that say their
        # version; 3.9 is the newest they know. Such a copy lives in the scratch directory.
        legacy = runner.needs_version and "version" not in descriptor_model
        base = yamlio.dump(descriptor_model) if tests else d.text  # (tests left out)
        text, own_secrets = _with_secrets(base, client, stack, settings)
        moved = legacy or text != d.text  # the file as the CLI reads it is ours
        text = f'version: "{LEGACY_VERSION}"\n{text}' if legacy else text
        path = Path(d.location) if d.kind == "file" and not moved else Path(scratch, "stack.yml")
        if path.parent == Path(scratch):
            path.write_text(text, encoding="utf-8")
        if d.kind != "file":
            envfiles.materialise(Path(scratch), d.files)
        envfiles.check(d.text, path.parent, local=d.kind == "file" and not moved)
        names = list(descriptor_model["services"])
        labels = write_labels(Path(scratch), lb.stack_labels(d, names), runner.needs_version)
        files = [path, labels]
        merged = runner.config(files)
        model = load(merged)["services"] if merged is not None else descriptor_model["services"]
        shots = _shots(runner, d, stack, test_specs, Path(scratch)) if test_specs else {}
        services = [name for name in model if replicas_of(model[name]) != 0]  # 0: not run
        since = time.time() + engine_offset(client)
        done = runner.deploy(stack, files, resolve_image=settings.resolve_image)
    missing: dict[str, str] = {}
    if done.returncode != 0:
        words = (done.stderr or done.stdout).strip()
        present = stack_services(client, stack)
        if not present:  # it refused the descriptor before creating anything
            raise StackInvalid(f"`docker stack deploy` refuses it: {words}")
        outcome.fail(f"docker stack deploy failed: {words}")
        missing = {s: words for s in services if s not in present}
    title = f"{stack} {describe(d.application, d.release, d.version, d.location)}"
    with Progress(title, out, mask=settings.variables.masker.mask) as progress:
        outcome.verdicts = watch_stack(
            client,
            stack,
            services,
            since=since,
            timeout=settings.timeout,
            stable=settings.stable,
            missing=missing,
            on_update=progress,
        )
    for name, sv in outcome.verdicts.items():
        if sv.verdict.failed and sv.verdict != Verdict.NOT_CREATED:
            outcome.logs[name] = service_logs(client, stack, name, tail=LOG_LINES)
    secrets.prune(client, stack, own_secrets)
    if shots and outcome.error is None and all(sv.verdict.ok for sv in outcome.verdicts.values()):
        print(f"verifying: {', '.join(tests)}", file=out, flush=True)
        found = SwarmTests(client, stack, shots).run(tests, settings.verify_timeout)
        print(found.summary(), file=out, flush=True)
        outcome.verification = found
        if found.failed:
            outcome.fail(found.summary())
    return outcome


def _shots(
    runner: StackRunner, d: Descriptor, stack: str, specs: dict[str, Any], scratch: Path
) -> dict[str, oneshot.OneShot]:
    """The tests' one-shot services, from ``docker stack config`` of the tests alone (their
    variables interpolated, env files read, as the stack's own services are)."""
    path = scratch / "consign-tests.stack.yml"
    path.write_text(yamlio.dump(specs), encoding="utf-8")
    merged = runner.config([path])
    model = load(merged) if merged is not None else specs
    declared = model.get("networks")
    networks: dict[str, Any] = declared if isinstance(declared, dict) else {}
    return {
        name: oneshot.one_shot(stack, name, spec, networks, test_labels(d, name))
        for name, spec in model["services"].items()
    }


def _with_secrets(
    text: str, client: Any, stack: str, settings: DeploySettings
) -> tuple[str, set[str]]:
    """The descriptor with its environment-sourced secrets made Docker secrets (named
    ``external``, :mod:`deployer.swarm.secrets`), and their names; unchanged without any."""
    tree = yamlio.load(text, max_bytes=MAX_BYTES)
    changed, names = secrets.materialise(client, stack, tree, settings.variables.lookup)
    return (yamlio.dump(changed) if names else text), names


def deployed(client: Any, stack: str) -> Deployed | None:
    """What the stack's services say is deployed (the most recently updated one wins)."""
    return lb.deployed(stack, stack_services(client, stack).values())


def deploy_stack(
    descriptor: Descriptor,
    runner: StackRunner,
    client: Any,
    settings: DeploySettings,
    fetch_previous: Callable[[Deployed], Descriptor],
    out: TextIO,
    observe: Callable[[Outcome, Descriptor], None] | None = None,
) -> tuple[Outcome, Outcome | None, ExitCode]:
    """The Swarm path's :func:`deployer.deploy.rollback.deploy_then_rollback`: the
    requested deploy, then (when it failed) the rollback Swarm made by itself, if any, and
    ours; the code is the deploy's.

    ``observe`` sees each attempt the moment its watch ends, before the rollback changes
    anything (the ledger records the failed deploy's tasks there), as on the Compose path.
    """
    stack = settings.project
    previous = deployed(client, stack)
    since = time.time() + engine_offset(client)

    def one(d: Descriptor, _before_changes: Callable[[], None] | None) -> Outcome:
        return attempt(d, runner, client, settings, out, requested=d is descriptor)

    def code(outcome: Outcome) -> ExitCode:
        found = exit_code(outcome.verdicts) if outcome.verdicts else ExitCode.FAILED
        if outcome.error is not None and found == ExitCode.OK:
            return ExitCode.FAILED  # `docker stack deploy` failed: not all of it was applied
        return found

    def interrupted(d: Descriptor) -> str:
        return (
            f"the watch of stack {stack} at {version_or_location(d)} was stopped; what was "
            "handed to Swarm carries on; no rollback was done"
        )

    def rollback_interrupted(p: Deployed) -> str:
        return (
            f"during the rollback of stack {stack} to v{p.version}: the rollback was handed "
            "to Swarm and is not watched; `consign status --orchestrator swarm` says where "
            "it stands"
        )

    def swarms(failed: Outcome) -> tuple[Outcome, Descriptor] | None:
        found = _swarm_rollback(client, settings, failed, since, previous, out)
        if found is None or not found.application:  # printed; no version to record it as
            return None
        return found, _as_descriptor(found)

    flow = Flow(stack, f"stack {stack}", one, code, interrupted, rollback_interrupted, swarms)
    return deploy_then_rollback(
        descriptor, previous, flow, rollback=settings.rollback,
        fetch_previous=fetch_previous, out=out, observe=observe,
    )  # fmt: skip


def _swarm_rollback(
    client: Any,
    settings: DeploySettings,
    failed: Outcome,
    since: float,
    previous: Deployed | None,
    out: TextIO,
) -> Outcome | None:
    """Swarm's own rollback of ``failed``'s update, watched (None: Swarm made none)."""
    if previous is not None:
        into = placeholder(previous, settings.project)
    else:  # labels gone (an older deployer): the version is not known
        into = Outcome(None, None, None, "file", "", None, settings.project)
    title = f"stack {settings.project}: Swarm's rollback to {into.what}"
    try:
        with Progress(title, out, mask=settings.variables.masker.mask) as progress:
            found = autorollback.watch_rollback(
                client, settings.project, failed, since=since, timeout=settings.timeout,
                stable=settings.stable, into=into, on_update=progress,
            )  # fmt: skip
    except KeyboardInterrupt as e:
        raise Interrupted(
            f"the watch of Swarm's own rollback of stack {settings.project} was stopped; Swarm "
            "carries on; `consign status --orchestrator swarm` says where it stands"
        ) from e
    if found is not None:
        for name, sv in found.verdicts.items():
            if sv.verdict.failed and sv.verdict != Verdict.NOT_CREATED:
                found.logs[name] = service_logs(client, settings.project, name, tail=LOG_LINES)
        state = "OK" if found.ok else "FAILED"
        print(f"Swarm rolled back {', '.join(found.verdicts)} by itself: {state}", file=out)
    return found


def _as_descriptor(outcome: Outcome) -> Descriptor:
    """What a record of ``outcome`` names (no text: nothing is deployed from it)."""
    return Descriptor(
        "", outcome.source, outcome.location, outcome.application, outcome.release,
        outcome.version, outcome.commit,
    )  # fmt: skip
