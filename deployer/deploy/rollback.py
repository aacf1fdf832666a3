"""The requested deploy and, when it fails, the rollback to what the project was at before.

What the project was at is read from its record (:mod:`deployer.deploy.record`) *before*
anything changes. The rollback starts the moment the requested deploy's failure is certain
(the watch does not wait for the other services), is watched like any deploy, recreates
only the services whose labels or configuration differ, and is reported beside the
requested one; the exit code stays the requested deploy's.

Ctrl-C during a deploy stops Compose (waiting until it has stopped) and does not roll
back: the person who interrupted decides; the message says so and how to return.

:func:`deploy_then_rollback` is that flow for both orchestrators: a :class:`Flow` says
what differs (how an attempt runs, how its exit code is decided, the Ctrl-C messages, and
for Swarm the rollback Swarm may make by itself); the printing, the rollback decision, the
observer calls and the Ctrl-C handling are written once.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from consign.errors import Interrupted
from consign.exit_codes import ExitCode
from consign.termination import signal_word
from deployer.deploy import record
from deployer.deploy.attempt import attempt
from deployer.deploy.outcome import Outcome
from deployer.deploy.record import Deployed
from deployer.deploy.request import DeploySettings
from deployer.deploy.sources import Descriptor
from deployer.engine.compose import ComposeRunner
from deployer.verdicts.summary import exit_code

Observe = Callable[[Outcome, Descriptor], None]
#: Ctrl-C stopped the attempt at this descriptor: "deploy" or "rollback" (the ledger
#: records it as interrupted, with what was left running).
Stopped = Callable[[Descriptor, str], None]


@dataclass(frozen=True)
class Flow:
    """What differs between orchestrators in "deploy, then roll back on failure"."""

    #: The Compose project or the stack, as the records name it.
    project: str
    #: How messages name it: ``shop`` or ``stack shop``.
    label: str
    #: One attempt at a descriptor; the callable, when given, runs before it changes anything.
    attempt: Callable[[Descriptor, Callable[[], None] | None], Outcome]
    #: The exit code of the requested attempt.
    code: Callable[[Outcome], ExitCode]
    #: The Ctrl-C message of the requested deploy (how to return is added to it).
    interrupted: Callable[[Descriptor], str]
    #: The Ctrl-C message of the rollback to ``previous``.
    rollback_interrupted: Callable[[Deployed], str]
    #: After a failure, before our rollback: a rollback the orchestrator made by itself
    #: (its outcome, with the descriptor to record it by), or None.
    own_rollback: Callable[[Outcome], tuple[Outcome, Descriptor] | None] | None = None


def deploy_then_rollback(
    descriptor: Descriptor,
    previous: Deployed | None,
    flow: Flow,
    *,
    rollback: bool,
    fetch_previous: Callable[[Deployed], Descriptor],
    out: TextIO,
    observe: Observe | None = None,
    stopped: Stopped | None = None,
) -> tuple[Outcome, Outcome | None, ExitCode]:
    """The requested deploy, then (when it failed) the rollback; the code is the deploy's.

    ``observe`` sees each attempt's outcome and descriptor the moment it ends, before the
    rollback changes anything (the ledger records the failed deploy's containers there).
    The second outcome is our rollback, or else the orchestrator's own, or None.
    """
    started = time.monotonic()
    try:
        outcome = flow.attempt(descriptor, None)
    except KeyboardInterrupt as e:
        if stopped is not None:
            stopped(descriptor, "deploy")
        raise Interrupted(flow.interrupted(descriptor) + return_hint(previous)) from e
    if observe is not None:
        observe(outcome, descriptor)
    code = flow.code(outcome)
    if code == ExitCode.OK:
        outcome.wait_logs()
        return outcome, None, code
    own = flow.own_rollback(outcome) if flow.own_rollback is not None else None
    if own is not None and observe is not None:
        observe(*own)
    if not rollback or not returns_to(previous, descriptor):
        if rollback and own is None and previous is not None and previous.version:
            print(f"deploy failed; no rollback: {same_version(previous)}", file=out, flush=True)
        elif own is None:
            why = "--no-rollback" if not rollback else f"nothing to roll back to ({first(flow)})"
            left = left_behind(outcome, descriptor)
            print(f"deploy failed; no rollback: {why}: {left}", file=out, flush=True)
        outcome.wait_logs()
        return outcome, own[0] if own is not None else None, code
    assert previous is not None
    outcome.rollback_started = time.time()
    print(
        f"deploy failed after {time.monotonic() - started:.1f}s; rolling back {flow.label} "
        f"to {previous.application}/{previous.release} v{previous.version}",
        file=out,
        flush=True,
    )
    back = placeholder(previous, flow.project)
    older = as_descriptor(previous)
    try:
        older = fetch_previous(previous)
        # the failed deploy's logs are read while the rollback prepares, before it changes anything
        back = flow.attempt(older, outcome.wait_logs)
    except KeyboardInterrupt as e:
        if stopped is not None:
            stopped(older, "rollback")
        raise Interrupted(flow.rollback_interrupted(previous)) from e
    except Exception as e:  # the rollback's failure is reported (and recorded), not raised
        back.fail(f"rollback failed: {e}")
    if observe is not None:
        observe(back, older)
    outcome.wait_logs()
    back.wait_logs()
    return outcome, back, code


def deploy(
    descriptor: Descriptor,
    compose: ComposeRunner,
    client: Any,
    settings: DeploySettings,
    fetch_previous: Callable[[Deployed], Descriptor],
    out: TextIO,
    observe: Observe | None = None,
    stopped: Stopped | None = None,
) -> tuple[Outcome, Outcome | None, ExitCode]:
    """The Compose path's :func:`deploy_then_rollback`; the project record says when it
    ended (and whether Ctrl-C stopped it)."""
    project = settings.project

    def one(d: Descriptor, before_changes: Callable[[], None] | None) -> Outcome:
        # the requested version is verified; the rollback's was when it was deployed
        verify = d is descriptor
        return attempt(
            d, compose, client, settings, out, before_changes=before_changes, verify=verify
        )

    def code(outcome: Outcome) -> ExitCode:
        found = exit_code(outcome.verdicts) if outcome.verdicts else ExitCode.FAILED
        if outcome.verification is not None and outcome.verification.failed:
            return ExitCode.FAILED  # every service is ok, a verification test is not
        if outcome.image_mismatches and settings.require_pinned:
            return ExitCode.FAILED  # every service runs, but not the build CI recorded
        return found

    def interrupted(d: Descriptor) -> str:
        what = version_or_location(d)
        return f"Compose was stopped; {project} is left partly at {what}; no rollback was done"

    def rollback_interrupted(p: Deployed) -> str:
        return (
            f"during the rollback of {project} to v{p.version}: Compose was stopped; the "
            f"project is partly at v{p.version}; run the deploy of v{p.version} again to "
            "finish the rollback"
        )

    flow = Flow(project, project, one, code, interrupted, rollback_interrupted)
    previous = record.read(client, project)
    try:
        found = deploy_then_rollback(
            descriptor, previous, flow, rollback=settings.rollback,
            fetch_previous=fetch_previous, out=out, observe=observe, stopped=stopped,
        )  # fmt: skip
    except Interrupted as e:  # the record says so, for `consign status`
        record.ended(client, project, interrupted=f"{_now()} {signal_word(e)}: {e}")
        raise
    except BaseException:  # it ended with an error (reported): not a killed deployer's
        with contextlib.suppress(Exception):
            record.ended(client, project)
        raise
    deployed, back, _ = found
    record.ended(client, project, verification=verification_of(deployed, back))
    return found


def verification_of(deployed: Outcome, back: Outcome | None) -> dict[str, str] | None:
    """What the project record says of the verification of the version the deploy left
    running: the requested one's, unless a rollback replaced it (None: nothing to say)."""
    v = deployed.verification
    if back is not None or v is None:
        return None
    return record.verification_label(v.status.value, v.summary(), "deploy")


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def version_or_location(descriptor: Descriptor) -> str:
    return f"v{descriptor.version}" if descriptor.version else descriptor.location


def returns_to(previous: Deployed | None, descriptor: Descriptor) -> bool:
    """Is there a version to roll back to: one recorded, and not the one asked for?"""
    if previous is None or not previous.version:
        return False
    asked = (descriptor.application, descriptor.release, descriptor.version)
    return (previous.application, previous.release, previous.version) != asked


def first(flow: Flow) -> str:
    """Why there is no version to roll back to, in one phrase."""
    return f"{flow.label} had no recorded version before this deploy"


def left_behind(outcome: Outcome, descriptor: Descriptor) -> str:
    """What a failed deploy that is not rolled back leaves, in one phrase: ``v1 left
    running, not verified (verification timed out: smoke timed out)`` when only its
    verification failed, else ``v1 left as the deploy left it``."""
    what = version_or_location(descriptor)
    v = outcome.verification
    services_ok = bool(outcome.verdicts) and all(sv.verdict.ok for sv in outcome.verdicts.values())
    if v is not None and v.failed and services_ok:
        return f"{what} left running, not verified ({v.summary()})"
    return f"{what} left as the deploy left it (see below)"


def same_version(previous: Deployed) -> str:
    """Why a failed redeploy of the version that ran is not rolled back, in one phrase."""
    return (
        f"{previous.application}/{previous.release} v{previous.version} is the version that "
        "was running before this deploy, so there is nothing older to return to"
    )


def as_descriptor(previous: Deployed) -> Descriptor:
    """The version a record names, as a descriptor without its text (a rollback that could
    not fetch it is still recorded by it)."""
    return Descriptor(
        "", previous.source, previous.registry, previous.application, previous.release,
        previous.version, previous.commit or None, dict(previous.builds),
    )  # fmt: skip


def placeholder(previous: Deployed, project: str) -> Outcome:
    """The rollback's outcome before (or instead of, when it cannot start) its attempt."""
    return Outcome(
        previous.application, previous.release, previous.version, previous.source,
        previous.registry, previous.commit, project,
    )  # fmt: skip


def return_hint(previous: Deployed | None) -> str:
    """`` (deploy A/R v4 to return to the version it was at)``, or "" without a version."""
    if previous is None or not previous.version:
        return ""
    return (
        f" (deploy {previous.application}/{previous.release} v{previous.version} "
        "to return to the version it was at)"
    )
