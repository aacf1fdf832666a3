"""Every version as a Compose OCI artifact (what ``docker compose publish`` makes).

Pure: a version's manifest and blobs are a function of what the version stores (its
compose layer, its manifest's provenance and attached env files' hashes), so a version's
digest never changes (Compose caches pulled artifacts by digest). The layout follows Compose's own
artifacts, which its ``oci://`` loader reads:

- ``artifactType`` ``application/vnd.docker.compose.project`` and the OCI empty config;
- one layer ``application/vnd.docker.compose.file+yaml``: the descriptor, with the
  annotations ``com.docker.compose.file`` and ``com.docker.compose.version``;
- one layer ``application/vnd.docker.compose.envfile`` per attached env file, annotated
  ``com.docker.compose.envfile`` with a flat file name (Compose's loader writes every layer
  into one folder and refuses names with a separator), to which the descriptor layer's
  ``env_file`` entries are renamed (:func:`consign.compose.envfiles.oci_name`). That renamed
  descriptor is made at publish time and stored as ``oci/docker-compose.yml`` in the
  version's tree, so it is read, never recomputed;
- manifest annotations: ``org.opencontainers.image.created`` (the version's time),
  ``org.opencontainers.image.revision`` (its commit), and ``io.consignment.application``,
  ``.release``, ``.version``, ``.builds`` (JSON: component -> build).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from consign.compose import envfiles
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
    data: bytes | None  # None: an attached file, read from the store when served
    stored: str | None = None  # that file's path in the version's tree


@dataclass(frozen=True)
class Artifact:
    manifest: bytes
    digest: str  # of the manifest
    blobs: dict[str, Blob]  # digest -> blob (config and layers)
    version: int  # the version it is


def _descriptor(
    media_type: str, digest: str, size: int, annotations: dict[str, str] | None
) -> dict[str, Any]:
    found: dict[str, Any] = {"mediaType": media_type, "digest": digest, "size": size}
    if annotations:
        found["annotations"] = annotations
    return found


def build(info: VersionInfo, layer: bytes) -> Artifact:
    """The artifact of one version from its compose layer (``DescriptorStore.oci_layer``);
    the env files are described from the version's manifest, without reading them."""
    blobs: dict[str, Blob] = {digest_of(EMPTY): Blob(EMPTY_TYPE, EMPTY)}
    annotations = {
        "com.docker.compose.file": COMPOSE_FILE_NAME,
        "com.docker.compose.version": COMPOSE_VERSION,
    }
    layers = [_descriptor(COMPOSE_FILE_TYPE, digest_of(layer), len(layer), annotations)]
    blobs[digest_of(layer)] = Blob(COMPOSE_FILE_TYPE, layer)
    for component in info.components:
        for file in component.files:
            stored, digest = file.stored, "sha256:" + file.sha256
            envfile = {
                "com.docker.compose.envfile": envfiles.oci_name(stored),
                "com.docker.compose.version": COMPOSE_VERSION,
            }
            layers.append(_descriptor(ENV_FILE_TYPE, digest, file.size, envfile))
            blobs.setdefault(digest, Blob(ENV_FILE_TYPE, None, stored))
    builds = {c.name: c.build for c in info.components}
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "artifactType": ARTIFACT_TYPE,
        "config": {**_descriptor(EMPTY_TYPE, digest_of(EMPTY), len(EMPTY), None), "data": "e30="},
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
    return Artifact(data, digest_of(data), blobs, info.number)
