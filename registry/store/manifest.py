"""The version manifest (``consign.json``) and the commit message that goes with it.

Both are pure functions of their inputs. The manifest is deterministic JSON (sorted keys,
indent 2, UTF-8, trailing newline) so that equal versions have equal bytes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from registry.store.types import VersionInfo

MANIFEST = "consign.json"
DESCRIPTOR = "docker-compose.yml"
FRAGMENTS = "fragments"
FORMAT = 1


def dump(manifest: Mapping[str, Any]) -> bytes:
    return (json.dumps(manifest, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()


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
    trailers = [
        f"Consign-Application: {info.application}",
        f"Consign-Release: {info.release}",
        f"Consign-Version: {info.number}",
        f"Consign-Component: {info.component}",
        f"Consign-Build: {compact(info.build)}",
    ]
    return "\n".join([summary, "", *body, "", *trailers]) + "\n"


def manifest_of(info: VersionInfo) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "application": info.application,
        "release": info.release,
        "version": info.number,
        "created": info.created,
        "component": info.component,
        "build": info.build,
        "components": info.components,
        "warnings": info.warnings,
    }


def version_info(data: bytes, commit: str, tag: str) -> VersionInfo:
    m = json.loads(data)
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
        warnings=list(m.get("warnings") or []),
    )


def component_entry(
    name: str, sha256: str, build: Mapping[str, Any], services: Sequence[str], path: str
) -> dict[str, Any]:
    return {
        "name": name,
        "sha256": sha256,
        "build": dict(build),
        "services": list(services),
        "fragment": path,
    }
