"""Containers a ``compose up`` created but never started, removed once Compose has stopped.

Compose recreates a service by creating the new container under a temporary name
(``912262b47e72_shop-dev-web-1``), stopping the old one, then renaming and starting the
new. Stopped in between (Ctrl-C, a certain failure, a killed deployer) it leaves the new
container in state ``created``: it never ran, nothing refers to it, and ``consign status``
would show its service pending for ever. Also left ``created``: the services Compose never
started because a dependency failed. Both are removed right after an interrupted or failed
``up`` and, for a deployer that was killed, by the next deploy before it changes anything;
the output names them. Only Compose is ever stopped first: while ``up`` runs, ``created``
is a normal state (a container waiting for its dependencies).
"""

from __future__ import annotations

from typing import Any, TextIO

from deployer import label_keys as keys


def remove_never_started(client: Any, project: str) -> list[str]:
    """Remove the project's service containers in state ``created``; their names."""
    import docker.errors

    filters = {"label": f"{keys.PROJECT}={project}", "status": "created"}
    removed = []
    for row in client.api.containers(all=True, filters=filters):
        if (row.get("Labels") or {}).get(keys.ONEOFF) == "True":
            continue  # a `compose run` of someone else's: not ours to remove
        try:
            client.api.remove_container(row["Id"], force=True)
        except docker.errors.NotFound:
            continue
        removed.append(str((row.get("Names") or [row["Id"][:12]])[0]).lstrip("/"))
    return sorted(removed)


def tidy(client: Any, project: str, out: TextIO, whose: str) -> list[str]:
    """:func:`remove_never_started`, saying so on ``out`` (``whose``: "this deploy", ...)."""
    removed = remove_never_started(client, project)
    if removed:
        print(
            f"removed {len(removed)} container(s) {whose} created but never started: "
            + ", ".join(removed),
            file=out,
            flush=True,
        )
    return removed
