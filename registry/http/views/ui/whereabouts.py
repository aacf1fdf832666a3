"""Where versions run and ran, for the read pages: the ledger's current records grouped by
application/release, and a version's records summed up per environment."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from registry.store import DeploymentRecord, EnvironmentState


def running(states: Iterable[EnvironmentState]) -> dict[tuple[str, str], list[DeploymentRecord]]:
    """(application, release) -> the current record in each environment, by environment."""
    found: dict[tuple[str, str], list[DeploymentRecord]] = {}
    for state in states:
        for record in state.deployed:
            found.setdefault((record.application, record.release), []).append(record)
    return found


@dataclass(frozen=True)
class Badge:
    """A version's last outcome in one environment (the newest of its records there)."""

    environment: str
    outcome: str
    finished: str


def badges(records: Iterable[DeploymentRecord], number: int) -> list[Badge]:
    """Per environment, the newest record that deployed (or rolled back to) ``number``;
    ``records`` newest first, as ``store.deployments_of_version`` returns them."""
    seen: dict[str, Badge] = {}
    for r in records:
        if r.deployed_version == number or r.version == number:
            seen.setdefault(r.environment, Badge(r.environment, r.outcome, r.finished))
    return sorted(seen.values(), key=lambda b: b.environment)
