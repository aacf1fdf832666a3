"""The requested deploy and, when it fails, the rollback to what the project ran before.

What ran before is read from the ``io.consignment.*`` labels of the project's containers
*before* anything changes. The rollback is watched like any deploy and reported beside
the requested one; the exit code stays the requested deploy's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, TextIO

from consign.exit_codes import ExitCode
from deployer import labels as lb
from deployer.compose import ComposeRunner
from deployer.deploy import Settings, attempt, exit_code
from deployer.report import Outcome
from deployer.sources import Descriptor


def _labelled(client: Any, project: str) -> list[SimpleNamespace]:
    """The project's containers' labels from one list call (no inspect per container)."""
    rows = client.api.containers(all=True, filters={"label": f"{lb.PROJECT_LABEL}={project}"})
    return [
        SimpleNamespace(labels=r.get("Labels") or {}, attrs={"Created": r.get("Created", 0)})
        for r in rows
    ]


def deploy(
    descriptor: Descriptor,
    compose: ComposeRunner,
    client: Any,
    settings: Settings,
    fetch_previous: Callable[[lb.Deployed], Descriptor],
    out: TextIO,
) -> tuple[Outcome, Outcome | None, ExitCode]:
    """The requested deploy, then (when it failed) the rollback; the code is the deploy's."""
    previous = lb.deployed_in(_labelled(client, settings.project), settings.project)
    started = time.monotonic()
    outcome = attempt(descriptor, compose, client, settings, out)
    code = exit_code(outcome.verdicts) if outcome.verdicts else ExitCode.FAILED
    if code == ExitCode.OK or not settings.rollback or previous is None:
        return outcome, None, code
    same = (previous.application, previous.release, previous.version) == (
        descriptor.application,
        descriptor.release,
        descriptor.version,
    )
    if same or not previous.version:
        return outcome, None, code
    print(
        f"deploy failed after {time.monotonic() - started:.1f}s; rolling back {settings.project} "
        f"to {previous.application}/{previous.release} v{previous.version}",
        file=out,
    )
    back = Outcome(
        previous.application, previous.release, previous.version, previous.source,
        previous.registry, previous.commit, settings.project,
    )  # fmt: skip
    try:
        older = fetch_previous(previous)
        back = attempt(older, compose, client, settings, out)
    except Exception as e:  # the rollback's failure is reported, not raised
        back.error = f"rollback failed: {e}"
    return outcome, back, code
