"""The value types the store hands out (see docs/ARCHITECTURE.md, "Store")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class FileInfo:
    """An env file published with a component: ``path`` as the fragment references it
    (normalised), ``stored`` its path in the version's tree, its ``sha256``, ``size`` and
    Git ``blob`` id (so later versions put it in their trees without reading it)."""

    path: str
    stored: str
    sha256: str
    size: int
    blob: str


@dataclass(frozen=True, slots=True)
class ComponentInfo:
    """A component of a version as its manifest records it (not parsed: no fragment text).

    ``sha256`` is the fragment's: equal hashes, equal service definitions. ``fragment`` is
    the fragment's path in the version's tree.
    """

    name: str
    sha256: str
    build: dict[str, Any]
    services: tuple[str, ...]
    fragment: str
    files: tuple[FileInfo, ...] = ()
    secrets: tuple[str, ...] = ()  # secret-looking literals found at publish: "path (kind)"


@dataclass(frozen=True, slots=True)
class Promotion:
    """Where a promoted version came from: that version and its commit."""

    application: str
    release: str
    version: int
    commit: str


@dataclass(frozen=True)
class VersionInfo:
    """One immutable version of an application/release, as recorded in its manifest.

    ``tag`` is the tag's short name (``TLO%20GE/Milestone/3``), usable as is with
    ``git checkout``; ``commit`` is the full hex commit id.
    """

    application: str
    release: str
    number: int
    commit: str
    tag: str
    created: str
    component: str
    build: dict[str, Any]
    components: list[ComponentInfo]
    warnings: list[str]
    #: Set on a promoted version: the version it was made from.
    promoted_from: Promotion | None = None
    #: Who promoted it: {"by": what the client said, "identity": the token's identity}.
    promoted_by: dict[str, Any] | None = None
    state: str = "ok"  # registry.state: ok | incomplete | warnings
    state_reason: str = ""  # one line, empty when ok: "incomplete: plex → bittorrent-sync-data"


@dataclass(frozen=True)
class Target:
    application: str
    release: str


@dataclass(frozen=True)
class SecretsFound:
    """A publish's secret-looking literals (``path (kind)``, never a value) and the
    registry's policy for them when the release has none (registry/secretpolicy.py)."""

    findings: tuple[str, ...]
    default: str = "warn"


@dataclass(frozen=True)
class PublishOutcome:
    target: Target
    version: VersionInfo
    created: bool
    warnings: list[str]
    component: str = ""  # the component's name in this target (explicit or derived)


@dataclass(frozen=True)
class PromoteOutcome:
    version: VersionInfo
    created: bool  # False: the target's latest already came from this source (a retry)


@dataclass(frozen=True)
class ServiceRecord:
    """One service of a recorded deployment: its verdict and what actually ran."""

    service: str
    verdict: str
    detail: str
    containers: list[str]
    image: str | None  # the image ID (sha256:...) the containers ran
    component: str | None
    build: dict[str, Any]
    config_hash: str | None = None  # com.docker.compose.config-hash, for drift checks


@dataclass(frozen=True)
class DeploymentRecord:
    """One entry of an environment's ledger (see README, "The deployment ledger").

    ``seq`` (1, 2, ... per environment, in arrival order) and ``received`` are set by the
    registry; everything else is the deployer's report.
    """

    id: str
    kind: str  # "deploy" | "rollback" | "teardown" | "drift" | "verify" | "unlock" (registry's)
    environment: str
    application: str
    release: str
    version: int | None
    commit: str | None
    outcome: str  # see registry/http/parsing/ledger.py KINDS (deploy, rollback, teardown, drift)
    rolled_back_to: int | None
    started: str  # ISO-8601 UTC
    finished: str  # ISO-8601 UTC
    by: str
    engine: dict[str, Any]
    source: str | None
    services: list[ServiceRecord]
    seq: int = 0
    received: str = ""
    #: an ``unlock`` record's: why the lock was broken, and the lock as it was
    reason: str | None = None
    lock: dict[str, Any] | None = None
    #: ``consign bisect``'s mark on the records of its steps ("bisect 3/5: v27 of 12..40")
    bisect: str | None = None
    #: the verification services' verdicts (registry/http/parsing/verification.py): a
    #: deploy's that declared some, and every ``verify`` record's; None: none declared
    verification: dict[str, Any] | None = None

    @property
    def deployed_version(self) -> int | None:
        """The version this record leaves running (None: nothing, after a teardown)."""
        if self.outcome in ("torn_down", "moved"):  # records.GONE
            return None
        if self.rolled_back_to is not None and self.outcome in (
            "rolled_back",
            "verification_failed",
        ):
            return self.rolled_back_to
        return self.version


@dataclass(frozen=True)
class EnvironmentLock:
    """The one deploy allowed in an environment at a time (see README, "Environment locks")."""

    environment: str
    id: str  # the holder's handle for renewing and releasing
    holder: dict[str, Any]  # by, application, release, version, host, execution, ...
    since: str
    expires: str
    ttl: int


@dataclass(frozen=True)
class EnvironmentState:
    """An environment now: what runs there per application/release, and its lock."""

    name: str
    deployments: int  # records in its ledger
    last: str | None  # when the newest record finished
    deployed: list[DeploymentRecord]  # the current record per application/release
    lock: EnvironmentLock | None
    tip: str | None = None  # the ledger commit this state was read from (same tip, same state)
