"""The labels override: what each deployed container says about its own service.

The descriptor is never edited; a generated override file adds labels to every service.
Each service carries only what belongs to it: its component, that component's build and
the fragment's sha256 (``io.consignment.component``, ``.build``, ``.fragment``). A new
version that leaves a component alone leaves its services' labels, hence Compose's config
hash, hence their containers alone. The version, commit and source of the whole project
are kept on the project record (:mod:`deployer.deploy.record`), never on a container.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from deployer import label_keys as keys
from deployer.deploy.sources import Descriptor


def compact(value: Any) -> str:
    """Deterministic JSON for a label value (the same build gives the same bytes)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def service_labels(descriptor: Descriptor, service: str) -> dict[str, str]:
    """The labels of ``service``: {} when its component is unknown (a --file deploy)."""
    component = descriptor.component_of(service)
    if component is None:
        return {}
    return {
        keys.COMPONENT: str(component["name"]),
        keys.BUILD: compact(component.get("build") or {}),
        keys.FRAGMENT: str(component.get("sha256") or ""),
    }


def test_labels(descriptor: Descriptor, service: str) -> dict[str, str]:
    """A verification service's labels: its own, and the mark status and drift skip."""
    return {**service_labels(descriptor, service), keys.VERIFICATION: "true"}


def write_override(
    directory: Path, services: Iterable[str], labels: Mapping[str, Mapping[str, str]]
) -> Path:
    """Write the override (JSON is YAML, and needs no quoting rules) and return its path."""
    body: dict[str, Any] = {
        "services": {name: {"labels": dict(labels.get(name, {}))} for name in services}
    }
    path = directory / "consign-labels.override.yml"
    path.write_text(json.dumps(body, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def service_origin(labels: Mapping[str, str]) -> dict[str, Any] | None:
    """What a container's labels say about its service: {"component", "build", "fragment"}."""
    if keys.COMPONENT not in labels:
        return None
    return {
        "component": labels.get(keys.COMPONENT, ""),
        "build": json_object(labels.get(keys.BUILD, "")),
        "fragment": labels.get(keys.FRAGMENT, ""),
    }


def json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
