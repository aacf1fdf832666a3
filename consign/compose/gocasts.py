"""Go's value grammars that Compose applies to the strings of a Compose file, in Python.

Ported from the Go code Compose v2.40.3 runs (compose-go v2.9.1 and its dependencies);
each function names the Go function it follows. Every parser raises :class:`CastError`
with a short reason, or returns the value Compose would use.

Ported code, Apache License 2.0:
  - strconv's Atoi/ParseInt/ParseUint/ParseFloat grammars and net.SplitHostPort/ParseIP
    (Go standard library, BSD-style licence, Copyright The Go Authors);
  - github.com/docker/go-units v0.5.0 ``RAMInBytes`` (Copyright 2015 Docker, Inc.);
  - github.com/xhit/go-str2duration/v2 v2.1.0 ``ParseDuration`` (BSD-3-Clause, Copyright
    Xhit and The Go Authors);
  - github.com/docker/go-connections v0.6.0 ``nat.ParsePortSpec`` (Copyright 2015 Docker, Inc.);
  - compose-go v2.9.1 ``loader.toBoolean`` (Copyright 2020 The Compose Specification
    Authors). Licensed under the Apache License, Version 2.0
    (http://www.apache.org/licenses/LICENSE-2.0).
"""

from __future__ import annotations

import ipaddress
import math
import re

INT64 = (-(1 << 63), (1 << 63) - 1)
_DECIMAL = re.compile(r"[+-]?[0-9]+")
_DIGITS = re.compile(r"[0-9]+")
_OCTAL = re.compile(r"[+-]?[0-7]+")
_FLOAT = re.compile(
    r"[+-]?(?:"
    r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
    r"|0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)[pP][+-]?[0-9]+"
    r"|(?i:inf|infinity|nan))"
)
_FLOAT32_OVERFLOW = 2.0**128 - 2.0**103  # rounds to infinity as a float32
_TRUE = frozenset({"true", "y", "yes", "on"})
_FALSE = frozenset({"false", "n", "no", "off"})


class CastError(ValueError):
    """A string Compose cannot convert; the message says why, in a few words."""


def parse_int(text: str, bits: int = 64) -> int:
    """strconv.ParseInt(text, 10, bits) (Atoi is bits=64 here): sign, decimal digits."""
    if not _DECIMAL.fullmatch(text):
        raise CastError("")
    value = int(text)
    if not -(1 << (bits - 1)) <= value < (1 << (bits - 1)):
        raise CastError(f"out of range for a {bits}-bit integer")
    return value


def parse_uint(text: str, bits: int) -> int:
    """strconv.ParseUint(text, 10, bits): decimal digits, no sign."""
    if not _DIGITS.fullmatch(text):
        raise CastError("")
    value = int(text)
    if value >= 1 << bits:
        raise CastError(f"out of range (at most {(1 << bits) - 1})")
    return value


def parse_octal(text: str) -> int:
    """strconv.ParseInt(text, 8, 64), as a file mode."""
    if not _OCTAL.fullmatch(text):
        raise CastError("")
    return int(text, 8)


def parse_float(text: str, bits: int = 64) -> float:
    """strconv.ParseFloat(text, bits): decimal or hexadecimal (with p exponent), inf, nan."""
    if not _FLOAT.fullmatch(text):
        raise CastError("")
    body = text.lstrip("+-").lower()
    value = float.fromhex(text) if body.startswith("0x") else float(text)
    if math.isinf(value) and not body.startswith("inf"):
        raise CastError("out of range")
    if bits == 32 and math.isfinite(value) and abs(value) >= _FLOAT32_OVERFLOW:
        raise CastError("out of range for a 32-bit float")
    return value


def parse_bool(text: str) -> bool:
    """compose-go's toBoolean: YAML 1.1's words, any case."""
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise CastError("")


_GO_UNITS = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,
    "\u03bcs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_STR2DURATION_UNITS = {**_GO_UNITS, "d": 86_400_000_000_000, "w": 604_800_000_000_000}
_NUMBER_PART = re.compile(r"([0-9]*)(?:\.([0-9]*))?")
_UNIT_PART = re.compile(r"[^0-9.]+")


def parse_duration(text: str, *, days: bool = True) -> int:
    """str2duration.ParseDuration (``days``: also ``d`` and ``w``) or Go's time.ParseDuration:
    a sequence of decimal numbers, each with a unit (``1m30s``, ``1.5h``), or ``0`` -> ns."""
    units = _STR2DURATION_UNITS if days else _GO_UNITS
    rest = text
    negative = False
    if rest[:1] in ("-", "+"):
        negative, rest = rest[0] == "-", rest[1:]
    if rest == "0":
        return 0
    if not rest:
        raise CastError("")
    total = 0
    while rest:
        number = _NUMBER_PART.match(rest)
        assert number is not None  # the pattern matches the empty string
        whole, fraction = number.group(1), number.group(2)
        if not whole and not fraction:
            raise CastError("")
        rest = rest[number.end() :]
        unit_match = _UNIT_PART.match(rest)
        if unit_match is None:
            raise CastError("a number without a unit")
        unit = unit_match.group()
        rest = rest[unit_match.end() :]
        if unit not in units:
            raise CastError(f"unknown unit {unit!r}")
        scale = units[unit]
        value = int(whole or "0")
        if value > ((1 << 63) - 1) // scale:
            raise CastError("out of range")
        value *= scale
        if fraction:
            value += int(int(fraction[:18]) * (scale / 10 ** len(fraction[:18])))
        total += value
        if total >= 1 << 63:
            raise CastError("out of range")
    return -total if negative else total


