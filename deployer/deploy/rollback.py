"""The requested deploy and, when it fails, the rollback to what the project was at before.

What the project was at is read from its record (:mod:`deployer.deploy.record`) *before*
anything changes. The rollback starts the moment the requested deploy's failure is certain
(the watch does not wait for the other services), is watched like any deploy, recreates
only the services whose labels or configuration differ, and is reported beside the
requested one; the exit code stays the requested deploy's.

Ctrl-C during a deploy stops Compose (waiting until it has stopped) and does not roll
back: the person who interrupted decides; the message says so and how to return.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TextIO

from consign.errors import Interrupted
from consign.exit_codes import ExitCode
from deployer.deploy import record
from deployer.deploy.attempt import Settings, attempt
from deployer.deploy.record import Deployed
from deployer.deploy.sources import Descriptor
from deployer.engine.compose import ComposeRunner
from deployer.report import Outcome
from deployer.verdicts.summary import exit_code


def deploy(
    descriptor: Descriptor,
    compose: ComposeRunner,
    client: Any,
    settings: Settings,
    fetch_previous: Callable[[Deployed], Descriptor],
    out: TextIO,
    observe: Callable[[Outcome, Descriptor], None] | None = None,
) -> tuple[Outcome, Outcome | None, ExitCode]:
    """The requested deploy, then (when it failed) the rollback; the code is the deploy's.

    ``observe`` sees each attempt's outcome and descriptor the moment it ends, before the
    rollback changes anything (the ledger records the failed deploy's containers there).
    """
    previous = record.read(client, settings.project)
    started = time.monotonic()
    try:
        outcome = attempt(descriptor, compose, client, settings, out)
    except KeyboardInterrupt as e:
        raise Interrupted(_interrupted(settings.project, descriptor, previous)) from e
    if observe is not None:
        observe(outcome, descriptor)
    code = exit_code(outcome.verdicts) if outcome.verdicts else ExitCode.FAILED
    if outcome.image_mismatches and settings.require_pinned:
        code = ExitCode.FAILED  # every service runs, but not the build CI recorded
    if code == ExitCode.OK or not settings.rollback or not returns_to(previous, descriptor):
        outcome.wait_logs()
        return outcome, None, code
    assert previous is not None
    outcome.rollback_started = time.time()
    print(
        f"deploy failed after {time.monotonic() - started:.1f}s; rolling back {settings.project} "
        f"to {previous.application}/{previous.release} v{previous.version}",
        file=out,
        flush=True,
    )
    back = placeholder(previous, settings.project)
    try:
        older = fetch_previous(previous)
        # the failed deploy's logs are read while the rollback prepares, before it changes anything
        back = attempt(older, compose, client, settings, out, before_changes=outcome.wait_logs)
        if observe is not None:
            observe(back, older)
    except KeyboardInterrupt as e:
        raise Interrupted(
            f"during the rollback of {settings.project} to v{previous.version}: Compose was "
            f"stopped; the project is partly at v{previous.version}; run the deploy of "
            f"v{previous.version} again to finish the rollback"
        ) from e
    except Exception as e:  # the rollback's failure is reported, not raised
        back.error = f"rollback failed: {e}"
    outcome.wait_logs()
    back.wait_logs()
    return outcome, back, code


def returns_to(previous: Deployed | None, descriptor: Descriptor) -> bool:
    """Is there a version to roll back to: one recorded, and not the one asked for?"""
    if previous is None or not previous.version:
        return False
    asked = (descriptor.application, descriptor.release, descriptor.version)
    return (previous.application, previous.release, previous.version) != asked


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


def _interrupted(project: str, descriptor: Descriptor, previous: Deployed | None) -> str:
    what = f"v{descriptor.version}" if descriptor.version else descriptor.location
    text = f"Compose was stopped; {project} is left partly at {what}; no rollback was done"
    return text + return_hint(previous)
