"""Compose's casts: the values of a Compose file that Compose converts from text, checked
the way Compose converts them, with every failure listed.

The JSON schema lets every typed field be a string (so ``${REPLICAS}`` can stand there), and
Compose converts the text once interpolated. ``replicas: many`` passes the schema and
is refused by ``docker compose config`` only. The fields and their conversions are those of
compose-go v2.9.1 (the version Compose v2.40.3 builds with), in the order it applies them:

1. ``loader/interpolate.go``'s ``interpolateTypeCastMapping``: strings at these paths
   become integers, floats or booleans (``failed to cast to expected type``), and the
   schema then judges the converted value (``oom_score_adj: "2000"`` is out of range);
2. the mapstructure decode into compose-go's types (``loader/mapstructure.go``'s ``cast``
   hook for every bool/int/float field, ``DecodeMapstructure`` of ``UnitBytes`` (go-units
   ``RAMInBytes``), ``Duration`` (str2duration: Go's syntax plus ``d`` and ``w``),
   ``NanoCPUs``, ``FileMode`` (octal), ``DeviceCount``; unsigned fields refuse negative numbers
   and strings);
3. ``transform/ports.go``: short port syntax through go-connections' ``nat.ParsePortSpec``
   (v0.6.0, the version Compose v2.40.3's go.mod selects).

A value that still depends on the deploy host (``${VAR}``, ``${VAR:?err}``, ``${VAR:+x}``)
is not converted here: it is the deploy host's to resolve (:mod:`registry.advisories` warns).
A value whose variables all have defaults (``${REPLICAS:-2}``) is converted with its
defaults applied, as Compose would where the variables are unset.

Ported tables from compose-go v2.9.1 (https://github.com/compose-spec/compose-go),
Copyright 2020 The Compose Specification Authors, Licensed under the Apache License,
Version 2.0 (http://www.apache.org/licenses/LICENSE-2.0).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from consign.compose import gocasts
from consign.compose.gocasts import CastError
from consign.compose.schema import Violation, dotted
from consign.interpolation import InterpolationError, defaults_decide, interpolate, variables

ANY = "*"  # any mapping key or list index, like compose-go's tree.PathMatchAll
ITEM = "[]"  # any list index (tree.PathMatchList)


def _describe(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value).lower()


@dataclass(frozen=True)
class Conversion:
    """One of Compose's conversions: what it accepts (in words) and how it converts.

    ``parse`` takes the text and returns the converted value or raises CastError.
    ``numbers``: how a YAML number (already typed) is judged, None = taken as is."""

    allowed: str
    parse: Callable[[str], Any]
    numbers: Callable[[int | float], Any] | None = None
    interpolated: bool = False  # step 1 (the converted value replaces the text)


def _non_negative(value: int | float) -> int | float:
    if isinstance(value, float) and not value.is_integer():
        raise CastError("not a whole number")
    if value < 0:
        raise CastError("negative")
    return value


def _uint(bits: int) -> Conversion:
    def parse(text: str) -> int:
        raise CastError("Compose does not convert text here")

    return Conversion(f"a whole number from 0 to {(1 << bits) - 1}", parse, _non_negative)


def _go_int(bits: int, *, interpolated: bool) -> Conversion:
    return Conversion(
        "a whole number (decimal digits, optional sign)",
        lambda text: gocasts.parse_int(text, bits),
        interpolated=interpolated,
    )


def _finite(value: int | float) -> int | float:
    """A YAML number our reader made infinite (``1e400``) is text to Compose's reader,
    which its ParseFloat refuses as out of range."""
    if isinstance(value, float) and not math.isfinite(value):
        raise CastError("out of range")
    return value


def _go_float(bits: int, *, interpolated: bool) -> Conversion:
    return Conversion(
        "a number (such as 0.5 or 2)",
        lambda text: gocasts.parse_float(text, bits),
        _finite,
        interpolated=interpolated,
    )


def _device_count(text: str) -> int:
    if text.lower() == "all":
        return -1
    try:
        return gocasts.parse_int(text)
    except CastError:
        raise CastError("not a number") from None


INT = _go_int(64, interpolated=True)
INT64 = INT
FLOAT = _go_float(64, interpolated=True)
FLOAT32 = _go_float(32, interpolated=True)
BOOL = Conversion("true or false (also yes/no, on/off, y/n)", gocasts.parse_bool, interpolated=True)
# Decoded fields (step 2): the text stays; Compose converts it when it builds its model.
DECODED_INT = _go_int(64, interpolated=False)
DECODED_FLOAT = _go_float(64, interpolated=False)
DECODED_BOOL = Conversion("true or false (also yes/no, on/off, y/n)", gocasts.parse_bool)
BYTES = Conversion(
    "a byte size such as 512m or 1GiB (a number, then optionally b, k, m, g, t or p, "
    "optionally followed by b or ib)",
    gocasts.ram_in_bytes,
)
DURATION = Conversion(
    "a duration such as 1m30s or 1.5h (numbers with units ns, us, ms, s, m, h, d, w)",
    gocasts.parse_duration,
)
NANO_CPUS = DECODED_FLOAT
FILE_MODE = Conversion("an octal file mode such as 0440", gocasts.parse_octal)
DEVICE_COUNT = Conversion("a number or 'all'", _device_count)
UINT16, UINT32, UINT64 = _uint(16), _uint(32), _uint(64)
NON_NEGATIVE = Conversion("a whole number of 0 or more", gocasts.parse_int, _non_negative)


def _service(*parts: str) -> tuple[str, ...]:
    return ("services", ANY, *parts)


# compose-go v2.9.1 loader/interpolate.go interpolateTypeCastMapping (step 1), verbatim.
INTERPOLATED: dict[tuple[str, ...], Conversion] = {
    _service("cpu_count"): INT64,
    _service("cpu_percent"): FLOAT,
    _service("cpu_period"): INT64,
    _service("cpu_quota"): INT64,
    _service("cpu_rt_period"): INT64,
    _service("cpu_rt_runtime"): INT64,
    _service("cpus"): FLOAT32,
    _service("cpu_shares"): INT64,
    _service("init"): BOOL,
    _service("deploy", "replicas"): INT,
    _service("deploy", "update_config", "parallelism"): INT,
    _service("deploy", "update_config", "max_failure_ratio"): FLOAT,
    _service("deploy", "rollback_config", "parallelism"): INT,
    _service("deploy", "rollback_config", "max_failure_ratio"): FLOAT,
    _service("deploy", "restart_policy", "max_attempts"): INT,
    _service("deploy", "placement", "max_replicas_per_node"): INT,
    _service("healthcheck", "retries"): INT,
    _service("healthcheck", "disable"): BOOL,
    _service("oom_kill_disable"): BOOL,
    _service("oom_score_adj"): INT64,
    _service("pids_limit"): INT64,
    _service("ports", ITEM, "target"): INT,
    _service("privileged"): BOOL,
    _service("read_only"): BOOL,
    _service("scale"): INT,
    _service("stdin_open"): BOOL,
    _service("tty"): BOOL,
    _service("ulimits", ANY): INT,
    _service("ulimits", ANY, "hard"): INT,
    _service("ulimits", ANY, "soft"): INT,
    _service("volumes", ITEM, "read_only"): BOOL,
    _service("volumes", ITEM, "volume", "nocopy"): BOOL,
    ("networks", ANY, "external"): BOOL,
    ("networks", ANY, "internal"): BOOL,
    ("networks", ANY, "attachable"): BOOL,
    ("networks", ANY, "enable_ipv4"): BOOL,
    ("networks", ANY, "enable_ipv6"): BOOL,
    ("volumes", ANY, "external"): BOOL,
    ("secrets", ANY, "external"): BOOL,
    ("configs", ANY, "external"): BOOL,
}

_UPDATE = {
    "parallelism": UINT64,
    "delay": DURATION,
    "monitor": DURATION,
    "max_failure_ratio": DECODED_FLOAT,
}
_RESOURCE = {"cpus": NANO_CPUS, "memory": BYTES, "pids": DECODED_INT}
_THROTTLE = ("device_read_bps", "device_read_iops", "device_write_bps", "device_write_iops")
_FILE_MOUNT_MODE = FILE_MODE

# compose-go v2.9.1 types/*.go: the typed fields of the model (step 2). Fields of kind
# bool/int/float take text through the `cast` hook, the Decode* types parse it themselves.
DECODED: dict[tuple[str, ...], Conversion] = {
    _service("attach"): DECODED_BOOL,
    _service("cpu_percent"): DECODED_FLOAT,
    _service("mem_limit"): BYTES,
    _service("mem_reservation"): BYTES,
    _service("memswap_limit"): BYTES,
    _service("mem_swappiness"): BYTES,
    _service("shm_size"): BYTES,
    _service("stop_grace_period"): DURATION,
    _service("use_api_socket"): DECODED_BOOL,
    _service("build", "no_cache"): DECODED_BOOL,
    _service("build", "pull"): DECODED_BOOL,
    _service("build", "privileged"): DECODED_BOOL,
    _service("build", "shm_size"): BYTES,
    _service("blkio_config", "weight"): UINT16,
    _service("blkio_config", "weight_device", ITEM, "weight"): UINT16,
    **{_service("blkio_config", key, ITEM, "rate"): BYTES for key in _THROTTLE},
    **{_service("deploy", "update_config", k): v for k, v in _UPDATE.items()},
    **{_service("deploy", "rollback_config", k): v for k, v in _UPDATE.items()},
    **{_service("deploy", "resources", "limits", k): v for k, v in _RESOURCE.items()},
    **{_service("deploy", "resources", "reservations", k): v for k, v in _RESOURCE.items()},
    _service("deploy", "resources", "reservations", "devices", ITEM, "count"): DEVICE_COUNT,
    _service("gpus", ITEM, "count"): DEVICE_COUNT,
    _service("deploy", "restart_policy", "delay"): DURATION,
    _service("deploy", "restart_policy", "max_attempts"): UINT64,
    _service("deploy", "restart_policy", "window"): DURATION,
    _service("deploy", "placement", "max_replicas_per_node"): UINT64,
    _service("deploy", "replicas"): DECODED_INT,
    _service("healthcheck", "interval"): DURATION,
    _service("healthcheck", "timeout"): DURATION,
    _service("healthcheck", "start_period"): DURATION,
    _service("healthcheck", "start_interval"): DURATION,
    _service("healthcheck", "retries"): UINT64,
    _service("networks", ANY, "gw_priority"): DECODED_INT,
    _service("networks", ANY, "priority"): DECODED_INT,
    _service("ports", ITEM, "target"): UINT32,
    _service("volumes", ITEM, "bind", "create_host_path"): DECODED_BOOL,
    _service("volumes", ITEM, "tmpfs", "size"): BYTES,
    _service("volumes", ITEM, "tmpfs", "mode"): UINT32,
    _service("secrets", ITEM, "mode"): _FILE_MOUNT_MODE,
    _service("configs", ITEM, "mode"): _FILE_MOUNT_MODE,
    _service("depends_on", ANY, "restart"): DECODED_BOOL,
    _service("depends_on", ANY, "required"): DECODED_BOOL,
    _service("env_file", ITEM, "required"): DECODED_BOOL,
    _service("develop", "watch", ITEM, "initial_sync"): DECODED_BOOL,
    _service("models", ANY, "context_size"): DECODED_INT,
    ("models", ANY, "context_size"): DECODED_INT,
}


@dataclass
class _Node:
    """A step of the compiled path table: children by key (or ANY / ITEM) and what the
    path ending here converts with."""

    children: dict[str, _Node] = field(default_factory=dict)
    conversions: list[Conversion] = field(default_factory=list)
    ports: bool = False  # a service's `ports` list (step 3)


def _compile() -> _Node:
    root = _Node()
    for table in (INTERPOLATED, DECODED):
        for path, conversion in table.items():
            node = root
            for part in path:
                node = node.children.setdefault(part, _Node())
            node.conversions.append(conversion)
    node = root
    for part in _service("ports"):
        node = node.children.setdefault(part, _Node())
    node.ports = True
    return root


_TABLE = _compile()


def _next(node: _Node, key: str | int) -> Iterator[_Node]:
    if isinstance(key, int):
        for name in (ITEM, ANY):
            if name in node.children:
                yield node.children[name]
        return
    if key in node.children:
        yield node.children[key]
    if ANY in node.children:
        yield node.children[ANY]


class Deferred(Exception):
    """The value depends on the deploy host's environment."""


