"""The labels override: what every deployed container says it belongs to.

The descriptor is never edited; a generated override file adds the ``io.consignment.*``
labels to every service. The values depend only on what is deployed (no timestamps), so
deploying the same version again leaves Compose's config hash, and the containers, alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deployer.sources import Descriptor

PREFIX = "io.consignment."
APPLICATION = PREFIX + "application"
RELEASE = PREFIX + "release"
VERSION = PREFIX + "version"
REGISTRY = PREFIX + "registry"
COMMIT = PREFIX + "commit"
SOURCE = PREFIX + "source"
BUILDS = PREFIX + "builds"
PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"


def labels_for(descriptor: Descriptor) -> dict[str, str]:
    return {
        APPLICATION: descriptor.application or "",
        RELEASE: descriptor.release or "",
        VERSION: descriptor.version or "",
        REGISTRY: descriptor.location,
        COMMIT: descriptor.commit or "",
        SOURCE: descriptor.kind,
        BUILDS: json.dumps(descriptor.builds, sort_keys=True, separators=(",", ":")),
    }


def write_override(directory: Path, services: Iterable[str], labels: Mapping[str, str]) -> Path:
    """Write the override (JSON is YAML, and needs no quoting rules) and return its path."""
    body: dict[str, Any] = {"services": {name: {"labels": dict(labels)} for name in services}}
    path = directory / "consign-labels.override.yml"
    path.write_text(json.dumps(body, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


@dataclass(frozen=True)
class Deployed:
    """What a project's containers say is deployed (from their labels)."""

    project: str
    application: str
    release: str
    version: str
    commit: str
    source: str
    registry: str
    builds: dict[str, Any]

    @classmethod
    def from_labels(cls, project: str, labels: Mapping[str, str]) -> Deployed:
        return cls(
            project=project,
            application=labels.get(APPLICATION, ""),
            release=labels.get(RELEASE, ""),
            version=labels.get(VERSION, ""),
            commit=labels.get(COMMIT, ""),
            source=labels.get(SOURCE, ""),
            registry=labels.get(REGISTRY, ""),
            builds=_json_object(labels.get(BUILDS, "")),
        )


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def deployed_in(containers: Iterable[Any], project: str) -> Deployed | None:
    """The version the project's containers carry; the newest container wins if they differ."""
    labelled = [c for c in containers if VERSION in (c.labels or {})]
    if not labelled:
        return None
    newest = max(labelled, key=lambda c: c.attrs.get("Created", ""))
    return Deployed.from_labels(project, newest.labels)
