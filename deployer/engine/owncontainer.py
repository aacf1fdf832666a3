"""Which container of the engine this process runs in, read from ``/proc/self/mountinfo``.

The engine bind-mounts a container's ``/etc/hostname``, ``/etc/hosts`` and
``/etc/resolv.conf`` from its own folder for that container
(``/var/lib/docker/containers/<ID>/``; Podman: ``.../overlay-containers/<ID>/userdata/``):
in the container's mountinfo that folder is the *root* (4th field) of a mount whose
*mount point* (5th field) is one of those three files. Only that pair says "inside".

A process on the engine's own host sees the engine's mounts too when they share a mount
namespace (a dockerd started from a shell): a container with a shareable IPC namespace
puts ``/var/lib/docker/containers/<ID>/mounts/shm`` there as a mount point. Searching the
whole text for ``/containers/<ID>/`` took that for "this process runs in <ID>": a deployer
on the host then refused a descriptor's env files as if it ran in a container, and a lock
holder was recorded as living in someone else's container.
"""

from __future__ import annotations

import re

#: Mount points the engine provides from a container's own folder.
ENGINE_FILES = frozenset({"/etc/hostname", "/etc/hosts", "/etc/resolv.conf"})
_SOURCE = re.compile(
    r"/(?:overlay-)?containers/([0-9a-f]{64})/(?:userdata/)?(?:hostname|hosts|resolv\.conf)$"
)


def own_container_id(mountinfo: str) -> str | None:
    """The ID of the container this process runs in, from the text of
    ``/proc/self/mountinfo``; None on a host (whatever containers run there)."""
    for line in mountinfo.splitlines():
        fields = line.split()
        if len(fields) < 5 or fields[4] not in ENGINE_FILES:
            continue
        found = _SOURCE.search(fields[3])
        if found:
            return found.group(1)
    return None
