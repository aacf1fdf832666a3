"""The API's JSON for versions and service changes, built field by field from the store's
typed objects: the manifest's file format (:mod:`registry.store.manifest`) may change
without changing an answer (tests/registry and ``openapi.json`` pin the answers).

Build info and ``promoted_by`` are what the client sent, answered as sent.
"""

from __future__ import annotations

from typing import Any

from registry.diffing import ServiceChange
from registry.gate import Standing
from registry.http.views.descriptors import descriptor_url, file_url, oci_reference
from registry.store import ComponentInfo, FileInfo, Promotion, PublishOutcome, VersionInfo


def file_json(f: FileInfo) -> dict[str, Any]:
    """An attached env file as a version's component lists it."""
    return {"path": f.path, "stored": f.stored, "sha256": f.sha256, "size": f.size, "blob": f.blob}


def component_json(c: ComponentInfo) -> dict[str, Any]:
    """A version's component; ``files`` only when it has attached files."""
    body: dict[str, Any] = {
        "name": c.name,
        "sha256": c.sha256,
        "build": c.build,
        "services": list(c.services),
        "fragment": c.fragment,
    }
    if c.files:
        body["files"] = [file_json(f) for f in c.files]
    return body


def promotion_json(p: Promotion | None) -> dict[str, Any] | None:
    if p is None:
        return None
    return {
        "application": p.application,
        "release": p.release,
        "version": p.version,
        "commit": p.commit,
    }


def version_json(info: VersionInfo, standing: Standing | None = None) -> dict[str, Any]:
    """A version as the API shows it; with its ``standing`` at the gate when given
    (``rejected``: the rejection in force or null, ``approvals``: those that count)."""
    body = {
        "application": info.application,
        "release": info.release,
        "version": info.number,
        "created": info.created,
        "commit": info.commit,
        "tag": info.tag,
        "component": info.component,
        "build": info.build,
        "components": [component_json(c) for c in info.components],
        "warnings": info.warnings,
        "state": info.state,
        "state_reason": info.state_reason,
        "url": descriptor_url(info.application, info.release, info.number),
        "promoted_from": promotion_json(info.promoted_from),
        "promoted_by": info.promoted_by,
        "oci": oci_reference(info.application, info.release, info.number),
        "files": [
            {
                "path": f.path,
                "stored": f.stored,
                "sha256": f.sha256,
                "size": f.size,
                "component": c.name,
                "url": file_url(info.application, info.release, info.number, f.stored),
            }
            for c in info.components
            for f in c.files
        ],
    }
    if standing is not None:
        body.update(standing.to_json())
    return body


def published_json(outcome: PublishOutcome) -> dict[str, Any]:
    """A target of a publish: the version it has now, and whether this publish made it."""
    version = outcome.version
    return {
        "application": outcome.target.application,
        "release": outcome.target.release,
        "version": version.number,
        "url": descriptor_url(version.application, version.release, version.number),
        "commit": version.commit,
        "created": outcome.created,
        "component": outcome.component,
        "warnings": list(outcome.warnings),
        "state": version.state,
        "state_reason": version.state_reason,
    }


def change_json(change: ServiceChange) -> dict[str, Any]:
    """A service change: the version's component and build where it is (for a removed
    service, the old one's), and what it had before when it changed."""
    now = change.after or change.before
    assert now is not None
    entry: dict[str, Any] = {"service": change.service, "component": now.name, "build": now.build}
    if change.after is not None and change.before is not None:
        entry["previous_component"] = change.before.name
        entry["previous_build"] = change.before.build
    return entry
