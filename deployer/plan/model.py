"""The plan's typed inputs (what the new descriptor wants, what the engine runs) and the
plan itself, with its JSON (the schema docs/deployer.md "Plan" documents)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Per-service actions, in the order the report lists them.
#: ``update`` is Swarm's alone: a service's own labels change, no task is replaced.
#: ``verify``: a verification service (Compose profile ``verify``), run after the deploy is
#: healthy and removed after (nothing of it stays, so it is not a change by itself).
ACTIONS = ("create", "recreate", "scale", "start", "update", "remove", "verify", "unchanged")


@dataclass(frozen=True)
class Wanted:
    """One service as the deploy would bring it up."""

    service: str
    #: The image reference of the resolved model ("" for a service with only ``build``).
    image: str
    #: Compose's ``com.docker.compose.config-hash`` for it (``config --hash``).
    config_hash: str
    #: Our own labels (deployer/deploy/labels.py): component, build, fragment.
    labels: dict[str, str]
    #: Containers it runs (scale, deploy.replicas, else 1).
    replicas: int = 1
    #: The image's ID on the target engine now; None when the image is not there.
    image_id: str | None = None


@dataclass(frozen=True)
class Seen:
    """One container of the project on the engine, as Compose lists it (only containers
    with a config hash label are Compose's)."""

    id: str
    name: str
    service: str
    #: Its ``com.docker.compose.config-hash`` label.
    config_hash: str
    #: The image reference it was created from (``Config.Image``).
    image: str
    #: The image ID it was created from (Compose's ``com.docker.compose.image`` label,
    #: else the container's ``Image``).
    image_id: str
    #: Its ``io.consignment.*`` labels.
    labels: dict[str, str]
    #: running, exited, created, restarting, paused, dead.
    state: str
    #: Compose's container number (``com.docker.compose.container-number``).
    number: int = 1
    #: A ``compose run`` container (``com.docker.compose.oneoff=True``).
    oneoff: bool = False


@dataclass(frozen=True)
class LabelChange:
    key: str
    before: str | None
    after: str | None

    def as_json(self) -> dict[str, Any]:
        return {"key": self.key, "before": self.before, "after": self.after}


@dataclass(frozen=True)
class Reason:
    """Why a container is recreated: ``image``, ``image_id``, ``config_hash``, ``labels``
    (then ``labels`` lists the keys that differ), ``keys`` or ``host_variables``."""

    kind: str
    before: str | None = None
    after: str | None = None
    labels: tuple[LabelChange, ...] = ()
    #: ``keys``: the service's keys that differ from the running version's definition;
    #: ``host_variables``: the definitions are equal, these variables of this host (and env
    #: files) are what it resolves (names only, never values).
    keys: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {"kind": self.kind, "before": self.before, "after": self.after}
        if self.labels:
            found["labels"] = [c.as_json() for c in self.labels]
        if self.kind in ("keys", "host_variables"):
            found["keys"] = list(self.keys)
        return found


@dataclass(frozen=True)
class ServicePlan:
    service: str
    #: One of :data:`ACTIONS`.
    action: str
    #: Why (recreate: one entry per difference; others: empty).
    reasons: tuple[Reason, ...] = ()
    #: The names of its containers now (those recreated, removed, started, or left).
    containers: tuple[str, ...] = ()
    #: Containers before -> after (differs for ``scale``, ``create``, ``remove``).
    count: tuple[int, int] = (0, 0)
    #: A line for people beyond the reasons ("scaled to 0", "orphan: not in the descriptor").
    note: str = ""

    @property
    def changes(self) -> bool:
        return self.action not in ("unchanged", "verify")

    def as_json(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "action": self.action,
            "reasons": [r.as_json() for r in self.reasons],
            "containers": list(self.containers),
            "containers_before": self.count[0],
            "containers_after": self.count[1],
            "note": self.note,
        }


@dataclass(frozen=True)
class ImagePlan:
    """An image the deploy pulls (``pull``) or needs and cannot have (``missing``)."""

    image: str
    action: str  # "pull" | "missing"
    services: tuple[str, ...]
    note: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "image": self.image,
            "action": self.action,
            "services": list(self.services),
            "note": self.note,
        }


@dataclass(frozen=True)
class ResourcePlan:
    """A named volume or network: ``create``, ``keep`` (exists, left as it is), ``external``
    (exists, not Compose's), ``missing`` (external and absent: the deploy fails)."""

    kind: str  # "volume" | "network"
    key: str  # the descriptor's key
    name: str  # the engine's name
    action: str
    services: tuple[str, ...] = ()

    @property
    def changes(self) -> bool:
        return self.action in ("create", "missing")

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "key": self.key,
            "name": self.name,
            "action": self.action,
            "services": list(self.services),
        }


@dataclass(frozen=True)
class VersionRef:
    application: str
    release: str
    version: str
    commit: str = ""
    #: Where it came from, said when it is not a registry version (a --file path).
    location: str = ""

    def label(self) -> str:
        if not self.application:
            return f"file {self.location}" if self.location else "(no version)"
        return f"{self.application}/{self.release} v{self.version or '?'}"

    def as_json(self) -> dict[str, Any]:
        return {
            "application": self.application or None,
            "release": self.release or None,
            "version": int(self.version) if self.version.isdigit() else (self.version or None),
            "commit": self.commit or None,
            "location": self.location or None,
        }


@dataclass
class DeployPlan:
    """What a deploy of ``new`` to ``project`` would do."""

    project: str
    orchestrator: str  # "compose" | "swarm"
    new: VersionRef
    #: What the project record (or the stack's labels) says runs; None: nothing of ours.
    running: VersionRef | None
    services: list[ServicePlan] = field(default_factory=list)
    images: list[ImagePlan] = field(default_factory=list)
    resources: list[ResourcePlan] = field(default_factory=list)
    #: The registry's diff between the versions (``consign diff``'s JSON), or None.
    registry_diff: dict[str, Any] | None = None
    #: Why there is no registry diff ("" when there is one, or nothing to compare).
    registry_note: str = ""
    #: Compose's ``up --dry-run`` cross-check: ran, and what it said otherwise.
    cross_check: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def record_changes(self) -> bool:
        """The deploy would record another version (the record volume or stack labels)."""
        if self.running is None:
            return True
        r, n = self.running, self.new
        return (r.application, r.release, r.version, r.location) != (
            n.application, n.release, n.version, n.location
        )  # fmt: skip

    @property
    def changes(self) -> bool:
        return (
            any(s.changes for s in self.services)
            or bool(self.images)
            or any(r.changes for r in self.resources)
            or self.record_changes
        )

    def counts(self) -> dict[str, int]:
        found = {action: 0 for action in ACTIONS}
        for s in self.services:
            found[s.action] += 1
        return found

    def as_json(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "orchestrator": self.orchestrator,
            "changes": self.changes,
            "versions": {
                "running": self.running.as_json() if self.running else None,
                "new": self.new.as_json(),
                "record_changes": self.record_changes,
            },
            "counts": self.counts(),
            "services": [s.as_json() for s in self.services],
            "images": [i.as_json() for i in self.images],
            "volumes": [r.as_json() for r in self.resources if r.kind == "volume"],
            "networks": [r.as_json() for r in self.resources if r.kind == "network"],
            "registry_diff": self.registry_diff,
            "registry_note": self.registry_note or None,
            "cross_check": self.cross_check or None,
            "warnings": list(self.warnings),
        }
