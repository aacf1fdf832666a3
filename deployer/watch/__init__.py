"""Watching a project while Compose brings it up: the event feed (:mod:`.feed`), the one
:class:`~deployer.watch.project.ProjectWatch` (:mod:`.project`) and the logs of failed
services (:mod:`.logs`). :func:`watch_up` wires them to a real engine."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from consign.process import Completed
from deployer import label_keys as keys
from deployer.verdicts.dependencies import Dependencies
from deployer.watch.feed import EventFeed
from deployer.watch.project import (
    EngineClock,
    EngineInspector,
    ProjectWatch,
    Update,
    UpProcess,
    WatchResult,
)

__all__ = ["ProjectWatch", "WatchResult", "watch_up"]


def watch_up(
    client: Any,
    project: str,
    services: Sequence[str],
    *,
    up: Callable[[], UpProcess],
    failed: Callable[[Completed], dict[str, str]],
    timeout: float,
    stable: float,
    on_update: Update | None = None,
    replicas: Mapping[str, int] | None = None,
    dependencies: Dependencies | None = None,
    since: float | None = None,
) -> WatchResult:
    """Subscribe to the project's events, then start ``up`` and watch it (see ProjectWatch).

    ``since``: the engine time the deploy began (default: now); containers created before
    it are not judged while ``up`` runs.
    """
    clock = EngineClock(client)
    since = clock.engine_time() if since is None else since
    # Subscribed before anything starts, a little earlier to cover clock skew.
    feed = EventFeed(client, f"{keys.PROJECT}={project}", since=since - 2.0)
    try:
        inspector = EngineInspector(client, project)
        existed = set(inspector.containers().values())  # before `up` changes anything
        watch = ProjectWatch(
            services,
            feed=feed,
            inspector=inspector,
            clock=clock,
            stable=stable,
            timeout=timeout,
            since=since,
            replicas=replicas,
            dependencies=dependencies,
            existed=existed,
        )
        return watch.run(up(), failed, on_update)
    finally:
        feed.close()
