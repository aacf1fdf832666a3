"""``consign publish --pin-images``: make a version name exactly the images CI built.

For each service's ``image``, the Docker Engine on the CI agent (``DOCKER_HOST`` or the
local socket, as the docker CLI) is asked for the image. When it has a registry digest for
that repository (it was pushed or pulled), the reference is pinned in the fragment:
``name:tag@sha256:...``, which every engine resolves to the same bytes. Otherwise (an
image that was only built here and travels by ``docker save | docker load``) the
reference is kept and its local image ID is recorded. Either way the build provenance gets
``images[service] = {"ref": reference, "id": "sha256:...", "digest"?: "sha256:..."}``,
stored in the version's manifest (``components[].build.images``) for the deployer to
compare with the image a container runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from publisher.rewrite import compose, replace, service_images

#: image reference -> the engine's ``docker image inspect`` JSON, or None when it has no such image
Inspect = Callable[[str], Mapping[str, Any] | None]


class PinError(ValueError):
    """An image cannot be pinned: not on the engine, a variable left in it, no engine."""


@dataclass(frozen=True)
class Pin:
    ref: str  # the reference the fragment names after pinning
    id: str  # the local image ID (sha256:...)
    digest: str | None  # the registry digest, when the engine knows one

    def provenance(self) -> dict[str, str]:
        entry = {"ref": self.ref, "id": self.id}
        if self.digest:
            entry["digest"] = self.digest
        return entry


def split(ref: str) -> tuple[str, str | None, str | None]:
    """``host:5000/a/b:tag@sha256:x`` -> (``host:5000/a/b``, ``tag``, ``sha256:x``)."""
    name, _, digest = ref.partition("@")
    head, slash, last = name.rpartition("/")
    tag = None
    if ":" in last:
        last, tag = last.split(":", 1)
    return head + slash + last, tag, digest or None


def _canonical(repository: str) -> str:
    """Docker Hub's short forms: ``busybox`` = ``docker.io/library/busybox``."""
    first = repository.split("/", 1)[0]
    if "/" not in repository or not ("." in first or ":" in first or first == "localhost"):
        repository = "docker.io/" + repository
    if repository.startswith("docker.io/") and repository.count("/") == 1:
        repository = "docker.io/library/" + repository.removeprefix("docker.io/")
    return repository


def pin(ref: str, attrs: Mapping[str, Any]) -> Pin:
    """Pin ``ref`` given the engine's inspect JSON of that image (a pure function)."""
    repository, tag, digest = split(ref)
    image_id = str(attrs.get("Id", ""))
    if digest:
        return Pin(ref, image_id, digest)
    wanted = _canonical(repository)
    for entry in attrs.get("RepoDigests") or []:
        repo, _, found = str(entry).partition("@")
        if found and _canonical(repo) == wanted:
            pinned = f"{repository}:{tag}@{found}" if tag else f"{repository}@{found}"
            return Pin(pinned, image_id, found)
    return Pin(ref, image_id, None)


def pin_images(text: str, inspect: Inspect) -> tuple[str, dict[str, dict[str, str]], list[str]]:
    """(the fragment with digests pinned, provenance per service, notes for the log)."""
    changes = {}
    images: dict[str, dict[str, str]] = {}
    notes: list[str] = []
    problems: list[str] = []
    for service, node in service_images(compose(text)):
        ref = node.value
        if "$" in ref:
            problems.append(
                f"service {service!r}: image {ref!r} holds a variable; resolve it with "
                "--interpolate or --set first"
            )
            continue
        attrs = inspect(ref)
        if attrs is None:
            problems.append(
                f"service {service!r}: image {ref!r} is not on this Docker Engine (build or "
                "pull it before publishing)"
            )
            continue
        result = pin(ref, attrs)
        images[service] = result.provenance()
        if result.ref != ref:
            changes[node] = result.ref
            notes.append(f"service {service!r}: image pinned to {result.ref}")
        else:
            notes.append(
                f"service {service!r}: image {ref} has no registry digest here; its image ID "
                f"{result.id} is recorded"
            )
    if problems:
        raise PinError("; ".join(problems))
    return (replace(text, changes) if changes else text), images, notes


def engine_inspect() -> Inspect:
    """An :data:`Inspect` backed by the Docker Engine (``DOCKER_HOST`` or the local socket)."""
    import docker
    import docker.errors

    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as e:
        raise PinError(f"--pin-images needs the Docker Engine that built the images: {e}") from e

    def inspect(ref: str) -> Mapping[str, Any] | None:
        try:
            attrs: Mapping[str, Any] = client.api.inspect_image(ref)
            return attrs
        except docker.errors.ImageNotFound:
            return None
        except docker.errors.APIError as e:
            raise PinError(f"the Docker Engine refused to inspect {ref!r}: {e}") from e

    return inspect
