"""The project record: which version a Compose project is at, kept on the engine itself.

It is an empty Docker volume named ``consign-record.<project>.<n>`` whose labels hold the
project's application, release, version, commit, source kind and location, and the builds
of every component (the ``io.consignment.*`` keys of :mod:`deployer.label_keys`, plus
``io.consignment.record-of`` = the project). A volume is used because its labels live on
the target host (``consign status`` there needs no registry), they are not part of any
container's configuration (changing them recreates nothing), and no image is needed.

Volume labels cannot change, so each deploy attempt (the requested one, then a rollback)
creates a new record and then removes the older ones; a reader takes the newest
(``io.consignment.recorded``, nanoseconds). Compose never touches it (it has no Compose
label); ``consign down`` removes it. Projects deployed before the record existed carried the
same keys on every container: :func:`read` falls back to those.

While a deploy changes the project its record says so (``io.consignment.in-progress``: pid,
host, who, since when); :func:`ended` writes the record again without it when the deploy
ends, with ``io.consignment.interrupted`` after Ctrl-C. A record still "in progress" when
the next command reads it was left by a deployer that was killed.

The record also says how the version it names was last verified
(``io.consignment.verified``: status, summary, by, at): :func:`ended` writes it when the
deploy that leaves the project at its version ran a verification, :func:`verified` when
``consign verify`` did; a rollback's record has none (that version was verified when it
was deployed). ``consign status`` fails a project whose verification failed or timed out.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from deployer import label_keys as keys
from deployer.deploy.labels import compact, json_object
from deployer.deploy.sources import Descriptor

RECORDED = keys.PREFIX + "recorded"


@dataclass(frozen=True)
class Deployed:
    """What the project record (or, for older deploys, the containers) says is deployed."""

    project: str
    application: str
    release: str
    version: str
    commit: str
    source: str
    registry: str
    builds: dict[str, Any]
    #: The deploy changing the project now, or killed while it did: pid, host, by, started.
    in_progress: dict[str, Any] = field(default_factory=dict)
    #: Set when Ctrl-C stopped the last deploy: what it said.
    interrupted: str = ""
    #: The newest verification of this version: status, summary, by, at ({}: none recorded).
    verification: dict[str, Any] = field(default_factory=dict)

    @property
    def verification_failed(self) -> bool:
        """Its newest verification failed or timed out."""
        return self.verification.get("status") in ("failed", "timed_out")

    @classmethod
    def from_labels(cls, project: str, labels: Mapping[str, str]) -> Deployed:
        return cls(
            project=project,
            application=labels.get(keys.APPLICATION, ""),
            release=labels.get(keys.RELEASE, ""),
            version=labels.get(keys.VERSION, ""),
            commit=labels.get(keys.COMMIT, ""),
            source=labels.get(keys.SOURCE, ""),
            registry=labels.get(keys.REGISTRY, ""),
            builds=json_object(labels.get(keys.BUILDS, "")),
            in_progress=json_object(labels.get(keys.IN_PROGRESS, "")),
            interrupted=labels.get(keys.INTERRUPTED, ""),
            verification=json_object(labels.get(keys.VERIFIED, "")),
        )


def record_labels(descriptor: Descriptor, project: str) -> dict[str, str]:
    return {keys.RECORD_OF: project, **version_labels(descriptor)}


def version_labels(descriptor: Descriptor) -> dict[str, str]:
    """What a deploy of ``descriptor`` is: application, release, version, commit, source,
    location and builds (the record's labels; a Swarm stack's services carry them too)."""
    return {
        keys.APPLICATION: descriptor.application or "",
        keys.RELEASE: descriptor.release or "",
        keys.VERSION: descriptor.version or "",
        keys.REGISTRY: descriptor.location,
        keys.COMMIT: descriptor.commit or "",
        keys.SOURCE: descriptor.kind,
        keys.BUILDS: compact(descriptor.builds),
    }


def _records(client: Any, project: str | None) -> list[dict[str, Any]]:
    label = f"{keys.RECORD_OF}={project}" if project else keys.RECORD_OF
    found = client.api.volumes(filters={"label": label}).get("Volumes") or []
    return [v for v in found if (v.get("Labels") or {}).get(keys.RECORD_OF)]


def _newest(volumes: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    return max(volumes, key=lambda v: int((v.get("Labels") or {}).get(RECORDED, "0")), default=None)


def write(
    client: Any, descriptor: Descriptor, project: str, in_progress: Mapping[str, Any] | None = None
) -> None:
    """Record ``descriptor`` as what ``project`` is at (``in_progress``: the deploy changing
    it now, see the module doc); older records are removed."""
    labels = record_labels(descriptor, project)
    if in_progress:
        labels[keys.IN_PROGRESS] = compact(dict(in_progress))
    _replace(client, project, labels)


def _replace(client: Any, project: str, labels: Mapping[str, str]) -> None:
    stamp = time.time_ns()
    name = f"consign-record.{project}.{stamp}"
    client.api.create_volume(name=name, labels={**labels, RECORDED: str(stamp)})
    for old in _records(client, project):
        if old["Name"] != name:
            remove(client, old["Name"])


def ended(
    client: Any,
    project: str,
    interrupted: str = "",
    verification: Mapping[str, Any] | None = None,
) -> None:
    """The deploy that changes ``project`` has ended (``interrupted``: Ctrl-C stopped it,
    in these words; ``verification``: what :func:`verification_label` makes of the
    verification of the version it left): its record no longer says it is in progress."""
    newest = _newest(_records(client, project))
    if newest is None:
        return
    labels = dict(newest.get("Labels") or {})
    if keys.IN_PROGRESS not in labels:  # nothing was changing it (or it was said already)
        return
    labels.pop(keys.IN_PROGRESS, None)
    labels.pop(RECORDED, None)
    labels.pop(keys.INTERRUPTED, None)
    if interrupted:
        labels[keys.INTERRUPTED] = interrupted[:1000]
    if verification:
        labels[keys.VERIFIED] = compact(dict(verification))
    _replace(client, project, labels)


def verified(client: Any, project: str, version: str, verification: Mapping[str, Any]) -> None:
    """``consign verify`` verified ``version`` of ``project``: its record says so (unless
    the record names another version by now)."""
    newest = _newest(_records(client, project))
    if newest is None:
        return
    labels = dict(newest.get("Labels") or {})
    if labels.get(keys.VERSION) != version:
        return
    labels.pop(RECORDED, None)
    labels[keys.VERIFIED] = compact(dict(verification))
    _replace(client, project, labels)


def verification_label(status: str, summary: str, by: str) -> dict[str, str]:
    """The record's ``io.consignment.verified`` object: a verification's status
    (passed | failed | timed_out | skipped), its one-line summary (test names and exit
    codes, never a log line), who ran it (deploy | verify) and when (UTC)."""
    at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return {"status": status, "summary": summary[:500], "by": by, "at": at}


def remove(client: Any, name: str) -> None:
    import docker.errors

    with contextlib.suppress(docker.errors.NotFound):
        client.api.remove_volume(name)


def forget(client: Any, project: str) -> None:
    """Remove the project's records (``consign down``)."""
    for old in _records(client, project):
        remove(client, old["Name"])


