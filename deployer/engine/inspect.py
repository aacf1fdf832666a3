"""``docker inspect`` of many containers at once, for both orchestrators' ledger records
(:mod:`deployer.ledger.outcomes` for Compose, :mod:`deployer.swarm.tasks` for Swarm)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def inspect_all(client: Any, container_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """``docker inspect`` of every container still there (a removed one is left out)."""
    import docker.errors

    found = {}
    for cid in container_ids:
        try:
            found[cid] = client.api.inspect_container(cid)
        except docker.errors.NotFound:
            continue
    return found
