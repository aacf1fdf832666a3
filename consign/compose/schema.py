"""Validation of a normalized fragment against the Compose Specification's JSON schema.

The schema is the compose-spec project's own (``consign/compose/vendor/compose-spec.json``, see
``consign/compose/vendor/README.md``). Every violation is reported, each with its path in the
document (``services.api.helthcheck``, ``services.api.ports[0]``), not just the first one.

Two validators, because a publish must stay fast: ``fastjsonschema`` compiles the schema
into Python code once per process (:func:`warm`, called by ``consign serve`` in the gunicorn
master before the workers fork, so they inherit it) and answers "valid" in tens of
microseconds, about a tenth of what ``jsonschema`` takes; it stops at the first error, so
only a fragment it refuses is walked again with ``jsonschema``, which lists every error
with its path.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import fastjsonschema
from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError, best_match

from consign.compose import yamlio

_TYPES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "empty",
}


@dataclass(frozen=True, order=True)
class Violation:
    """One reason a fragment is not valid Compose: where (a dotted path) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


@cache
def schema() -> dict[str, Any]:
    text = (
        resources.files("consign.compose").joinpath("vendor/compose-spec.json").read_text("utf-8")
    )
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@cache
def validator() -> Draft7Validator:
    """The validator that lists every error (tests/registry/test_compose_schema.py checks
    the schema itself against the draft-07 meta-schema)."""
    return Draft7Validator(schema())


@cache
def _fast() -> Callable[[Any], Any]:
    compiled: Callable[[Any], Any] = fastjsonschema.compile(schema())
    return compiled


def warm() -> None:
    """Compile the fast validator now (about a second) rather than in the first publish."""
    _fast()


def plain_tree(value: Any) -> Any:
    """The document as Compose reads it: ``!reset`` dropped, ``!override`` unwrapped, keys
    as strings (the schema names keys, and YAML allows ``1: x``)."""
    value = yamlio.plain(value)
    if isinstance(value, dict):
        return {str(k): plain_tree(v) for k, v in value.items() if not isinstance(v, yamlio.Reset)}
    if isinstance(value, list):
        return [plain_tree(v) for v in value if not isinstance(v, yamlio.Reset)]
    return value


def dotted(path: Iterable[Any]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _describe(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _type_names(types: Any) -> str:
    names = [_TYPES.get(t, t) for t in ([types] if isinstance(types, str) else types)]
    return " or ".join(dict.fromkeys(names))


def _violations(error: ValidationError) -> list[Violation]:
    path = list(error.absolute_path)
    where = dotted(path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = error.schema.get("properties") or {}
        patterns = error.schema.get("patternProperties") or {}
        unknown = [
            k
            for k in error.instance
            if k not in allowed and not any(_matches(p, k) for p in patterns)
        ]
        if unknown:
            return [Violation(dotted([*path, k]), "unknown key") for k in unknown]
    if error.validator == "type":
        return [
            Violation(
                where,
                f"must be {_type_names(error.validator_value)}, not {_describe(error.instance)}",
            )
        ]
    if error.validator == "enum":
        options = ", ".join(map(_describe, error.validator_value))
        return [Violation(where, f"{_describe(error.instance)} is not one of {options}")]
    if error.validator in ("oneOf", "anyOf") and error.context:
        return _alternatives(error, path)
    if error.validator == "pattern":
        return [
            Violation(
                where, f"{_describe(error.instance)} does not match {error.validator_value!r}"
            )
        ]
    return [Violation(where, error.message)]


def _alternatives(error: ValidationError, path: list[Any]) -> list[Violation]:
    """A value valid under none of ``oneOf``/``anyOf``: report what is wrong in the one
    alternative whose type the value has (``build: {dockerfil: x}`` is a mapping, so the
    mapping form's unknown key), or the types it may have when it has none of them."""
    groups: dict[Any, list[ValidationError]] = {}
    for e in error.context or []:
        groups.setdefault(e.relative_schema_path[0], []).append(e)
    fitting = [
        errors
        for errors in groups.values()
        if not any(e.validator == "type" and list(e.absolute_path) == path for e in errors)
    ]
    if len(fitting) == 1:
        return [v for e in fitting[0] for v in _violations(e)]
    if not fitting:
        types = [
            t
            for errors in groups.values()
            for e in errors
            if e.validator == "type"
            for t in _as_list(e.validator_value)
        ]
        return [
            Violation(
                dotted(path), f"must be {_type_names(types)}, not {_describe(error.instance)}"
            )
        ]
    chosen = best_match(error.context or [])
    return _violations(chosen) if chosen is not None else [Violation(dotted(path), error.message)]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _matches(pattern: str, key: str) -> bool:
    return re.search(pattern, key) is not None


def violations(tree: Any) -> list[Violation]:
    """Every schema violation of ``tree`` (a normalized fragment as :func:`plain_tree`
    gives it), sorted by path."""
    try:
        _fast()(tree)
        return []
    except fastjsonschema.JsonSchemaValueException as e:
        first = Violation((e.name or "").removeprefix("data").lstrip("."), e.message)
    found: set[Violation] = set()
    for error in validator().iter_errors(tree):
        found.update(_violations(error))
    return sorted(found) or [first]  # the two libraries agree; should they not, say why
