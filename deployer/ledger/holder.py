"""Who holds a lock, as a process: host, pid, the pid's start time, and the container.

Every lock the deployer takes (the registry's environment lock, the engine's project
lock) carries :func:`identity`. A waiter may take a lock over only when :func:`gone` is
sure its holder's process no longer exists: the holder said it ran on this very host and
in this very container (or in none), and that pid is not running, or is running a later
process (a different start time: the pid was reused). From another host, or another
container, nothing can be known, with one exception, :class:`Liveness`: a deployer that
runs in a container (Rundeck's ``docker run --rm`` jobs: every run a new container) on the
very engine it deploys to records that engine's ID; a waiter talking to the same engine
asks it whether the holder's container still runs. Otherwise such a lock waits for its
ttl or for ``consign unlock``.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import docker.errors

from consign.lockholder import holder_process
from deployer.engine.owncontainer import own_container_id

#: A container's cgroup (cgroup v1, or v2 with the cgroupfs driver): docker/<ID>,
#: docker-<ID>.scope, libpod-<ID>.scope.
_CGROUP_ID = re.compile(r"/(?:docker/|docker-|libpod-)([0-9a-f]{64})\b")


def container_id(proc: Path = Path("/proc/self")) -> str | None:
    """The ID of the container this process runs in (Docker, Podman), or None: its cgroup,
    else the files the engine mounts into it (:mod:`deployer.engine.owncontainer`; never
    another container's mount that a host process also sees)."""
    try:
        found = _CGROUP_ID.search((proc / "cgroup").read_text("utf-8", errors="replace"))
    except OSError:
        found = None
    if found:
        return found.group(1)
    try:
        return own_container_id((proc / "mountinfo").read_text("utf-8", errors="replace"))
    except OSError:
        return None


def start_time(pid: int) -> int | None:
    """When ``pid`` started (clock ticks since boot, /proc/PID/stat field 22), or None
    when there is no such process (or no /proc)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text("utf-8", errors="replace")
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()  # after "pid (comm) "; comm may hold spaces
    try:
        return int(fields[19])  # field 22 overall, the 20th after comm
    except (IndexError, ValueError):
        return None


def identity(pid: int | None = None) -> dict[str, Any]:
    """``{"host", "pid", "pid_start", "container"}`` of this process (or ``pid``)."""
    pid = os.getpid() if pid is None else pid
    return {
        "host": socket.gethostname(),
        "pid": pid,
        "pid_start": start_time(pid),
        "container": container_id(),
    }


def running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    return True


def gone(holder: Mapping[str, Any], here: Mapping[str, Any] | None = None) -> bool:
    """True only when ``holder``'s process certainly no longer exists (see the module)."""
    here = identity() if here is None else here
    pid = holder.get("pid")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    if holder.get("host") != here.get("host") or holder.get("container") != here.get("container"):
        return False
    if pid == here.get("pid"):
        return False  # this very process (a retried request of our own)
    if not running(pid):
        return True
    recorded = holder.get("pid_start")
    return isinstance(recorded, int) and start_time(pid) not in (None, recorded)


def describe(holder: Mapping[str, Any]) -> str:
    """``pid 4711 on host rundeck-1`` (and the container's short ID when there is one)."""
    return holder_process(holder) or "an unknown process"


def engine_of(client: Any, container: str | None) -> str | None:
    """The ID of the engine ``client`` talks to if this process's ``container`` runs
    there (then that engine can tell later whether it still runs), else None."""
    if not container:
        return None
    try:
        client.api.inspect_container(container)
        return str(client.api.info().get("ID") or "") or None
    except docker.errors.DockerException:
        return None


def here(client: Any) -> dict[str, Any]:
    """:func:`identity` plus ``engine`` (:func:`engine_of`) for the engine ``client``."""
    me = identity()
    me["engine"] = engine_of(client, me["container"])
    return me


class Liveness:
    """Is a lock's holder certainly gone? :func:`gone`, or, for a holder that ran in a
    container on the engine this process talks to (and itself runs on), that engine no
    longer runs its container."""

    def __init__(self, me: Mapping[str, Any], client: Any = None) -> None:
        self.me = me
        self.client = client

    def __call__(self, holder: Mapping[str, Any]) -> bool:
        if gone(holder, self.me):
            return True
        container, engine = holder.get("container"), holder.get("engine")
        if self.client is None or not isinstance(container, str) or not container:
            return False
        if not engine or engine != self.me.get("engine") or container == self.me.get("container"):
            return False
        try:
            state = self.client.api.inspect_container(container).get("State") or {}
        except docker.errors.NotFound:
            return True  # removed (``docker run --rm``): its process is gone with it
        except docker.errors.DockerException:
            return False
        return not state.get("Running")
