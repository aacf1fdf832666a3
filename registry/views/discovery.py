"""JSON discovery under ``/api``: applications, releases, versions, one version, a diff."""

from __future__ import annotations

import difflib
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from registry.assembly import Component
from registry.auth import require_read
from registry.gate import Standing
from registry.storage import get_store
from registry.store import VersionInfo
from registry.validation import parse_int_arg, parse_version
from registry.views.descriptors import descriptor_url, file_url, oci_reference

bp = Blueprint("discovery", __name__, url_prefix="/api")
bp.before_request(require_read)

RELEASE = "/applications/<application>/releases/<release>"


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
        "components": info.components,
        "warnings": info.warnings,
        "state": info.state,
        "state_reason": info.state_reason,
        "url": descriptor_url(info.application, info.release, info.number),
        "promoted_from": info.promoted_from,
        "promoted_by": info.promoted_by,
        "oci": oci_reference(info.application, info.release, info.number),
        "files": [
            {
                **{k: f[k] for k in ("path", "stored", "sha256", "size")},
                "component": c["name"],
                "url": file_url(info.application, info.release, info.number, f["stored"]),
            }
            for c in info.components
            for f in c.get("files") or ()
        ],
    }
    if standing is not None:
        body.update(standing.to_json())
    return body


@bp.get("/applications")
def applications() -> Response:
    return jsonify({"applications": get_store().applications()})


@bp.get("/applications/<application>/releases")
def releases(application: str) -> Response:
    """The release names; ``frozen`` maps each release frozen now to its freeze."""
    store = get_store()
    names = store.releases(application)
    frozen = {}
    for name in names:
        freeze = store.gate(application, name).frozen()
        if freeze is not None:
            frozen[name] = freeze.to_json()
    return jsonify({"application": application, "releases": names, "frozen": frozen})


@bp.get(f"{RELEASE}/versions")
def versions(application: str, release: str) -> Response:
    """Newest first; ``limit`` (default ``DEFAULT_LIST_LIMIT``, 20) and ``before`` (a
    version number) page back."""
    config = current_app.config
    maximum = int(config["MAX_LIST_LIMIT"])
    limit = parse_int_arg("limit", request.args.get("limit"), maximum=maximum)
    before = parse_int_arg("before", request.args.get("before"), maximum=10**18)
    found = get_store().versions(
        application, release, limit=limit or int(config["DEFAULT_LIST_LIMIT"]), before=before
    )
    body = {"application": application, "release": release}
    gate = get_store().gate(application, release)
    listed = [version_json(v, gate.standing(v.number)) for v in found]
    return jsonify({**body, "versions": listed})


@bp.get(f"{RELEASE}/versions/<version>")
def version(application: str, release: str, version: str) -> Response:
    store = get_store()
    info = store.version(application, release, parse_version(version))
    body = version_json(info, store.gate(application, release).standing(info.number))
    return jsonify({**body, "verified": store.verified(application, release, info.number)})


def _services(components: list[Component]) -> dict[str, tuple[Component, Any]]:
    return {
        name: (component, spec)
        for component in components
        for name, spec in (component.spec.get("services") or {}).items()
    }


def _entry(service: str, component: Component) -> dict[str, Any]:
    return {"service": service, "component": component.name, "build": component.build}


@bp.get(f"{RELEASE}/diff")
def diff(application: str, release: str) -> Response:
    """What changed from ``from`` (default: the one before ``to``) to ``to`` (default: latest)."""
    to_info, to_text = get_store().descriptor(
        application, release, parse_version(request.args.get("to", "latest"))
    )
    default_from = str(to_info.number - 1) if to_info.number > 1 else None
    from_arg = request.args.get("from", default_from)
    old: list[Component] = []
    from_text, from_number = b"", 0
    if from_arg is not None:
        from_info, from_text = get_store().descriptor(application, release, parse_version(from_arg))
        from_number = from_info.number
        old = get_store().components(application, release, from_number)
    before = _services(old)
    after = _services(get_store().components(application, release, to_info.number))
    unified = difflib.unified_diff(
        from_text.decode("utf-8").splitlines(keepends=True),
        to_text.decode("utf-8").splitlines(keepends=True),
        fromfile=f"{application}/{release}/{from_number}/docker-compose.yml",
        tofile=f"{application}/{release}/{to_info.number}/docker-compose.yml",
    )
    changed = [
        {**_entry(name, after[name][0]), "previous_component": before[name][0].name}
        for name in after
        if name in before
        and (after[name][1] != before[name][1] or after[name][0].name != before[name][0].name)
    ]
    return jsonify(
        {
            "application": application,
            "release": release,
            "from": from_number,
            "to": to_info.number,
            "added": [_entry(n, after[n][0]) for n in after if n not in before],
            "removed": [_entry(n, before[n][0]) for n in before if n not in after],
            "changed": changed,
            "diff": "".join(unified),
        }
    )
