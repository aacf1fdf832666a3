"""The value types the store hands out (see docs/ARCHITECTURE.md, "Store")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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
    components: list[dict[str, Any]]
    warnings: list[str]
    #: Set on a promoted version: {"application", "release", "version", "commit"} of its source.
    promoted_from: dict[str, Any] | None = None
    #: Who promoted it: {"by": what the client said, "identity": the token's identity}.
    promoted_by: dict[str, Any] | None = None


@dataclass(frozen=True)
class Target:
    application: str
    release: str


@dataclass(frozen=True)
class PublishOutcome:
    target: Target
    version: VersionInfo
    created: bool
    warnings: list[str]


@dataclass(frozen=True)
class PromoteOutcome:
    version: VersionInfo
    created: bool  # False: the target's latest already came from this source (a retry)
