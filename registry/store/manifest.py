"""The version manifest (``consign.json``) and the commit message that goes with it.

Both are pure functions of their inputs. The manifest is deterministic JSON (sorted keys,
indent 2, UTF-8, trailing newline) so that equal versions have equal bytes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from consign import builds
from consign.cache import LRU
from registry import diffing
from registry.diffing import ServiceChanges
from registry.state import state_from_warnings
from registry.store.types import ComponentInfo, FileInfo, Promotion, VersionInfo

MANIFEST = "consign.json"
DESCRIPTOR = "docker-compose.yml"
FRAGMENTS = "fragments"
#: The descriptor as the version's OCI artifact carries it (env files renamed to flat
#: names), stored only when the version has attached files: otherwise it is the descriptor.
OCI_LAYER = "oci/docker-compose.yml"
FORMAT = 1


def dump(manifest: Mapping[str, Any]) -> bytes:
    """``json.dumps(manifest, sort_keys=True, indent=2, ensure_ascii=False) + "\\n"``, fast.

    With ``indent`` Python's JSON encoder is pure Python, and a 50-component manifest would
    cost about a millisecond per publish. The component entries barely change from one
    version to the next, so each entry's indented text is cached under its compact JSON
    (C encoder), which determines it; the rest is put together the way ``json`` does
    (a test checks the bytes against ``json.dumps``). JSON strings never contain a raw
    newline, so re-indenting by replacing newlines is exact.
    """
    if not manifest or any(not isinstance(k, str) for k in manifest):
        return (json.dumps(manifest, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()
    parts = []
    for key in sorted(manifest):
        value = manifest[key]
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            entries = ",\n".join("    " + _entry(v).replace("\n", "\n    ") for v in value)
            text = "[\n" + entries + "\n  ]"
        else:
            text = _indented(value).replace("\n", "\n  ")
        parts.append("  " + json.dumps(key, ensure_ascii=False) + ": " + text)
    return ("{\n" + ",\n".join(parts) + "\n}\n").encode()


def _indented(value: Any) -> str:
    return json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False)


_ENTRIES: LRU[str, str] = LRU(4096)  # compact JSON of a component entry -> indented


def _entry(item: dict[str, Any]) -> str:
    key = compact(item)
    text = _ENTRIES.get(key)
    return text if text is not None else _ENTRIES.put(key, _indented(item))


def compact(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def commit_message(info: VersionInfo, changes: ServiceChanges) -> str:
    """Summary, a body saying which services changed (``changes``: the version before
    against this one, as the API's and the UI's diff say it), and ``Consign-*`` trailers."""
    label = builds.label(info.build)
    summary = f"{info.application}/{info.release} v{info.number}: {info.component}"
    summary += f" ({label})" if label else ""
    body = [
        f"{kind.capitalize()}: {', '.join(names)}"
        for kind in diffing.KINDS
        if (names := changes.services(kind))
    ] or ["No service changed (same definitions and builds: new fragment text or files)."]
    body += [f"Warning: {w}" for w in info.warnings]
    return "\n".join([summary, "", *body, "", *trailers(info)]) + "\n"


def trailers(info: VersionInfo) -> list[str]:
    """The ``Consign-*`` trailers every version commit carries."""
    return [
        f"Consign-Application: {info.application}",
        f"Consign-Release: {info.release}",
        f"Consign-Version: {info.number}",
        f"Consign-Component: {info.component}",
        f"Consign-Build: {compact(info.build)}",
    ]


def manifest_of(info: VersionInfo) -> dict[str, Any]:
    """The manifest; ``promoted_from``/``promoted_by`` only on promoted versions, so a
    published version's manifest is exactly what it always was."""
    found = {
        "format": FORMAT,
        "application": info.application,
        "release": info.release,
        "version": info.number,
        "created": info.created,
        "component": info.component,
        "build": info.build,
        "components": [component_record(c) for c in info.components],
        "warnings": info.warnings,
        "state": info.state,
        "state_reason": info.state_reason,
    }
    if info.promoted_from is not None:
        found["promoted_from"] = _promotion_record(info.promoted_from)
        found["promoted_by"] = info.promoted_by
    return found


def _promotion_record(p: Promotion) -> dict[str, Any]:
    return {
        "application": p.application,
        "release": p.release,
        "version": p.version,
        "commit": p.commit,
    }


def component_record(c: ComponentInfo) -> dict[str, Any]:
    """A component in the manifest; ``files`` only when there are any, so manifests without
    them keep their bytes."""
    record: dict[str, Any] = {
        "name": c.name,
        "sha256": c.sha256,
        "build": dict(c.build),
        "services": list(c.services),
        "fragment": c.fragment,
    }
    if c.files:
        record["files"] = [
            {"path": f.path, "stored": f.stored, "sha256": f.sha256, "size": f.size, "blob": f.blob}
            for f in c.files
        ]
    if c.secrets:
        record["secrets"] = list(c.secrets)
    return record


def _component_of(record: Mapping[str, Any]) -> ComponentInfo:
    return ComponentInfo(
        name=str(record["name"]),
        sha256=str(record["sha256"]),
        build=dict(record.get("build") or {}),
        services=tuple(str(s) for s in record.get("services") or ()),
        fragment=str(record["fragment"]),
        files=tuple(
            FileInfo(
                str(f["path"]), str(f["stored"]), str(f["sha256"]), int(f["size"]), str(f["blob"])
            )
            for f in record.get("files") or ()
        ),
        secrets=tuple(str(s) for s in record.get("secrets") or ()),
    )


def _promotion_of(record: Mapping[str, Any] | None) -> Promotion | None:
    if not record:
        return None
    return Promotion(
        str(record["application"]),
        str(record["release"]),
        int(record["version"]),
        str(record["commit"]),
    )


def _legacy_constant(name: str) -> str:
    """``Infinity``/``NaN`` in a manifest written before numbers were checked (a build number
    of ``1e400``): kept as the string, so every answer stays standard JSON."""
    return name


def version_info(data: bytes, commit: str, tag: str) -> VersionInfo:
    m = json.loads(data, parse_constant=_legacy_constant)
    warnings = list(m.get("warnings") or [])
    if "state" in m:
        state, reason = str(m["state"]), str(m.get("state_reason") or "")
    else:  # recorded before versions had a state
        state, reason = state_from_warnings(warnings)
    return VersionInfo(
        application=m["application"],
        release=m["release"],
        number=int(m["version"]),
        commit=commit,
        tag=tag,
        created=m["created"],
        component=m["component"],
        build=m.get("build") or {},
        components=[_component_of(c) for c in m.get("components") or ()],
        warnings=warnings,
        promoted_from=_promotion_of(m.get("promoted_from")),
        promoted_by=m.get("promoted_by"),
        state=state,
        state_reason=reason,
    )


def promotion_message(info: VersionInfo, who: str) -> str:
    """The commit message of a promoted version: where it came from, who moved it, and the
    ``Consign-Promoted-From`` trailer (application, release, version, commit as JSON)."""
    source = info.promoted_from
    assert source is not None, "a promoted version records its source"
    summary = (
        f"{info.application}/{info.release} v{info.number}: promoted from "
        f"{source.application}/{source.release} v{source.version}"
    )
    body = [
        f"Promoted by {who}.",
        f"Descriptor and fragments are those of commit {source.commit}.",
    ]
    body += [f"Warning: {w}" for w in info.warnings]
    lines = [
        *trailers(info),
        f"Consign-Promoted-From: {compact(_promotion_record(source))}",
        f"Consign-Promoted-By: {who}",
    ]
    return "\n".join([summary, "", *body, "", *lines]) + "\n"
