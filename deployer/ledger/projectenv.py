"""Which environment a project (or Swarm stack) is recorded under, kept on its engine.

An empty volume ``consign-environment.<project>`` whose labels name the project and the
environment (``io.consignment.environment-of``, ``io.consignment.environment``). On the
engine, like the project record (:mod:`deployer.deploy.record`), so it is known with no
registry and shared by every deployer that reaches that engine. It is written under the
project's lock (:mod:`.projectlock`), so two first deploys under two names cannot both
claim the project: the second one reads the first one's name. Volume labels cannot
change: a move removes the volume and creates it again. ``consign down`` removes it (a
torn-down project may come back under any name).
"""

from __future__ import annotations

import contextlib
from typing import Any

import docker.errors

from deployer import label_keys as keys


def volume_name(project: str) -> str:
    return f"consign-environment.{project}"


def read(client: Any, project: str) -> str | None:
    """The environment the project is recorded under, None when none is."""
    try:
        found = client.api.inspect_volume(volume_name(project))
    except docker.errors.NotFound:
        return None
    labels = found.get("Labels") or {}
    if labels.get(keys.ENVIRONMENT_OF) != project:
        return None
    return labels.get(keys.ENVIRONMENT) or None


def write(client: Any, project: str, environment: str) -> None:
    """Record ``environment`` for ``project`` (hold the project's lock)."""
    if read(client, project) == environment:
        return
    forget(client, project)
    client.api.create_volume(
        volume_name(project),
        labels={keys.ENVIRONMENT_OF: project, keys.ENVIRONMENT: environment},
    )


def forget(client: Any, project: str) -> None:
    with contextlib.suppress(docker.errors.NotFound):
        client.api.remove_volume(volume_name(project), force=True)
