"""What ``consign deploy`` and ``consign down`` were asked to do, typed once.

The CLI builds one frozen :class:`DeployRequest` (or :class:`TeardownRequest`) from its
options; everything below it (:mod:`deployer.deploy.session`, the orchestrators, the
attempts) reads these objects, never click's parameters. :class:`DeploySettings` is the one
declaration of how an attempt runs, for Compose and Swarm alike (each reads its own fields).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deployer.deploy import sources
from deployer.deploy.hostvars import HostVariables
from deployer.deploy.record import Deployed
from deployer.deploy.workdir import Workdir


@dataclass(frozen=True)
class DeploySettings:
    """How one deploy (and its rollback) runs (``consign deploy``'s options)."""

    #: The Compose project or the Swarm stack.
    project: str
    timeout: float = 300.0
    stable: float = 5.0
    rollback: bool = True
    #: Compose's pull policy (Compose only).
    pull: str = "missing"
    #: A service running another image than ``--pin-images`` recorded fails the deploy
    #: (otherwise it is a warning, in the output and the report). Compose only.
    require_pinned: bool = False
    #: ``docker stack deploy --resolve-image``: always, changed or never (Swarm only).
    resolve_image: str = "always"
    #: Run the descriptor's verification services (profile ``verify``) once every other
    #: service is ok (``--skip-verify``: recorded as skipped), each within
    #: ``verify_timeout`` seconds (``--verify-timeout``).
    verify: bool = True
    verify_timeout: float = 300.0
    #: Where the descriptor and its files are written (--workdir): deployer/deploy/workdir.py.
    workdir: Workdir = field(default_factory=Workdir)
    #: Who deploys (the ledger's ``--by``) and for which environment: the project record
    #: names them while the deploy is in progress (deployer.deploy.record).
    by: str = ""
    environment: str = ""
    #: The deploy host's variables (environment, --env-file) and the masker of their
    #: secret values: deployer/deploy/hostvars.py.
    variables: HostVariables = field(default_factory=HostVariables)


@dataclass(frozen=True)
class EngineTarget:
    """Where it runs: ``--orchestrator``, ``--host``, ``--compose`` (and down's ``--volumes``)."""

    orchestrator: str = "compose"
    host: str | None = None
    compose_cmd: str | None = None
    volumes: bool = False


@dataclass(frozen=True)
class LedgerOptions:
    """The lock and the record: ``--registry``, the token, ``--ca-file``, ``--environment``,
    ``--by``, ``--spool``, ``--lock-wait``, ``--lock-poll``, ``--require-lock``,
    ``--move-environment``."""

    registry: str | None = None
    #: ``--report-token``, else ``--token``.
    token: str | None = None
    ca_file: str | None = None
    environment: str | None = None
    by: str | None = None
    spool: Path | None = None
    lock_wait: float = 0.0
    lock_poll: float = 0.5
    require_lock: bool = False
    move_environment: bool = False
    #: The environment's lock already held by this process (``consign bisect`` holds it for
    #: its whole search): the deploy works inside it instead of taking it again
    #: (deployer.ledger.lock.HeldLock; typed loosely: request.py sits below ledger/).
    held_lock: Any = None


@dataclass(frozen=True)
class LockAndRecord:
    """The lock and record options as a command was given them (``--environment``,
    ``--by``, ``--report-token``, ``--spool``, ``--lock-wait``, ``--lock-poll``,
    ``--require-lock``, ``--move-environment``: deploy, down and verify declare them once,
    deployer/cli.py ``_ledger_options``); :meth:`options` adds the registry."""

    environment: str | None = None
    by: str | None = None
    report_token: str | None = None
    spool: Path | None = None
    lock_wait: float = 0.0
    lock_poll: float = 0.5
    require_lock: bool = False
    move_environment: bool = False

    def options(
        self, registry: str | None, token: str | None, ca_file: str | None
    ) -> LedgerOptions:
        """The lock's and the record's settings; ``--report-token`` first, else ``--token``."""
        return LedgerOptions(
            registry=registry,
            token=self.report_token or token,
            ca_file=ca_file,
            environment=self.environment,
            by=self.by,
            spool=self.spool,
            lock_wait=self.lock_wait,
            lock_poll=self.lock_poll,
            require_lock=self.require_lock,
            move_environment=self.move_environment,
        )


@dataclass(frozen=True)
class DescriptorSource:
    """Where descriptors come from: ``--registry`` (with its token and CA), ``--git`` or
    ``--file``; also the version a failed deploy rolls back to."""

    registry: str | None = None
    token: str | None = None
    ca_file: str | None = None
    git_url: str | None = None
    file_path: str | None = None

    def fetch(
        self, app: str, rel: str, ver: str, kind: str | None = None, where: str | None = None
    ) -> sources.Descriptor:
        """Version ``ver`` of APPLICATION RELEASE, from ``kind``/``where`` when given (what
        a project record names), else from this source."""
        if kind == "git" or (kind is None and self.git_url):
            return sources.from_git(where or self.git_url or "", app, rel, ver)
        if kind == "registry" or (kind is None and self.registry):
            return sources.from_registry(
                where or self.registry or "", app, rel, ver, self.token, self.ca_file
            )
        raise sources.SourceError(
            "the previous version came from a local file; cannot fetch it again"
        )

    def previous(self, d: Deployed) -> sources.Descriptor:
        """The version a project record names (the rollback's)."""
        if self.file_path is None:
            return self.fetch(d.application, d.release, d.version)
        return self.fetch(d.application, d.release, d.version, d.source, d.registry)


@dataclass(frozen=True)
class DeployRequest:
    """One ``consign deploy``: what, from where, how, where to, and how it is recorded."""

    application: str | None
    release: str | None
    version: str | None
    source: DescriptorSource
    target: EngineTarget
    settings: DeploySettings
    ledger: LedgerOptions
    #: ``--report``: the JSON report's path.
    report: str | None = None
    #: ``--force``: deploy a version rejected at the gate.
    force: bool = False
    #: ``--bisect-step``: ``consign bisect``'s mark, recorded as the records' ``bisect``.
    bisect_step: str | None = None

    @property
    def project(self) -> str:
        return self.settings.project


@dataclass(frozen=True)
class TeardownRequest:
    """One ``consign down``."""

    project: str
    target: EngineTarget
    ledger: LedgerOptions


@dataclass(frozen=True)
class VerifyRequest:
    """One ``consign verify``: the verification of what the project runs, re-run."""

    application: str | None
    release: str | None
    source: DescriptorSource
    target: EngineTarget
    #: the project, ``verify_timeout``, ``pull``, ``workdir``
    settings: DeploySettings
    ledger: LedgerOptions

    @property
    def project(self) -> str:
        return self.settings.project