def resolved(text: str) -> str:
    """The text as Compose reads it where every variable is unset, when that is all its
    variables' defaults decide; Deferred when a variable without a default (``${VAR}``,
    ``${VAR:?err}``, ``${VAR:+x}``) leaves it to the deploy host."""
    if "$" not in text:
        return text
    try:
        if not defaults_decide(text):
            raise Deferred
        return interpolate(text, lambda name: None).replace("$$", "$")
    except InterpolationError:
        raise Deferred from None


@dataclass
class CastResult:
    """What the casts found: the tree with converted values (for the schema) and the
    violations of the values that do not convert."""

    tree: Any
    violations: list[Violation]


def check(tree: Any) -> CastResult:
    """Convert ``tree`` (a plain fragment, :func:`consign.compose.schema.plain_tree`) as
    Compose would; never raises. Compose interpolates every string first, so a string it
    cannot read as a template (``${}``, an unclosed ``${``) is refused wherever it is."""
    found = list(_templates(tree, []))
    converted = _walk(tree, [], [_TABLE], found)
    return CastResult(converted, found)


def _templates(value: Any, path: list[str | int]) -> Iterator[Violation]:
    if isinstance(value, str):
        if "${" in value:
            try:
                variables(value)
            except InterpolationError as e:
                yield Violation(dotted(path), f"{e} (write $$ for a literal $)")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _templates(item, [*path, key])
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _templates(item, [*path, index])


