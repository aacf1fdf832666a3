"""Every version as a Compose OCI artifact (what ``docker compose publish`` makes).

Pure: a version's manifest and blobs are a function of what the version stores (its
descriptor, its manifest's provenance, its attached env files), so a version's digest never
changes (Compose caches pulled artifacts by digest). The layout follows Compose's own
artifacts, which its ``oci://`` loader reads:

- ``artifactType`` ``application/vnd.docker.compose.project`` and the OCI empty config;
- one layer ``application/vnd.docker.compose.file+yaml``: the descriptor, with the
  annotations ``com.docker.compose.file`` and ``com.docker.compose.version``;
- one layer ``application/vnd.docker.compose.envfile`` per attached env file, annotated
  ``com.docker.compose.envfile`` with a flat file name (Compose's loader writes every layer
  into one folder and refuses names with a separator), to which the descriptor layer's
  ``env_file`` entries are renamed (:func:`registry.envfiles.oci_name`);
- manifest annotations: ``org.opencontainers.image.created`` (the version's time),
  ``org.opencontainers.image.revision`` (its commit), and ``io.consignment.application``,
  ``.release``, ``.version``, ``.builds`` (JSON: component -> build).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from registry import envfiles, yamlio
from registry.assembly import Component
from registry.store import VersionInfo

MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
ARTIFACT_TYPE = "application/vnd.docker.compose.project"
COMPOSE_FILE_TYPE = "application/vnd.docker.compose.file+yaml"
ENV_FILE_TYPE = "application/vnd.docker.compose.envfile"
EMPTY_TYPE = "application/vnd.oci.empty.v1+json"
EMPTY = b"{}"
#: The value of ``com.docker.compose.version``: the first Compose release that runs
#: ``oci://`` artifacts. A constant, because it is part of every digest.
COMPOSE_VERSION = "2.34.0"
COMPOSE_FILE_NAME = "docker-compose.yml"


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Blob:
    media_type: str
    data: bytes


@dataclass(frozen=True)
class Artifact:
    manifest: bytes
    digest: str  # of the manifest
    blobs: dict[str, Blob]  # digest -> blob (config and layers)


def _descriptor(media_type: str, data: bytes, annotations: dict[str, str] | None) -> dict:
    found: dict = {"mediaType": media_type, "digest": digest_of(data), "size": len(data)}
    if annotations:
        found["annotations"] = annotations
    return found


def compose_layer(descriptor: bytes, components: Sequence[Component]) -> bytes:
    """The descriptor with attached env files renamed to their flat names in the artifact
    (the descriptor itself when nothing is attached)."""
    flat = {
        stored: envfiles.oci_name(stored)
        for c in components
        for stored in c.stored_files().values()
    }
    if not flat:
        return descriptor
    doc = yamlio.load(descriptor.decode("utf-8"))
    rename = envfiles.renamer(flat)
    services = doc.get("services") or {}
    doc["services"] = {name: envfiles.rewrite(body, rename) for name, body in services.items()}
    return yamlio.dump(doc).encode("utf-8")


def build(
    info: VersionInfo,
    descriptor: bytes,
    components: Sequence[Component],
    read_file: Callable[[str], bytes],
) -> Artifact:
    """The artifact of one version; ``read_file`` reads a file of its tree by path."""
    blobs: dict[str, Blob] = {digest_of(EMPTY): Blob(EMPTY_TYPE, EMPTY)}
    layer = compose_layer(descriptor, components)
    annotations = {
        "com.docker.compose.file": COMPOSE_FILE_NAME,
        "com.docker.compose.version": COMPOSE_VERSION,
    }
    layers = [_descriptor(COMPOSE_FILE_TYPE, layer, annotations)]
    blobs[digest_of(layer)] = Blob(COMPOSE_FILE_TYPE, layer)
    for component in components:
        for stored in component.stored_files().values():
            data = read_file(stored)
            envfile = {
                "com.docker.compose.envfile": envfiles.oci_name(stored),
                "com.docker.compose.version": COMPOSE_VERSION,
            }
            layers.append(_descriptor(ENV_FILE_TYPE, data, envfile))
            blobs[digest_of(data)] = Blob(ENV_FILE_TYPE, data)
    builds = {c["name"]: c.get("build") or {} for c in info.components}
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "artifactType": ARTIFACT_TYPE,
        "config": {**_descriptor(EMPTY_TYPE, EMPTY, None), "data": "e30="},
        "layers": layers,
        "annotations": {
            "org.opencontainers.image.created": info.created,
            "org.opencontainers.image.revision": info.commit,
            "io.consignment.application": info.application,
            "io.consignment.release": info.release,
            "io.consignment.version": str(info.number),
            "io.consignment.builds": json.dumps(builds, sort_keys=True, separators=(",", ":")),
        },
    }
    data = json.dumps(manifest, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return Artifact(data, digest_of(data), blobs)
