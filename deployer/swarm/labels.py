"""What a stack's services say about the deploy: the Swarm path's project record.

The Compose path keeps the version on a record volume because a container's labels are
part of its configuration (changing them recreates it). A Swarm service's own labels
(``deploy.labels``) are not part of its task template: changing them updates the service
without restarting a task, they live in the managers' Raft store (any manager answers,
no node-local volume to find), and when Swarm rolls an update back it restores them with
the rest of the previous spec, so they always name what runs. So every service of a stack
carries the whole record (:func:`deployer.deploy.record.version_labels`) plus its own
component, build and fragment, and the newest service's labels are what the stack is at.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from deployer import label_keys as keys
from deployer.deploy.labels import service_labels
from deployer.deploy.record import Deployed, version_labels
from deployer.deploy.sources import Descriptor
from deployer.engine.fields import parse_stamp


def stack_labels(descriptor: Descriptor, services: Iterable[str]) -> dict[str, dict[str, str]]:
    """Service -> the labels it carries (the deploy's, then its own component's)."""
    common = version_labels(descriptor)
    return {name: {**common, **service_labels(descriptor, name)} for name in services}


def labels_of(doc: Mapping[str, Any]) -> dict[str, str]:
    """A service document's own labels (``Spec.Labels``)."""
    return dict((doc.get("Spec") or {}).get("Labels") or {})


def deployed(stack: str, docs: Iterable[Mapping[str, Any]]) -> Deployed | None:
    """What the stack is at: the labels of its most recently updated service that carries
    a version (services a deploy left alone keep older stamps); None when none does."""
    labelled = [d for d in docs if keys.VERSION in labels_of(d)]
    if not labelled:
        return None
    newest = max(labelled, key=lambda d: parse_stamp(d.get("UpdatedAt")) or 0.0)
    return Deployed.from_labels(stack, labels_of(newest))
