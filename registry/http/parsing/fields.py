"""The ONE set of field validators every request body and query parameter is checked with.

Every refusal is a :class:`~registry.errors.BadRequest` (400) whose message and
``details.field`` name the field at fault (``services[2].containers[0]``), raised before
anything touches the store.

Limits on text are counted once, one way: in **bytes of UTF-8**, the size that is stored
(in Git objects, commit messages and ledger records) and answered; a JSON object's limit is
the size of its compact JSON in bytes of UTF-8. Names (applications, releases, components)
follow their own rules, :mod:`registry.names` and :mod:`consign.compose.refnames`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from consign.compose import refnames
from consign.compose.errors import InvalidName
from registry.errors import BadRequest

#: Nesting of a JSON body: far below the depth at which Python's JSON encoder, used again to
#: store and answer it, would hit its recursion limit.
MAX_JSON_DEPTH = 32
#: The largest whole number a body may carry (a version, a build number): below 10**18, so
#: every client's 64-bit integer holds it.
MAX_WHOLE = 10**18 - 1


def fail(message: str, where: str, **details: Any) -> BadRequest:
    """The 400 naming ``where`` (the field's path in the body)."""
    return BadRequest(message, details={"field": where, **details})


def kind(value: Any) -> str:
    """A JSON value's kind in words ("an array", "null"), for "must be X, not <kind>"."""
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), "a number")


# -- the body as a whole ----------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite(text: str) -> float:
    """JSON numbers must stay finite: ``1e400`` would be stored as ``Infinity``, which is
    not JSON, and every later answer carrying it would be unreadable to strict parsers."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text} is out of range (not a finite double)")
    return value


def _top(path: str) -> str:
    return path.split(".")[0].split("[")[0]


def _check_values(value: Any, where: str, depth: int = 1) -> None:
    """Refuse what the parser accepts but nothing downstream can store or answer: nesting
    beyond MAX_JSON_DEPTH and lone surrogates (``"\\ud800"``), which are not Unicode text."""
    stack = [(value, where, depth)]
    while stack:
        item, path, level = stack.pop()
        if level > MAX_JSON_DEPTH:
            raise fail(f"{_top(path)} is nested more than {MAX_JSON_DEPTH} levels deep", _top(path))
        if isinstance(item, str):
            _check_unicode(item, path)
        elif isinstance(item, dict):
            for key, child in item.items():
                _check_unicode(key, f"{path}.{key!r}" if path else str(key))
                stack.append((child, f"{path}.{key}" if path else str(key), level + 1))
        elif isinstance(item, list):
            stack.extend((child, f"{path}[{i}]", level + 1) for i, child in enumerate(item))


def _check_unicode(text: str, path: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise fail(
            f"{path} contains the lone surrogate U+{ord(text[e.start]):04X}, which is not "
            "Unicode text",
            _top(path),
        ) from e


def parse_json_body(data: bytes, mimetype: str) -> dict[str, Any]:
    """The body as a JSON object: UTF-8, finite numbers, bounded nesting, Unicode text."""
    if mimetype != "application/json":
        raise fail(
            f"Content-Type must be application/json, not {mimetype or 'missing'!r}",
            "Content-Type",
        )
    try:
        body = json.loads(
            data.decode("utf-8"), parse_constant=_reject_constant, parse_float=_finite
        )
    except UnicodeDecodeError as e:
        raise fail(f"the body is not UTF-8: {e}", "body") from e
    except json.JSONDecodeError as e:
        raise BadRequest(
            f"the body is not JSON: {e.msg} at line {e.lineno} column {e.colno}",
            details={"field": "body", "line": e.lineno, "column": e.colno},
        ) from e
    except (ValueError, RecursionError) as e:
        raise fail(f"the body is not acceptable JSON: {e}", "body") from e
    if not isinstance(body, dict):
        raise fail(f"the body must be a JSON object, not {kind(body)}", "body")
    _check_values(body, "", depth=0)
    return body


def check_fields(
    body: dict[str, Any], required: Sequence[str], optional: Sequence[str], *, prefix: str = ""
) -> None:
    """No field outside ``required`` + ``optional``, and every required one present.
    ``prefix`` is the path of a nested object (``"services[0]."``)."""
    allowed = (*required, *optional)
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        name = f"{prefix}{unknown[0]}"
        raise fail(f"unknown field {name!r} (allowed: {', '.join(allowed)})", name)
    for key in required:
        if key not in body:
            shown = f"{prefix}{key}" if prefix else repr(key)
            raise fail(f"the field {shown} is missing", f"{prefix}{key}")


# -- values ----------------------------------------------------------------------------------


def text(value: Any, where: str, *, limit: int, blank: bool = False, one_line: bool = False) -> str:
    """A string of at most ``limit`` bytes of UTF-8, without control characters (newline and
    tab allowed unless ``one_line``); not blank unless ``blank``."""
    if not isinstance(value, str):
        raise fail(f"{where} must be a string, not {kind(value)}", where)
    if not blank and not value.strip():
        raise fail(f"{where} must not be blank", where)
    size = len(value.encode("utf-8", "surrogatepass"))
    if size > limit:
        raise fail(f"{where} is {size} bytes of UTF-8; the limit is {limit}", where, limit=limit)
    if any(ord(c) < 32 and c not in "\n\t" for c in value):
        raise fail(f"{where} must not contain control characters", where)
    if one_line and ("\n" in value or "\t" in value):
        raise fail(f"{where} must be one line (no newline or tab)", where)
    return value


def optional_text(value: Any, where: str, *, limit: int, one_line: bool = False) -> str | None:
    """:func:`text`, or None when absent (null)."""
    return None if value is None else text(value, where, limit=limit, one_line=one_line)


def whole_number(
    value: Any, where: str, *, low: int = 1, high: int = MAX_WHOLE, meaning: str = ""
) -> int:
    """A JSON integer (not a boolean, not 1.0) from ``low`` to ``high``; ``meaning`` says
    what it is in the refusal ("a number of seconds from 10 to 86400")."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        said = meaning or (
            "a positive whole number" if (low, high) == (1, MAX_WHOLE)
            else f"a whole number from {low} to {high}"
        )  # fmt: skip
        raise fail(f"{where} must be {said}, not {value!r}", where)
    return value