def read(client: Any, project: str) -> Deployed | None:
    """What ``project`` is at: its newest record, else the labels of its newest container
    that carries a version (deploys made before the record existed), else None."""
    newest = _newest(_records(client, project))
    if newest is not None:
        return Deployed.from_labels(project, newest.get("Labels") or {})
    rows = client.api.containers(
        all=True, filters={"label": [f"{keys.PROJECT}={project}", keys.VERSION]}
    )
    if not rows:
        return None
    row = max(rows, key=lambda r: r.get("Created", 0))
    return Deployed.from_labels(project, row.get("Labels") or {})


def projects(client: Any) -> list[str]:
    """Every project with a record, or (older deploys) with containers carrying a version."""
    names = {str((v.get("Labels") or {})[keys.RECORD_OF]) for v in _records(client, None)}
    for row in client.api.containers(all=True, filters={"label": keys.VERSION}):
        names.add(str((row.get("Labels") or {}).get(keys.PROJECT, "")))
    return sorted(n for n in names if n)


def alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, someone else's
        return True
    return True


def killed(previous: Deployed, host: str | None = None) -> bool:
    """The record says a deploy is in progress and that deployer is gone: its process no
    longer exists on this host, or it ran on another host (the caller holds the lock)."""
    progress = previous.in_progress
    if not progress:
        return False
    here = host or socket.gethostname()
    pid = progress.get("pid")
    if progress.get("host") == here and isinstance(pid, int) and pid != os.getpid():
        return not alive(pid)
    return progress.get("host") != here