def _walk(value: Any, path: list[str | int], nodes: list[_Node], found: list[Violation]) -> Any:
    for node in nodes:
        if node.ports and isinstance(value, list):
            _check_ports(value, path, found)
        for conversion in node.conversions:
            before = len(found)
            value = _convert(value, conversion, path, found)
            if len(found) > before:
                return value  # Compose stops at the first conversion that fails
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            following = [n for node in nodes for n in _next(node, key)]
            out[key] = _walk(item, [*path, key], following, found) if following else item
        return out
    if isinstance(value, list):
        items: list[Any] = []
        for index, item in enumerate(value):
            following = [n for node in nodes for n in _next(node, index)]
            items.append(_walk(item, [*path, index], following, found) if following else item)
        return items
    return value


def _convert(
    value: Any, conversion: Conversion, path: list[str | int], found: list[Violation]
) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        if conversion.numbers is None:
            return value
        try:
            conversion.numbers(value)
        except CastError as e:
            found.append(_violation(path, value, conversion, str(e)))
        return value
    if not isinstance(value, str):
        return value
    try:
        text = resolved(value)
    except Deferred:
        return value
    try:
        result = conversion.parse(text)
    except CastError as e:
        found.append(_violation(path, value, conversion, str(e), text))
        return value
    return result if conversion.interpolated else value


def _violation(
    path: list[str | int],
    value: Any,
    conversion: Conversion,
    reason: str,
    resolved: str | None = None,
) -> Violation:
    shown = _describe(value)
    if resolved is not None and resolved != value:
        shown += f" (with its defaults applied: {resolved!r})"
    because = f" ({reason})" if reason else ""
    return Violation(dotted(path), f"{shown} is not {conversion.allowed}{because}")


def _check_ports(ports: list[Any], path: list[str | int], found: list[Violation]) -> None:
    for index, entry in enumerate(ports):
        if isinstance(entry, bool) or not isinstance(entry, int | str):
            continue
        try:
            text = resolved(entry) if isinstance(entry, str) else str(entry)
            gocasts.parse_port_spec(text)
        except Deferred:
            continue
        except CastError as e:
            found.append(
                Violation(
                    dotted([*path, index]),
                    f"{_describe(entry)} is not a port mapping: {e} (allowed: "
                    "[ip:][host port[-end]:]container port[-end][/tcp|udp|sctp], ports "
                    "0-65535)",
                )
            )
