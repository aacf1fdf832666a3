"""Watch a Compose project that is already up until every service has a verdict, and
read a service's last log lines for the report.

The loop itself is :func:`deployer.watch_up.watch_up` (a deploy's watch, with ``up``
running beside it): the event stream is opened *before* the containers are listed, a
container is inspected on the events about it, and a short tick settles "running" after
the stability window and notices the timeout.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import docker
from docker.errors import APIError, NotFound

from consign.process import Completed
from deployer.verdicts import ServiceVerdict
from deployer.watch_up import ONEOFF, PROJECT, SERVICE, TICK, Update, watch_up

__all__ = ["ONEOFF", "PROJECT", "SERVICE", "TICK", "Update", "service_logs", "watch"]


def watch(
    client: docker.DockerClient,
    project: str,
    services: Sequence[str],
    *,
    timeout: float,
    stable: float,
    on_update: Update | None = None,
    not_created: Mapping[str, str] | None = None,
    replicas: Mapping[str, int] | None = None,
    since: float | None = None,
) -> dict[str, ServiceVerdict]:
    """Verdicts for ``services`` of a project that is already up: returns once all are final.

    The same loop as a deploy's (:func:`deployer.watch_up.watch_up`) with nothing left to
    start. Failures are final the moment they are certain; pending services become
    TIMED_OUT after ``timeout`` seconds. ``since`` is the engine time (epoch seconds) the
    deploy began: a container created after it that has already restarted is
    crash-looping even when it looks running.
    """
    nothing = Completed([], 0, "", "", 0.0)
    verdicts, _ = watch_up(
        client,
        project,
        services,
        timeout=timeout,
        stable=stable,
        up=lambda: nothing,
        failed=lambda _done: {},
        on_update=on_update,
        replicas=replicas,
        not_created=not_created,
        since=since,
    )
    return verdicts


def service_logs(client: docker.DockerClient, project: str, service: str, tail: int = 50) -> str:
    """The last ``tail`` log lines of each container of ``service`` (for the report)."""
    filters = {"label": [f"{PROJECT}={project}", f"{SERVICE}={service}"]}
    parts: list[str] = []
    containers = client.api.containers(all=True, filters=filters)
    for c in sorted(containers, key=lambda c: str((c.get("Names") or [""])[0])):
        try:
            raw = client.api.logs(c["Id"], stdout=True, stderr=True, tail=tail)
        except NotFound:
            continue
        except APIError as e:  # e.g. a logging driver that cannot be read back
            raw = f"(logs unavailable: {e.explanation or e})"
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        if len(containers) > 1:
            name = str((c.get("Names") or [c["Id"][:12]])[0]).lstrip("/")
            text = f"== {name} ==\n{text}"
        parts.append(text.rstrip("\n"))
    return "\n".join(parts)
