"""The version manifest (``consign.json``) and the commit message that goes with it.

Both are pure functions of their inputs. The manifest is deterministic JSON (sorted keys,
indent 2, UTF-8, trailing newline) so that equal versions have equal bytes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from registry.state import state_from_warnings
from registry.store.types import VersionInfo

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


_ENTRIES: dict[str, str] = {}


def _entry(item: dict[str, Any]) -> str:
    key = compact(item)
    text = _ENTRIES.get(key)
    if text is None:
        if len(_ENTRIES) >= 4096:
            _ENTRIES.clear()
        text = _ENTRIES[key] = _indented(item)
    return text


def compact(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def services_of(spec: Mapping[str, Any]) -> list[str]:
    services = spec.get("services") or {}
    return [str(name) for name in services]


def build_label(build: Mapping[str, Any]) -> str:
    """A short human label for CI provenance, e.g. ``bamboo PLAN-JOB #42``; '' if none."""
    lower = {str(k).lower().replace("_", "").replace("-", ""): v for k, v in build.items()}
    parts = [str(lower[k]) for k in ("ci", "system", "server") if k in lower][:1]
    parts += [str(lower[k]) for k in ("plankey", "plan", "job", "project") if k in lower][:1]
    number = next((lower[k] for k in ("buildnumber", "number", "build", "id") if k in lower), None)
    if number is not None and not isinstance(number, dict | list):
        parts.append(f"#{number}")
    return " ".join(parts) or ("build " + compact(build) if build else "")


def commit_message(info: VersionInfo, old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> str:
    """Summary, a body saying which services changed, and ``Consign-*`` trailers.

    ``old``/``new`` are the component's service mappings before and after.
    """
    label = build_label(info.build)
    summary = f"{info.application}/{info.release} v{info.number}: {info.component}"
    summary += f" ({label})" if label else ""
    old = old or {}
    added = [s for s in new if s not in old]
    changed = [s for s in new if s in old and old[s] != new[s]]
    removed = [s for s in old if s not in new]
    body = [
        f"{title}: {', '.join(names)}"
        for title, names in (("Added", added), ("Changed", changed), ("Removed", removed))
        if names
    ] or ["No service changed (same services, new build or fragment text)."]
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
        "components": info.components,
        "warnings": info.warnings,
        "state": info.state,
        "state_reason": info.state_reason,
    }
    if info.promoted_from is not None:
        found["promoted_from"] = info.promoted_from
        found["promoted_by"] = info.promoted_by
    return found


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
        components=list(m.get("components") or []),
        warnings=warnings,
        promoted_from=m.get("promoted_from"),
        promoted_by=m.get("promoted_by"),
        state=state,
        state_reason=reason,
    )


def component_entry(
    name: str,
    sha256: str,
    build: Mapping[str, Any],
    services: Sequence[str],
    path: str,
    files: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """A component in the manifest; ``files`` (env files published with the fragment:
    ``path`` as referenced, ``stored`` in the tree, ``sha256``, ``size``, Git ``blob``) only
    when there are any, so manifests without them keep their bytes."""
    entry: dict[str, Any] = {
        "name": name,
        "sha256": sha256,
        "build": dict(build),
        "services": list(services),
        "fragment": path,
    }
    if files:
        entry["files"] = [dict(f) for f in files]
    return entry


def promotion_message(info: VersionInfo, who: str) -> str:
    """The commit message of a promoted version: where it came from, who moved it, and the
    ``Consign-Promoted-From`` trailer (application, release, version, commit as JSON)."""
    source = info.promoted_from or {}
    summary = (
        f"{info.application}/{info.release} v{info.number}: promoted from "
        f"{source.get('application')}/{source.get('release')} v{source.get('version')}"
    )
    body = [
        f"Promoted by {who}.",
        f"Descriptor and fragments are those of commit {source.get('commit')}.",
    ]
    body += [f"Warning: {w}" for w in info.warnings]
    lines = [
        *trailers(info),
        f"Consign-Promoted-From: {compact(source)}",
        f"Consign-Promoted-By: {who}",
    ]
    return "\n".join([summary, "", *body, "", *lines]) + "\n"
