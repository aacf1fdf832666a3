"""What a stack's tasks run, for the ledger (:class:`deployer.ledger.outcomes.SwarmObserver`).

A Swarm verdict names tasks. A task's container exists on the node that runs it; where
this manager's engine has it, ``docker inspect`` gives the image ID it actually runs
(``sha256:...``), the same as a Compose record. A task on another node (or one that never
got a container) is recorded by its task ID with the image its spec names
(``ContainerSpec.Image``: ``name:tag@sha256:<digest>`` when ``docker stack deploy``
resolved the image, the plain reference when ``--resolve-image never``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from deployer.deploy.labels import service_origin
from deployer.engine.inspect import inspect_all
from deployer.swarm.labels import labels_of
from deployer.swarm.watch import stack_services


def inspect_tasks(client: Any, task_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Task ID -> ``{"Id", "Image"}``: its container's (ID, image ID) where inspectable,
    else the task's own ID and its spec's image. Tasks the manager no longer keeps are
    left out."""
    import docker.errors

    out: dict[str, dict[str, Any]] = {}
    for tid in task_ids:
        try:
            task = client.api.inspect_task(tid)
        except docker.errors.NotFound:
            continue
        cid = str(
            ((task.get("Status") or {}).get("ContainerStatus") or {}).get("ContainerID") or ""
        )
        container = inspect_all(client, [cid]).get(cid) if cid else None
        if container is not None:
            out[tid] = container
            continue
        spec = ((task.get("Spec") or {}).get("ContainerSpec") or {}).get("Image")
        out[tid] = {"Id": tid, "Image": spec}
    return out


def origins(client: Any, stack: str) -> dict[str, dict[str, Any]]:
    """Service -> ``{"component", "build", "fragment"}`` from its labels (labelled ones)."""
    found = {}
    for name, doc in stack_services(client, stack).items():
        origin = service_origin(labels_of(doc))
        if origin is not None:
            found[name] = origin
    return found
