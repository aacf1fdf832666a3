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
    state: str = "ok"  # registry.state: ok | incomplete | warnings
    state_reason: str = ""  # one line, empty when ok: "incomplete: plex → bittorrent-sync-data"


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
    component: str = ""  # the component's name in this target (explicit or derived)