_SIZE_SEPARATORS = "0123456789. "
_BINARY = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


def ram_in_bytes(text: str) -> int:
    """go-units RAMInBytes: a number, optionally a space, then b, k, m, g, t, p (binary
    multiples), optionally followed by ``b`` or ``ib``; any case."""
    sep = max(text.rfind(c) for c in _SIZE_SEPARATORS)
    if sep < 0:
        raise CastError("no number")
    if text[sep] != " ":
        number, suffix = text[: sep + 1], text[sep + 1 :]
    else:
        number, suffix = text[:sep], text[sep + 1 :]
    size = parse_float(number)
    if size < 0 or math.isnan(size):
        raise CastError("negative")
    if not suffix:
        return int(size) if math.isfinite(size) else 0
    suffix = suffix.lower()
    if len(suffix) > 3:
        raise CastError(f"unknown unit {suffix!r}")
    if suffix[0] == "b":
        if len(suffix) > 1:
            raise CastError(f"unknown unit {suffix!r}")
        return int(size) if math.isfinite(size) else 0
    if suffix[0] not in _BINARY or (len(suffix) == 2 and suffix[1] != "b"):
        raise CastError(f"unknown unit {suffix!r}")
    if len(suffix) == 3 and suffix[1:] != "ib":
        raise CastError(f"unknown unit {suffix!r}")
    size *= _BINARY[suffix[0]]
    return int(size) if math.isfinite(size) else 0


def split_host_port(hostport: str) -> tuple[str, str]:
    """net.SplitHostPort."""
    i = hostport.rfind(":")
    if i < 0:
        raise CastError("missing port in address")
    j = k = 0
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            raise CastError("missing ']' in address")
        if end + 1 == len(hostport):
            raise CastError("missing port in address")
        if end + 1 != i:
            raise CastError(
                "too many colons in address" if hostport[end + 1] == ":" else "missing port"
            )
        host = hostport[1:end]
        j, k = 1, end + 1
    else:
        host = hostport[:i]
        if ":" in host:
            raise CastError("too many colons in address")
    if "[" in hostport[j:]:
        raise CastError("unexpected '[' in address")
    if "]" in hostport[k:]:
        raise CastError("unexpected ']' in address")
    return host, hostport[i + 1 :]


def is_ip(text: str) -> bool:
    """net.ParseIP: an IPv4 or IPv6 address, no zone, no brackets."""
    if "%" in text or not text:
        return False
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _port_range(text: str) -> tuple[int, int]:
    """nat.ParsePortRange."""
    if not text:
        raise CastError("empty")
    if "-" not in text:
        value = parse_uint(text, 16)
        return value, value
    parts = text.split("-")
    start, end = parse_uint(parts[0], 16), parse_uint(parts[1], 16)
    if end < start:
        raise CastError("a range that ends before it starts")
    return start, end


def parse_port_spec(raw: str) -> None:
    """nat.ParsePortSpec (go-connections v0.6.0, the version Compose v2.40.3 builds with):
    ``[ip:][host[-end]:]container[-end][/proto]``; an IPv6 address bare or in brackets."""
    parts = raw.split(":")
    container = parts[-1]
    if len(parts) == 1:
        ip, host = "", ""
    elif len(parts) == 2:
        ip, host = "", parts[0]
    else:
        ip, host = ":".join(parts[:-2]), parts[-2]
    container, _, proto = container.partition("/")
    if not container:
        proto = ""
    elif not proto:
        proto = "tcp"
    proto = proto.lower()
    if proto not in ("tcp", "udp", "sctp"):
        raise CastError(f"invalid protocol {proto!r}")
    if ip.startswith("["):
        try:
            ip, _ = split_host_port(ip + ":")
        except CastError as e:
            raise CastError(f"invalid IP address {ip!r} ({e})") from None
    if ip and not is_ip(ip):
        raise CastError(f"invalid IP address {ip!r}")
    if not container:
        raise CastError("no container port")
    try:
        start, end = _port_range(container)
    except CastError:
        raise CastError(f"invalid container port {container!r}") from None
    if host:
        try:
            host_start, host_end = _port_range(host)
        except CastError:
            raise CastError(f"invalid host port {host!r}") from None
        if end - start != host_end - host_start and end != start:
            raise CastError(f"container ports {container} and host ports {host} differ in size")
