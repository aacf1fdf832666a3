"""Parse and bound a ``PUT /fragment`` request body before anything touches the store.

Every refusal here is a 400 whose message names the field at fault. The fragment itself is
only checked to be a string: decoding it (base64, UTF-8, YAML) is consign.compose.fragments' job
and fails with 422.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass, field
from typing import Any

from consign.compose import envfiles, refnames
from consign.compose.errors import InvalidName
from registry.errors import BadRequest, TooLarge

REQUIRED = ("fragment", "applications", "releases")
OPTIONAL = ("component", "build", "files")


@dataclass(frozen=True)
class Limits:
    max_targets: int = 50
    max_build_bytes: int = 16 * 1024
    max_files: int = 100
    max_file_bytes: int = 256 * 1024


@dataclass(frozen=True)
class PublishRequest:
    fragment: str  # base64, still encoded
    applications: list[str]
    releases: list[str]
    component: str | None = None
    build: dict[str, Any] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)  # normalised path -> bytes

    @property
    def targets(self) -> list[tuple[str, str]]:
        """The cartesian product applications x releases, in request order."""
        return [(app, rel) for app in self.applications for rel in self.releases]


#: Nesting of the JSON body (``build`` is the only field that nests): far below the depth at
#: which Python's JSON encoder, used again to store and answer it, would hit its recursion limit.
MAX_JSON_DEPTH = 32


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite(text: str) -> float:
    """JSON numbers must stay finite: ``1e400`` would be stored as ``Infinity``, which is
    not JSON, and every later answer carrying it would be unreadable to strict parsers."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text} is out of range (not a finite double)")
    return value


def _check_values(value: Any, where: str, depth: int = 1) -> None:
    """Refuse what the parser accepts but nothing downstream can store or answer: nesting
    beyond MAX_JSON_DEPTH and lone surrogates (``"\\ud800"``), which are not Unicode text."""
    stack = [(value, where, depth)]
    while stack:
        item, path, level = stack.pop()
        if level > MAX_JSON_DEPTH:
            raise BadRequest(
                f"{path.split('.')[0].split('[')[0]} is nested more than {MAX_JSON_DEPTH} "
                "levels deep",
                details={"field": path.split(".")[0].split("[")[0]},
            )
        if isinstance(item, str):
            _check_text(item, path)
        elif isinstance(item, dict):
            for key, child in item.items():
                _check_text(key, f"{path}.{key!r}" if path else str(key))
                stack.append((child, f"{path}.{key}" if path else str(key), level + 1))
        elif isinstance(item, list):
            stack.extend((child, f"{path}[{i}]", level + 1) for i, child in enumerate(item))


def _check_text(text: str, path: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        field = path.split(".")[0].split("[")[0]
        raise BadRequest(
            f"{path} contains the lone surrogate U+{ord(text[e.start]):04X}, which is not "
            "Unicode text",
            details={"field": field},
        ) from e


def parse_json_body(data: bytes, mimetype: str) -> dict[str, Any]:
    if mimetype != "application/json":
        raise BadRequest(
            f"Content-Type must be application/json, not {mimetype or 'missing'!r}",
            details={"field": "Content-Type"},
        )
    try:
        body = json.loads(
            data.decode("utf-8"), parse_constant=_reject_constant, parse_float=_finite
        )
    except UnicodeDecodeError as e:
        raise BadRequest(f"the body is not UTF-8: {e}", details={"field": "body"}) from e
    except json.JSONDecodeError as e:
        raise BadRequest(
            f"the body is not JSON: {e.msg} at line {e.lineno} column {e.colno}",
            details={"field": "body", "line": e.lineno, "column": e.colno},
        ) from e
    except (ValueError, RecursionError) as e:
        raise BadRequest(f"the body is not acceptable JSON: {e}", details={"field": "body"}) from e
    if not isinstance(body, dict):
        raise BadRequest(
            f"the body must be a JSON object, not {_kind(body)}", details={"field": "body"}
        )
    _check_values(body, "", depth=0)
    return body


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), "a number")


def check_name(value: Any, where: str) -> str:
    """An application, release or component name (refnames' rules, and not blank)."""
    if isinstance(value, str) and value and not value.strip():
        raise InvalidName(f"{where} must not be blank", details={"field": where})
    try:
        return refnames.validate(value, where)
    except InvalidName as e:
        raise InvalidName(e.message, details={"field": where}) from e


def _names(body: dict[str, Any], key: str) -> list[str]:
    value = body[key]
    if not isinstance(value, list):
        raise BadRequest(
            f"{key} must be an array of names, not {_kind(value)}", details={"field": key}
        )
    if not value:
        raise BadRequest(f"{key} must name at least one", details={"field": key})
    names = [check_name(item, f"{key}[{i}]") for i, item in enumerate(value)]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise BadRequest(f"{key} names {duplicates[0]!r} twice", details={"field": key})
    return names


