"""The two ways the deployer runs a descriptor, behind one interface chosen once per
command (``--orchestrator``): a Compose project on one engine, or a Swarm stack through a
manager. ``deployer/cli.py`` asks :func:`orchestrator_for` and then only talks to the
:class:`Orchestrator`: deploy, rollback (inside deploy), teardown, status.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TextIO

import click

from consign.exit_codes import ExitCode
from deployer.deploy import record
from deployer.deploy.outcome import Outcome
from deployer.deploy.record import Deployed
from deployer.deploy.request import DeploySettings
from deployer.deploy.reverify import verify_project
from deployer.deploy.rollback import deploy
from deployer.deploy.sources import Descriptor
from deployer.engine.compose import ComposeRunner
from deployer.engine.sdk import engine, engine_errors
from deployer.ledger import outcomes
from deployer.status import ProjectStatus
from deployer.status import collect as project_status
from deployer.swarm import status as stack_status
from deployer.swarm.deploy import deploy_stack, deployed, verify_stack
from deployer.swarm.stack import StackRunner, manager
from deployer.verification.rules import Verification

Deployment = tuple[Outcome, Outcome | None, ExitCode, outcomes.Observer]


class Orchestrator(Protocol):
    @property
    def kind(self) -> str:
        """What it deploys, for messages: "project" or "stack"."""

    @property
    def where(self) -> str:
        """Where, for messages: "target" or "swarm"."""

    @property
    def verb(self) -> str:
        """The report's title for a deploy: "deploy" or "deploy stack"."""

    def connect(self) -> Any:
        """The Docker SDK client it works through (exit 6 when it does not answer)."""

    def deploy(
        self,
        descriptor: Descriptor,
        client: Any,
        settings: DeploySettings,
        fetch_previous: Callable[[Deployed], Descriptor],
        out: TextIO,
        observer: outcomes.Observer | None = None,
    ) -> Deployment:
        """The deploy and its rollback; the observer (default: :meth:`observer`'s) holds
        what the ledger records, also when Ctrl-C stops it."""

    def observer(self, client: Any, project: str) -> outcomes.Observer:
        """What sees each attempt for the ledger."""

    def deployed(self, client: Any, project: str) -> Deployed | None:
        """What is deployed as ``project`` now (None: nothing of ours)."""

    def teardown(self, client: Any, project: str) -> bool:
        """Remove ``project``; False when there was nothing to remove."""

    def status(self, client: Any, project: str | None) -> list[ProjectStatus]:
        """Every deployment of ours (or just ``project``) with its verdicts now."""

    def label(self, project: str) -> str:
        """How messages name ``project`` ("shop", "stack shop")."""

    def verify(
        self, descriptor: Descriptor, client: Any, settings: DeploySettings, out: TextIO
    ) -> Verification:
        """``consign verify``: the verification of ``descriptor`` (what runs) run beside it,
        nothing else touched (exit 4 when it declares none)."""


@dataclass(frozen=True)
class Compose:
    host: str | None
    compose_cmd: str | None = None
    volumes: bool = False  # teardown: --volumes
    kind: str = "project"
    where: str = "target"
    verb: str = "deploy"

    def connect(self) -> Any:
        return engine(self.host)

    def deploy(
        self,
        descriptor: Descriptor,
        client: Any,
        settings: DeploySettings,
        fetch_previous: Callable[[Deployed], Descriptor],
        out: TextIO,
        observer: outcomes.Observer | None = None,
    ) -> Deployment:
        seen = observer or self.observer(client, settings.project)
        runner = ComposeRunner(self.host, self.compose_cmd, settings.variables.passed)

        def stopped(d: Descriptor, kind: str) -> None:
            seen.interrupt(d, settings.project, kind)

        found = deploy(descriptor, runner, client, settings, fetch_previous, out, seen, stopped)
        return (*found, seen)

    def observer(self, client: Any, project: str) -> outcomes.Observer:
        return outcomes.Observer(client)

    def deployed(self, client: Any, project: str) -> Deployed | None:
        with engine_errors(self.host):
            return record.read(client, project)

    def teardown(self, client: Any, project: str) -> bool:
        ComposeRunner(self.host, self.compose_cmd).down(project, volumes=self.volumes)
        with engine_errors(self.host):
            record.forget(client, project)
        return True

    def status(self, client: Any, project: str | None) -> list[ProjectStatus]:
        with engine_errors(self.host):
            return project_status(client, project)

    def label(self, project: str) -> str:
        return project

    def verify(
        self, descriptor: Descriptor, client: Any, settings: DeploySettings, out: TextIO
    ) -> Verification:
        compose = ComposeRunner(self.host, self.compose_cmd, settings.variables.passed)
        return verify_project(descriptor, compose, client, settings, out)


@dataclass(frozen=True)
class Swarm:
    host: str | None
    kind: str = "stack"
    where: str = "swarm"
    verb: str = "deploy stack"

    def connect(self) -> Any:
        return manager(self.host)

    def deploy(
        self,
        descriptor: Descriptor,
        client: Any,
        settings: DeploySettings,
        fetch_previous: Callable[[Deployed], Descriptor],
        out: TextIO,
        observer: outcomes.Observer | None = None,
    ) -> Deployment:
        seen = observer or self.observer(client, settings.project)
        runner = StackRunner(self.host, variables=settings.variables.passed)
        found = deploy_stack(descriptor, runner, client, settings, fetch_previous, out, seen)
        return (*found, seen)

    def observer(self, client: Any, project: str) -> outcomes.Observer:
        return outcomes.SwarmObserver(client, stack=project)

    def deployed(self, client: Any, project: str) -> Deployed | None:
        with engine_errors(self.host):
            return deployed(client, project)

    def teardown(self, client: Any, project: str) -> bool:
        with engine_errors(self.host):
            return stack_status.down(StackRunner(self.host), client, project)

    def status(self, client: Any, project: str | None) -> list[ProjectStatus]:
        with engine_errors(self.host):
            return stack_status.collect(client, project)

    def label(self, project: str) -> str:
        return f"stack {project}"

    def verify(
        self, descriptor: Descriptor, client: Any, settings: DeploySettings, out: TextIO
    ) -> Verification:
        runner = StackRunner(self.host, variables=settings.variables.passed)
        with engine_errors(self.host):
            return verify_stack(descriptor, runner, client, settings, out)


def orchestrator_for(
    name: str, host: str | None, compose_cmd: str | None = None, volumes: bool = False
) -> Orchestrator:
    """``--orchestrator``'s choice (compose | swarm)."""
    if name == "swarm":
        return Swarm(host)
    if name == "compose":
        return Compose(host, compose_cmd, volumes)
    raise click.UsageError(f"unknown orchestrator {name!r} (compose or swarm)")
