"""One deploy, rollback or teardown per project on an engine, whatever environment each
names: the project's lock, an engine object.

The lock is a container that is created and never started, named
``consign-lock.<project>`` (a Swarm stack: ``consign-lock.<stack>``) on the engine the
command works on, so the engine (its ID) and the project identify it. Creating a
container under a fixed name is atomic in the engine: of two deploys creating it at the
same moment one gets 409 Conflict, on any engine version, with no registry. Its labels
hold the holder (:mod:`deployer.ledger.holder` plus who, what and the environment); it is
removed when the command ends, also after Ctrl-C. It is made from ``consign-lock:1``, an
empty image (no layers, no bytes) imported on first use, so no image has to be pulled.

A lock whose holder process is certainly gone (same host and container, pid not running
or reused) is removed (by its own container ID, so never a newer holder's) and taken over,
and the caller says so. Any other holder is waited for up to the command's ``--lock-wait``;
a lock left by a deployer killed on another host stays until ``consign unlock --project``
removes it (its message says so).
"""

from __future__ import annotations

import contextlib
import io
import json
import tarfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import docker.errors
import requests

from consign.values import held_version
from deployer import label_keys as keys
from deployer.ledger import holder as holders

IMAGE_REPOSITORY, IMAGE_TAG = "consign-lock", "1"
IMAGE = f"{IMAGE_REPOSITORY}:{IMAGE_TAG}"
#: The command a lock container would run: never started, it only has to be set.
COMMAND = ["consign-lock"]


def container_name(project: str) -> str:
    return f"consign-lock.{project}"


class ProjectLocked(Exception):
    """Another command holds the project on this engine (still, after the wait)."""

    def __init__(self, message: str, holder: dict[str, Any]) -> None:
        super().__init__(message)
        self.message = message
        self.holder = holder


def describe(project: str, holder: dict[str, Any]) -> str:
    """``project shop-dev on this engine is held by bob (environment qa-1, deploy of ...``."""
    who = holder.get("by") or "someone"
    what = held_version(holder)
    parts = [f"project {project} on this engine is held by {who}"]
    if holder.get("teardown"):
        parts.append("tearing it down")
    elif what:
        parts.append(f"deploying {what}")
    if holder.get("environment"):
        parts.append(f"as environment {holder['environment']}")
    parts.append(f"({holders.describe(holder)})")
    if holder.get("since"):
        parts.append(f"since {holder['since']}")
    return " ".join(parts)


class HeldProjectLock:
    """The lock container this command created; :meth:`release` removes it."""

    def __init__(self, client: Any, project: str, container: str, took_over: dict[str, Any] | None):
        self.client = client
        self.project = project
        self.container = container
        #: the holder of a lock whose process was gone, removed to take this one
        self.took_over = took_over

    def release(self) -> None:
        """Remove the lock container. An engine gone meanwhile leaves it: the command has
        failed on that already, and the next command on this host takes the lock over."""
        with contextlib.suppress(docker.errors.DockerException, requests.RequestException):
            self.client.api.remove_container(self.container, force=True)

    def __enter__(self) -> HeldProjectLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _empty_image() -> bytes:
    data = io.BytesIO()
    tarfile.open(fileobj=data, mode="w").close()
    return data.getvalue()


class ProjectAcquisition:
    """One command's wait for a project's lock. Injected: the Docker SDK client, ``gone``,
    ``sleep``, ``clock``, ``waiting`` (told once, the holder's description)."""

    def __init__(
        self,
        client: Any,
        project: str,
        holder: dict[str, Any],
        *,
        wait: float,
        poll: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        waiting: Callable[[str], None] | None = None,
        gone: Callable[[dict[str, Any]], bool] = holders.gone,
        image: tuple[str, str] = (IMAGE_REPOSITORY, IMAGE_TAG),
    ) -> None:
        self.client = client
        self.project = project
        self.image = image
        since = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        self.holder = {**holders.identity(), "since": since, **holder}
        self.wait, self.poll = wait, poll
        self.sleep, self.clock, self.waiting, self.gone = sleep, clock, waiting, gone
        self.took_over: dict[str, Any] | None = None

    def run(self) -> HeldProjectLock:
        deadline = self.clock() + self.wait
        told = False
        while True:
            created = self._create()
            if created is not None:
                return HeldProjectLock(self.client, self.project, created, self.took_over)
            found = self._holder()
            left = deadline - self.clock()
            if found is None and left > 0:  # removed between our create and our look
                self.sleep(min(0.05, left))
                continue
            container, held_by = found or ("", {})
            if container and self.gone(held_by) and self._remove(container):
                self.took_over = held_by
                continue
            self.took_over = None  # a live holder came first: nothing of ours to tell
            message = describe(self.project, held_by)
            if left <= 0:
                raise ProjectLocked(
                    f"{message}; if that process is gone, `consign unlock --project "
                    f"{self.project}` on this engine removes its lock",
                    held_by,
                )
            if self.waiting is not None and not told:
                self.waiting(message)
                told = True
            self.sleep(min(self.poll, left))

    def _remove(self, container: str) -> bool:
        """Remove a gone holder's lock container (by its ID: never a newer holder's)."""
        try:
            self.client.api.remove_container(container, force=True)
        except docker.errors.NotFound:
            return True  # another waiter removed it first
        except docker.errors.APIError:
            return False  # e.g. its removal is already in progress: wait and look again
        return True

    def _create(self) -> str | None:
        """The new lock container's ID, or None when the name is taken (409)."""
        labels = {
            keys.LOCK_OF: self.project,
            keys.LOCK_HOLDER: json.dumps(self.holder, sort_keys=True),
        }
        for attempt in (1, 2):
            try:
                made = self.client.api.create_container(
                    ":".join(self.image),
                    command=COMMAND,
                    name=container_name(self.project),
                    labels=labels,
                    network_disabled=True,
                )
                return str(made["Id"])
            except docker.errors.ImageNotFound:
                if attempt == 2:
                    raise
                self.client.api.import_image_from_data(
                    _empty_image(), repository=self.image[0], tag=self.image[1]
                )
            except docker.errors.APIError as e:
                if e.status_code == 409:
                    return None
                raise
        return None

    def _holder(self) -> tuple[str, dict[str, Any]] | None:
        try:
            found = self.client.api.inspect_container(container_name(self.project))
        except docker.errors.NotFound:
            return None
        labels = (found.get("Config") or {}).get("Labels") or {}
        try:
            held_by = json.loads(labels.get(keys.LOCK_HOLDER) or "{}")
        except ValueError:
            held_by = {}
        return str(found["Id"]), held_by if isinstance(held_by, dict) else {}


def holder_of(client: Any, project: str) -> tuple[str, dict[str, Any]] | None:
    """(container ID, holder) of the project's lock, None when it is free."""
    return ProjectAcquisition(client, project, {}, wait=0)._holder()


def remove(client: Any, container: str) -> None:
    """Remove a lock container by its ID (``consign unlock --project``)."""
    with contextlib.suppress(docker.errors.NotFound):
        client.api.remove_container(container, force=True)