def optional_whole_number(value: Any, where: str) -> int | None:
    """A positive whole number, or None when absent (null)."""
    if value is None:
        return None
    return whole_number(value, where, meaning="a positive whole number or null")


def boolean(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise fail(f"{where} must be true or false, not {kind(value)}", where)
    return value


def json_object(value: Any, where: str, *, max_bytes: int) -> dict[str, Any]:
    """A JSON object whose JSON (json.dumps' default separators) is at most
    ``max_bytes`` bytes of UTF-8."""
    if not isinstance(value, dict):
        raise fail(f"{where} must be a JSON object, not {kind(value)}", where)
    size = len(json.dumps(value, ensure_ascii=False).encode("utf-8"))
    if size > max_bytes:
        raise fail(f"{where} is {size} bytes of JSON; the limit is {max_bytes}", where)
    return value


def timestamp(value: Any, where: str) -> str:
    """ISO-8601 with a time zone -> UTC ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (sortable as text)."""
    if not isinstance(value, str) or len(value) > 64:
        raise fail(f"{where} must be an ISO-8601 time string", where)
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as e:
        raise fail(f"{where} is not an ISO-8601 time: {value!r}", where) from e
    if when.tzinfo is None:
        raise fail(f"{where} needs a time zone (e.g. a trailing Z for UTC): {value!r}", where)
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def check_name(value: Any, where: str) -> str:
    """An application, release or component name (refnames' rules, and not blank)."""
    if isinstance(value, str) and value and not value.strip():
        raise InvalidName(f"{where} must not be blank", details={"field": where})
    try:
        return refnames.validate(value, where)
    except InvalidName as e:
        raise InvalidName(e.message, details={"field": where}) from e


def name_list(value: Any, where: str, *, at_least_one: bool) -> tuple[str, ...]:
    """An array of distinct names; null is none (refused when ``at_least_one``)."""
    if value is None and not at_least_one:
        return ()
    if not isinstance(value, list):
        raise fail(f"{where} must be an array of names, not {kind(value)}", where)
    if at_least_one and not value:
        raise fail(f"{where} must name at least one", where)
    found = [check_name(item, f"{where}[{i}]") for i, item in enumerate(value)]
    duplicates = sorted({n for n in found if found.count(n) > 1})
    if duplicates:
        raise fail(f"{where} names {duplicates[0]!r} twice", where)
    return tuple(found)


# -- path segments and query parameters -------------------------------------------------------


def parse_version(text: str) -> int | None:
    """A version path segment: ``latest`` (None) or a positive decimal number."""
    if text == "latest":
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > 18 or int(text) < 1:
        raise fail(f"version must be a positive number or 'latest', not {text!r}", "version")
    return int(text)


def parse_int_arg(name: str, text: str | None, *, maximum: int) -> int | None:
    """An optional positive integer query parameter (1..maximum)."""
    if text is None:
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > 18 or not 1 <= int(text) <= maximum:
        raise fail(
            f"the query parameter {name!r} must be a number from 1 to {maximum}, not {text!r}",
            name,
        )
    return int(text)


def parse_bool_arg(name: str, text: str | None) -> bool:
    """An optional true/false query parameter (absent: false)."""
    if text is None:
        return False
    value = text.strip().lower()
    if value not in ("true", "false", "1", "0", "yes", "no"):
        raise fail(f"the query parameter {name!r} must be true or false, not {text!r}", name)
    return value in ("true", "1", "yes")
