"""Legacy Compose v1 and Compose-spec documents -> one normalized Compose-spec mapping.

The rules are those of ../shared/compose-v1-to-spec.md; docs/v1-conversion.md lists them
as implemented, each with its source. The result is
``{"services": {...}, "volumes"?, "networks"?, "secrets"?, "configs"?, "models"?, "x-..."?}``
with service order and key order as published.
"""

from __future__ import annotations

import re
from typing import Any

from consign.compose.errors import InvalidFragment

SERVICE_NAME = re.compile(r"[a-zA-Z0-9._-]+")  # always .fullmatch: "$" matches before "\n"
RESOURCES = ("volumes", "networks", "secrets", "configs", "models")
V1_KEYS = ("net", "log_driver", "log_opt", "dockerfile", "volume_driver")
_NOT_NAMED = ("/", ".", "~", "$")


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def normalize(doc: Any) -> tuple[dict[str, Any], list[str]]:
    """Return (normalized spec, warnings); raise InvalidFragment for what Compose cannot run."""
    if doc is None or doc == {}:
        raise InvalidFragment("fragment is empty: expected a mapping of services")
    if not isinstance(doc, dict):
        raise InvalidFragment(f"fragment must be a mapping of services, not a {_kind(doc)}")
    warnings: list[str] = []
    doc = dict(doc)
    if "version" in doc:
        warnings.append(f"top-level 'version: {doc.pop('version')}' is obsolete and was dropped")
    if "name" in doc:
        warnings.append(
            f"top-level 'name: {doc.pop('name')}' was dropped: the deployer sets the project name"
        )
    legacy = "services" not in doc
    if not legacy:
        services = doc.pop("services")
        if not isinstance(services, dict):
            raise InvalidFragment(f"'services' must be a mapping, not a {_kind(services)}")
        rest = doc
        # Unknown top-level keys are kept for the schema check, which names every one.
        unknown = {
            k: v for k, v in rest.items() if k not in RESOURCES and not str(k).startswith("x-")
        }
    else:
        services = {k: v for k, v in doc.items() if not str(k).startswith("x-")}
        rest = {k: v for k, v in doc.items() if str(k).startswith("x-")}
        warnings.append("legacy v1 format (services at the root) converted to the Compose spec")
    if not services:
        raise InvalidFragment("fragment defines no services")
    spec: dict[str, Any] = {"services": {}}
    volumes: dict[str, Any] = {}
    for name, service in services.items():
        if not isinstance(name, str) or not SERVICE_NAME.fullmatch(name):
            raise InvalidFragment(
                f"invalid service name {name!r}: compose allows letters, digits, '.', '_', '-'"
            )
        if not isinstance(service, dict):
            raise InvalidFragment(f"service {name!r} must be a mapping, not a {_kind(service)}")
        converted = _convert_service(name, service, services, volumes, warnings)
        if legacy:
            for vol in named_volumes(converted):
                _declare_volume(volumes, vol, {})
        spec["services"][name] = converted
    for key in RESOURCES:
        if key in rest:
            value = rest[key]
            if value is not None and not isinstance(value, dict):
                raise InvalidFragment(f"top-level {key!r} must be a mapping, not a {_kind(value)}")
            spec[key] = dict(value or {})
    if volumes:
        declared = spec.setdefault("volumes", {})
        for vol, definition in volumes.items():
            _declare_volume(declared, vol, definition)
    spec.update({k: v for k, v in rest.items() if str(k).startswith("x-")})
    if not legacy:
        spec.update(unknown)
    return spec, warnings


def _declare_volume(declared: dict[str, Any], name: str, definition: dict[str, Any]) -> None:
    current = declared.get(name)
    if current is None:
        declared[name] = definition
        return
    driver = definition.get("driver")
    if driver is not None and isinstance(current, dict) and current.get("driver") != driver:
        if current.get("driver") is not None:
            raise InvalidFragment(
                f"volume {name!r} has driver {current.get('driver')!r} at the top level but "
                f"volume_driver {driver!r} in a service"
            )
        declared[name] = {**current, "driver": driver}


def named_volumes(service: dict[str, Any]) -> list[str]:
    """Names of named volumes a service mounts (short and long syntax)."""
    names: list[str] = []
    for entry in service.get("volumes") or []:
        if isinstance(entry, str) and ":" in entry:
            source = entry.split(":", 1)[0]
        elif isinstance(entry, dict) and entry.get("type", "volume") == "volume":
            source = entry.get("source") or ""
        else:
            continue
        if source and not source.startswith(_NOT_NAMED) and source not in names:
            names.append(source)
    return names


def _convert_service(
    name: str,
    service: dict[str, Any],
    services: dict[str, Any],
    volumes: dict[str, Any],
    warnings: list[str],
) -> dict[str, Any]:
    """Rewrite the five v1-only keys in place of the first one, keeping key order."""
    present = [k for k in V1_KEYS if k in service]
    if not present:
        return dict(service)
    warnings.append(f"service {name!r}: v1 key(s) {', '.join(present)} converted")
    for v1, spec_key in (
        ("net", "network_mode"),
        ("log_driver", "logging"),
        ("log_opt", "logging"),
    ):
        if v1 in service and spec_key in service:
            raise InvalidFragment(f"service {name!r} has both {v1!r} and {spec_key!r}")
    if "dockerfile" in service and "build" not in service:
        raise InvalidFragment(f"service {name!r} has 'dockerfile' without 'build'")
    out: dict[str, Any] = {}
    for key, value in service.items():
        if key == "net":
            out["network_mode"] = _network_mode(value, services)
        elif key in ("log_driver", "log_opt"):
            if "logging" not in out:
                out["logging"] = _logging(service)
        elif key == "build" or key == "dockerfile":
            if "build" not in out:
                out["build"] = _build(name, service)
        elif key == "volume_driver":
            mounts = named_volumes(service)
            if not mounts:
                warnings.append(f"service {name!r}: volume_driver dropped (no named volumes)")
            for vol in mounts:
                _declare_volume(volumes, vol, {"driver": value})
        else:
            out[key] = value
    return out


def _network_mode(net: Any, services: dict[str, Any]) -> Any:
    if isinstance(net, str) and net.startswith("container:"):
        target = net.removeprefix("container:")
        if target in services:
            return f"service:{target}"
    return net


def _logging(service: dict[str, Any]) -> dict[str, Any]:
    logging: dict[str, Any] = {}
    if "log_driver" in service:
        logging["driver"] = service["log_driver"]
    if "log_opt" in service:
        logging["options"] = service["log_opt"]
    return logging


def _build(name: str, service: dict[str, Any]) -> Any:
    build = service["build"]
    if "dockerfile" not in service:
        return build
    dockerfile = service["dockerfile"]
    if isinstance(build, str):
        return {"context": build, "dockerfile": dockerfile}
    if isinstance(build, dict):
        if build.get("dockerfile", dockerfile) != dockerfile:
            raise InvalidFragment(f"service {name!r} has two different dockerfiles")
        return {**build, "dockerfile": dockerfile}
    raise InvalidFragment(f"service {name!r}: 'build' must be a string or a mapping")