def _build(value: Any, limits: Limits) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadRequest(
            f"build must be a JSON object, not {_kind(value)}", details={"field": "build"}
        )
    size = len(json.dumps(value, ensure_ascii=False).encode("utf-8"))
    if size > limits.max_build_bytes:
        raise BadRequest(
            f"build is {size} bytes of JSON; the limit is {limits.max_build_bytes}",
            details={"field": "build"},
        )
    return value


def parse_publish(body: dict[str, Any], limits: Limits) -> PublishRequest:
    """Validate a decoded JSON body; raises BadRequest (400) naming the field at fault."""
    unknown = sorted(set(body) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        allowed = ", ".join(REQUIRED + OPTIONAL)
        raise BadRequest(
            f"unknown field {unknown[0]!r} (allowed: {allowed})", details={"field": unknown[0]}
        )
    for key in REQUIRED:
        if key not in body:
            raise BadRequest(f"the field {key!r} is missing", details={"field": key})
    if not isinstance(body["fragment"], str):
        kind = _kind(body["fragment"])
        raise BadRequest(
            f"fragment must be a base64 string, not {kind}", details={"field": "fragment"}
        )
    applications = _names(body, "applications")
    releases = _names(body, "releases")
    count = len(applications) * len(releases)
    if count > limits.max_targets:
        raise BadRequest(
            f"{len(applications)} applications x {len(releases)} releases = {count} targets; "
            f"the limit is {limits.max_targets}",
            details={"field": "applications"},
        )
    component = body.get("component")
    if component is not None:
        component = check_name(component, "component")
    build = _build(body["build"], limits) if body.get("build") is not None else {}
    files = _files(body["files"], limits) if body.get("files") is not None else {}
    return PublishRequest(body["fragment"], applications, releases, component, build, files)


def _files(value: Any, limits: Limits) -> dict[str, bytes]:
    """``{"<path as referenced>": "<base64>"}``: confined paths, bounded count and sizes."""
    if not isinstance(value, dict):
        raise BadRequest(
            f"files must be a JSON object of path: base64, not {_kind(value)}",
            details={"field": "files"},
        )
    if len(value) > limits.max_files:
        raise BadRequest(
            f"files holds {len(value)} files; the limit is {limits.max_files}",
            details={"field": "files"},
        )
    files: dict[str, bytes] = {}
    for key, encoded in value.items():
        where = f"files[{key[:100]!r}]"
        path = envfiles.confine(key, where)
        if path in files:
            raise BadRequest(
                f"{where}: names the same file as another entry", details={"field": where}
            )
        if not isinstance(encoded, str):
            raise BadRequest(
                f"{where} must be a base64 string, not {_kind(encoded)}", details={"field": where}
            )
        if len(encoded) > 2 * limits.max_file_bytes + 1024:  # over the limit, whatever it holds
            raise _too_large(where, limits)
        data = _base64(encoded, where)
        if len(data) > limits.max_file_bytes:
            raise _too_large(where, limits)
        files[path] = data
    folders = {"/".join(p.split("/")[:i]) for p in files for i in range(1, p.count("/") + 1)}
    clash = sorted(folders & set(files))
    if clash:
        raise BadRequest(
            f"files: {clash[0]!r} is both a file and a folder of another file",
            details={"field": "files"},
        )
    return files


def _too_large(where: str, limits: Limits) -> TooLarge:
    return TooLarge(
        f"{where} is larger than the limit of {limits.max_file_bytes} bytes per file",
        details={"field": where},
    )


def _base64(text: str, where: str) -> bytes:
    compact = "".join(text.split()).rstrip("=")
    try:
        if len(compact) % 4 == 1:
            raise ValueError("truncated")
        return base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)
    except (binascii.Error, ValueError) as e:
        raise BadRequest(f"{where} is not valid base64", details={"field": where}) from e


def parse_version(text: str) -> int | None:
    """A version path segment: ``latest`` (None) or a positive decimal number."""
    if text == "latest":
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > 18 or int(text) < 1:
        raise BadRequest(
            f"version must be a positive number or 'latest', not {text!r}",
            details={"field": "version"},
        )
    return int(text)


def parse_int_arg(name: str, text: str | None, *, maximum: int) -> int | None:
    """An optional positive integer query parameter (1..maximum)."""
    if text is None:
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > 18 or not 1 <= int(text) <= maximum:
        raise BadRequest(
            f"the query parameter {name!r} must be a number from 1 to {maximum}, not {text!r}",
            details={"field": name},
        )
    return int(text)


def parse_bool_arg(name: str, text: str | None) -> bool:
    """An optional true/false query parameter (absent: false)."""
    if text is None:
        return False
    value = text.strip().lower()
    if value not in ("true", "false", "1", "0", "yes", "no"):
        raise BadRequest(
            f"the query parameter {name!r} must be true or false, not {text!r}",
            details={"field": name},
        )
    return value in ("true", "1", "yes")
