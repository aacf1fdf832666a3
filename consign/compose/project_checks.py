"""The checks Compose makes on a whole project beyond the schema and the casts, ported.

From compose-go v2.9.1 ``loader/validate.go`` (``checkConsistency``), ``validation/*.go``
(run on the model before it is typed), ``format/volume.go`` (short volume syntax),
``transform/device.go`` and ``transform/external.go``, and Compose v2.40.3's
``config`` command (``CheckContainerNameUnicity``). Ported, one violation each:

- ``container_name`` with more than one container (``scale`` or ``deploy.replicas`` > 1),
  and the same ``container_name`` on two services;
  each service judged with what it ``extends`` merged in (as Compose does first);
- ``scale`` / ``deploy.replicas`` below 0;
- ``cpus``, ``mem_limit``, ``mem_reservation``, ``pids_limit`` set to a value other than
  their ``deploy.resources`` counterpart (when that section is present);
- ``build``: ``dockerfile`` together with ``dockerfile_inline``; ``platforms`` not naming
  ``platform``; an ``additional_contexts`` ``service:X`` naming a service of the fragment
  that has no build; build ``secrets`` not defined at the top level;
- ``healthcheck.test`` as a list not starting with ``CMD``, ``CMD-SHELL`` or ``NONE``;
- ``develop.watch`` entries without ``target`` whose action needs one, or with an empty ``path``;
- a ``tmpfs`` and a ``volumes`` entry on the same target; short volume syntax with an empty
  section or too many colons; a short device mapping with more than three parts;
- long-syntax ports with a ``host_ip`` that is not an IP address; a device request
  (``deploy.resources.reservations.devices``, ``gpus``) with both ``count`` and ``device_ids``;
- top-level ``secrets`` declaring neither (or more than one of) ``file`` / ``environment``
  and ``configs`` of ``file`` / ``environment`` / ``content`` (unless ``external`` or a
  ``driver``); ``volumes`` marked ``external`` with other settings than ``name``; ``name``
  together with the legacy ``external.name``.

Not ported here because :mod:`consign.compose.consistency` checks them already or they span
components (checked when the descriptor is assembled): undefined networks, volumes,
secrets, configs and models, ``network_mode`` with ``networks``, neither image nor build,
``scale`` versus ``deploy.replicas``, ``depends_on`` and ``network_mode: service:``
targets, dependency cycles.

compose-go: Copyright 2020 The Compose Specification Authors, Licensed under the Apache
License, Version 2.0 (http://www.apache.org/licenses/LICENSE-2.0).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from consign.compose import casts, gocasts
from consign.compose.schema import Violation

_HEALTHCHECK_TEST = ("CMD", "CMD-SHELL", "NONE")
_WATCH_WITHOUT_TARGET = ("rebuild", "restart")
_PAIRED_LIMITS = (
    ("cpus", ("limits", "cpus"), gocasts.parse_float),
    ("mem_limit", ("limits", "memory"), gocasts.ram_in_bytes),
    ("mem_reservation", ("reservations", "memory"), gocasts.ram_in_bytes),
    ("pids_limit", ("limits", "pids"), gocasts.parse_int),
)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _number(value: Any, parse: Any) -> float | None:
    """A value as Compose holds it once typed (0 when absent), None when not knowable here."""
    if value is None:
        return 0
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return float(value)
    if isinstance(value, float):
        # compose-go's UnitBytes ignores a YAML float (the limit is dropped): like 0
        return 0 if parse is gocasts.ram_in_bytes else value
    if isinstance(value, str):
        try:
            return float(parse(casts.resolved(value)))
        except (gocasts.CastError, casts.Deferred):
            return None
    return None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def problems(spec: Mapping[str, Any]) -> list[Violation]:
    """Every project-level problem of a plain fragment whose casts are applied
    (:func:`consign.compose.casts.check`'s tree); tolerant of values the schema refuses."""
    found: list[Violation] = []
    services = effective_services(_mapping(spec.get("services")))
    names: dict[str, str] = {}
    for name, body in services.items():
        if isinstance(body, Mapping):
            _service(str(name), body, services, spec, names, found)
    _file_objects(spec, found)
    for name, volume in _mapping(spec.get("volumes")).items():
        _external(f"volumes.{name}", volume, found)
    for key in ("networks", "volumes", "secrets", "configs"):
        for name, entry in _mapping(spec.get(key)).items():
            external = _mapping(entry).get("external")
            if "name" in _mapping(entry) and isinstance(external, Mapping) and "name" in external:
                found.append(
                    Violation(
                        f"{key}.{name}", "'name' and 'external.name' conflict: only use 'name'"
                    )
                )
    return found


_OVERRIDDEN = {("command",), ("entrypoint",), ("healthcheck", "test")}


def _merge(base: Any, child: Any, path: tuple[str, ...] = ()) -> Any:
    """compose-go's override.Merge, as far as these checks need it: mappings merged key by
    key, sequences appended (``tmpfs`` given as a string is a sequence of one), ``command``,
    ``entrypoint`` and ``healthcheck.test`` replaced, any other value replaced."""
    if path in _OVERRIDDEN:
        return child
    if isinstance(base, Mapping) and isinstance(child, Mapping):
        merged = dict(base)
        for key, value in child.items():
            merged[key] = _merge(base[key], value, (*path, key)) if key in base else value
        return merged
    if path == ("tmpfs",):
        base, child = ([v] if isinstance(v, str) else v for v in (base, child))
    if isinstance(base, list) and isinstance(child, list):
        return [*base, *child]
    return child


def effective_services(services: Mapping[str, Any]) -> dict[str, Any]:
    """Each service as Compose checks it: with what it ``extends`` (a service of the same
    fragment) merged in, as compose-go's ApplyExtends does before its consistency check."""
    done: dict[str, Any] = {}

    def resolve(name: str, seen: frozenset[str]) -> Any:
        if name in done:
            return done[name]
        body = services[name]
        extends = _mapping(body).get("extends")
        base = extends.get("service") if isinstance(extends, Mapping) else extends
        if (
            not isinstance(body, Mapping)
            or not isinstance(base, str)
            or base not in services
            or base in seen
            or base == name
            or (isinstance(extends, Mapping) and extends.get("file"))
        ):
            done[name] = body
            return body
        merged = _merge(resolve(base, seen | {name}), body)
        if isinstance(merged, dict):
            merged.pop("extends", None)
        done[name] = merged
        return merged

    for name in services:
        resolve(name, frozenset())
    return done


def _service(
    name: str,
    body: Mapping[str, Any],
    services: Mapping[str, Any],
    spec: Mapping[str, Any],
    names: dict[str, str],
    found: list[Violation],
) -> None:
    where = f"services.{name}"
    deploy = _mapping(body.get("deploy"))
    scale, replicas = _int(body.get("scale")), _int(deploy.get("replicas"))
    if scale is not None and scale < 0:
        found.append(Violation(f"{where}.scale", f"{scale} is below 0"))
    if replicas is not None and replicas < 0:
        found.append(Violation(f"{where}.deploy.replicas", f"{replicas} is below 0"))
    containers = scale if scale is not None else replicas if replicas is not None else 1
    container_name = body.get("container_name")
    if isinstance(container_name, str) and container_name:
        if containers > 1:
            attr = "scale" if scale is not None else "deploy.replicas"
            found.append(
                Violation(
                    f"{where}.container_name",
                    f"cannot be set with {attr} {containers}: a container name must be unique",
                )
            )
        if container_name in names and "$" not in container_name:
            found.append(
                Violation(
                    f"{where}.container_name",
                    f"{container_name!r} is already the container name of service "
                    f"{names[container_name]!r}",
                )
            )
        names.setdefault(container_name, name)
    resources = _mapping(deploy.get("resources"))
    for key, (section, field), parse in _PAIRED_LIMITS:
        if not isinstance(resources.get(section), Mapping):
            continue
        mine = _number(body.get(key), parse)
        theirs = _number(resources[section].get(field), parse)
        if mine and theirs is not None and mine != theirs:  # Go: s.MemLimit != 0 && ...
            found.append(
                Violation(
                    f"{where}.{key}",
                    f"differs from deploy.resources.{section}.{field}: set one of them",
                )
            )
    _build(where, body.get("build"), body, services, spec, found)
    test = _mapping(body.get("healthcheck")).get("test")
    if isinstance(test, list) and test and test[0] not in _HEALTHCHECK_TEST:
        found.append(
            Violation(
                f"{where}.healthcheck.test",
                f"starts with {test[0]!r}: a list must start with CMD, CMD-SHELL or NONE",
            )
        )
    for index, watch in enumerate(_list(_mapping(body.get("develop")).get("watch"))):
        watch = _mapping(watch)
        at = f"{where}.develop.watch[{index}]"
        if not watch.get("target") and watch.get("action") not in _WATCH_WITHOUT_TARGET:
            found.append(Violation(at, "'target' is required for this action"))
        if watch.get("path") == "":
            found.append(Violation(f"{at}.path", "cannot be blank"))
    _mounts(where, body, found)
    for index, port in enumerate(_list(body.get("ports"))):
        host_ip = _mapping(port).get("host_ip")
        if isinstance(host_ip, str) and "$" not in host_ip and not gocasts.is_ip(host_ip):
            found.append(
                Violation(f"{where}.ports[{index}].host_ip", f"{host_ip!r} is not an IP address")
            )
    requests = _list(_mapping(resources.get("reservations")).get("devices"))
    for key, entries in (
        ("deploy.resources.reservations.devices", requests),
        ("gpus", _list(body.get("gpus"))),
    ):
        for index, request in enumerate(entries):
            if "count" in _mapping(request) and "device_ids" in _mapping(request):
                found.append(
                    Violation(f"{where}.{key}[{index}]", "'count' and 'device_ids' are exclusive")
                )
    for index, device in enumerate(_list(body.get("devices"))):
        if isinstance(device, str) and len(device.split(":")) > 3:
            found.append(
                Violation(
                    f"{where}.devices[{index}]",
                    f"{device!r} is a confusing device mapping: use the long syntax",
                )
            )


def _build(
    where: str,
    build: Any,
    body: Mapping[str, Any],
    services: Mapping[str, Any],
    spec: Mapping[str, Any],
    found: list[Violation],
) -> None:
    if not isinstance(build, Mapping):
        return
    if build.get("dockerfile") and build.get("dockerfile_inline"):
        found.append(
            Violation(f"{where}.build", "'dockerfile' and 'dockerfile_inline' are exclusive")
        )
    contexts = build.get("additional_contexts")
    pairs: list[tuple[str, Any]] = []
    if isinstance(contexts, Mapping):
        pairs = [(str(k), v) for k, v in contexts.items()]
    elif isinstance(contexts, list):
        pairs = [(k, v) for k, _, v in (str(e).partition("=") for e in contexts) if v]
    for context, value in pairs:
        if isinstance(value, str) and value.startswith("service:"):
            target = value.removeprefix("service:")
            if target in services and "build" not in _mapping(services[target]):
                found.append(
                    Violation(
                        f"{where}.build.additional_contexts.{context}",
                        f"service {target!r} has no build",
                    )
                )
    platforms = _list(build.get("platforms"))
    platform = body.get("platform")
    if platforms and isinstance(platform, str) and platform and platform not in platforms:
        found.append(
            Violation(
                f"{where}.build.platforms", f"must include the service's platform {platform!r}"
            )
        )
    defined = _mapping(spec.get("secrets"))
    for index, secret in enumerate(_list(build.get("secrets"))):
        source = secret.get("source") if isinstance(secret, Mapping) else secret
        if isinstance(source, str) and "$" not in source and source not in defined:
            found.append(
                Violation(
                    f"{where}.build.secrets[{index}]",
                    f"secret {source!r} is not defined under top-level 'secrets'",
                )
            )


def volume_target(spec: str) -> str:
    """The target of a short-syntax volume (format/volume.go ParseVolume); CastError when
    Compose cannot read it."""
    if not spec:
        raise gocasts.CastError("empty volume")
    if len(spec) <= 2:
        return spec
    parts: list[str] = []
    buffer, depth = "", 0
    for i, char in enumerate(spec + "\0"):
        if char == "$" and spec[i + 1 : i + 2] == "{":
            depth += 1
        elif char == "}" and depth:
            depth -= 1
        elif char == ":" and len(buffer) == 1 and buffer.isalpha():
            pass  # a Windows drive letter
        elif char in (":", "\0") and depth == 0:
            if not buffer:
                raise gocasts.CastError("empty section between colons")
            if len(parts) == 2 and char == ":":
                raise gocasts.CastError("too many colons")
            parts.append(buffer)
            buffer = ""
            continue
        buffer += char
    return parts[0] if len(parts) == 1 else parts[1]


def _mounts(where: str, body: Mapping[str, Any], found: list[Violation]) -> None:
    """A target mounted twice. Compose first merges entries of one list that share a
    target (override/uncity.go: tmpfs by value, volumes by target, the last one wins),
    so only a tmpfs and a volume on one target remain to refuse."""
    mounts: dict[str, str] = {}
    tmpfs_targets: dict[str, str] = {}
    tmpfs = body.get("tmpfs")
    for index, entry in enumerate([tmpfs] if isinstance(tmpfs, str) else _list(tmpfs)):
        if isinstance(entry, str):
            tmpfs_targets.setdefault(entry.split(":", 1)[0], f"{where}.tmpfs[{index}]")
    mounts.update(tmpfs_targets)
    volumes: dict[str, str] = {}
    for index, entry in enumerate(_list(body.get("volumes"))):
        at = f"{where}.volumes[{index}]"
        if isinstance(entry, str):
            try:
                target = volume_target(entry)
            except gocasts.CastError as e:
                found.append(Violation(at, f"{entry!r} is not a volume ({e})"))
                continue
        elif isinstance(entry, Mapping) and isinstance(entry.get("target"), str):
            target = entry["target"]
        else:
            continue
        volumes[target] = at
    for target, at in volumes.items():
        if "$" not in target and target in mounts:
            found.append(Violation(at, f"target {target} is already mounted by {mounts[target]}"))


def _file_objects(spec: Mapping[str, Any], found: list[Violation]) -> None:
    for key, sources in (
        ("secrets", ("file", "environment")),
        ("configs", ("file", "environment", "content")),
    ):
        for name, entry in _mapping(spec.get(key)).items():
            if not isinstance(entry, Mapping):
                continue
            given = [s for s in sources if s in entry]
            if len(given) > 1:
                found.append(
                    Violation(f"{key}.{name}", f"{' and '.join(given)} are exclusive: set one")
                )
            elif not given and _needs_source(key, entry):
                found.append(Violation(f"{key}.{name}", f"must set one of {', '.join(sources)}"))


def _needs_source(key: str, entry: Mapping[str, Any]) -> bool:
    """compose-go's validation lets a ``driver`` or an ``external`` key stand in for the
    source; its checkConsistency then still wants a file or environment for a secret that
    is not external."""
    if key == "secrets":
        return entry.get("external") is not True
    return "driver" not in entry and "external" not in entry


def _external(where: str, volume: Any, found: list[Violation]) -> None:
    if not isinstance(volume, Mapping) or volume.get("external") is not True:
        return
    for key in volume:
        if key not in ("name", "external") and not str(key).startswith("x-"):
            found.append(Violation(f"{where}.{key}", "cannot be set on a volume marked 'external'"))
