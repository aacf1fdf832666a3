"""Compose's own ``up --dry-run`` as a cross-check of the plan.

Compose v2.40's dry run prints what ``up`` would do, one line per step
(``DRY-RUN MODE -  Container shop-web-1  Recreate``), with no reason, and resolves images
it does not have against their registry (an image to pull makes it fail offline). So the
plan is computed by :mod:`deployer.plan.compare` (with reasons), and the dry run, when
no image is to be pulled, only confirms it: which containers it recreates, creates,
starts or removes, and which volumes it creates. Any difference is reported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from consign.process import CommandFailed, Completed, run
from deployer.engine.compose import ComposeRunner
from deployer.plan.model import ResourcePlan, ServicePlan

_LINE = re.compile(r"DRY-RUN MODE -\s+(Container|Volume|Network)\s+(\S+)\s+(\S+)")
#: The temporary name Compose gives a container it recreates: ``<12 hex>_<name>``.
_TEMPORARY = re.compile(r"^[0-9a-f]{12}_")


@dataclass
class DryRun:
    """What the dry run said, per container name and per volume name."""

    containers: dict[str, set[str]] = field(default_factory=dict)
    volumes: dict[str, set[str]] = field(default_factory=dict)

    def verdict(self, name: str) -> str:
        """One container's fate: recreate, remove, create, start or unchanged."""
        words = self.containers.get(name, set())
        if "Recreate" in words or "Recreated" in words:
            return "recreate"
        if words & {"Removing", "Removed"}:
            return "remove"
        if words & {"Creating", "Created"}:
            return "create"
        if words & {"Starting", "Started"}:
            return "start"
        return "unchanged"

    def names(self, verdict: str) -> set[str]:
        return {n for n in self.containers if self.verdict(n) == verdict}


def parse(text: str) -> DryRun:
    found = DryRun()
    for line in text.splitlines():
        m = _LINE.search(line)
        if not m:
            continue
        kind, name, word = m.groups()
        name = _TEMPORARY.sub("", name)
        target = found.containers if kind == "Container" else found.volumes
        if kind == "Network":
            continue
        target.setdefault(name, set()).add(word)
    return found


def dry_run(compose: ComposeRunner, project: str, files: Sequence[Path], pull: str) -> DryRun | str:
    """Run ``up -d --remove-orphans --dry-run`` as the deploy would; its parsed lines, or
    why it could not say (one line)."""
    try:
        done = run(argv(compose, project, files, pull), env=compose.env, timeout=120, check=False)
    except CommandFailed as e:
        return str(e)
    return said(done)


def argv(compose: ComposeRunner, project: str, files: Sequence[Path], pull: str) -> list[str]:
    """The deploy's ``up`` command line, with ``--dry-run``."""
    up = compose.command_line(project, files, "up", "-d", "--remove-orphans", "--pull", pull)
    return [*up, "--dry-run"]


def said(done: Completed) -> DryRun | str:
    """A finished dry run's lines, or its error (one line) when it failed."""
    if done.returncode != 0:
        words = [x.strip() for x in (done.stderr or done.stdout).splitlines() if x.strip()]
        return words[-1] if words else f"exit {done.returncode}"
    return parse(done.stdout + "\n" + done.stderr)


def disagreements(
    said: DryRun,
    project: str,
    services: Sequence[ServicePlan],
    resources: Iterable[ResourcePlan],
) -> list[str]:
    """Where the dry run and the plan differ, one line each ([] when they agree)."""
    ours: dict[str, set[str]] = {v: set() for v in ("recreate", "remove", "start")}
    created: set[str] = set()
    for s in services:
        if s.action in ours:
            ours[s.action].update(s.containers)
        if s.action in ("create", "scale") and s.count[1] > s.count[0]:
            created.add(s.service)
    lines: list[str] = []
    for verdict, names in ours.items():
        theirs = said.names(verdict)
        if names != theirs:
            lines.append(
                f"{verdict}: Compose's dry run says {_names(theirs)}, the plan {_names(names)}"
            )
    theirs_created = {_service_of(n, project, services) for n in said.names("create")}
    if created != theirs_created:
        lines.append(
            f"create: Compose's dry run creates containers of {_names(theirs_created)}, "
            f"the plan of {_names(created)}"
        )
    volumes = {r.name for r in resources if r.kind == "volume" and r.action == "create"}
    their_volumes = {n for n, words in said.volumes.items() if words & {"Creating", "Created"}}
    if volumes != their_volumes:
        lines.append(
            f"volumes created: Compose's dry run says {_names(their_volumes)}, "
            f"the plan {_names(volumes)}"
        )
    return lines


def _service_of(name: str, project: str, services: Sequence[ServicePlan]) -> str:
    for s in sorted(services, key=lambda s: -len(s.service)):
        if re.fullmatch(rf"{re.escape(project)}[-_]{re.escape(s.service)}[-_]\d+", name):
            return s.service
    return name


def _names(names: Iterable[str]) -> str:
    found = sorted(names)
    return ", ".join(found) if found else "none"
