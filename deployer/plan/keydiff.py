"""Which keys of a service's definition differ between the running version's descriptor
and the planned one (the reason behind a configuration hash that changed), and, when the
definitions are the same, the variables resolved on this host that the service uses: one
of those changed (an --env-file, the environment). Names only, never values: a value may
be a secret."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from consign.compose import yamlio
from consign.compose.errors import ComposeError
from consign.interpolation import InterpolationError, variables
from deployer.plan.model import Reason

#: Keys whose entries are named (``environment (LOG_LEVEL)``): NAME=VALUE lists or maps.
_NAMED_ENTRIES = ("environment", "labels", "annotations", "sysctls", "extra_hosts")


def services_of(text: str) -> dict[str, Any]:
    """A descriptor's services as written (not resolved); {} when it cannot be read."""
    try:
        doc = yamlio.plain(yamlio.load(text))
    except ComposeError:
        return {}
    services = doc.get("services") if isinstance(doc, Mapping) else None
    return dict(services) if isinstance(services, Mapping) else {}


def _entries(value: Any) -> dict[str, Any] | None:
    """``[A=1, B]`` or ``{A: 1, B: null}`` as a mapping (None: neither)."""
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items()}
    if isinstance(value, list) and all(isinstance(x, str) for x in value):
        found: dict[str, Any] = {}
        for item in value:
            name, sep, rest = item.partition("=")
            found[name] = rest if sep else None
        return found
    return None


def differing_keys(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """The top-level keys whose values differ (added, removed, changed), sorted; for a
    NAME=VALUE key, the names that differ in brackets: ``environment (LOG_LEVEL)``."""
    found: list[str] = []
    for key in sorted(set(before) | set(after), key=str):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        a = {} if old is None else _entries(old)  # a key added or removed: all its names
        b = {} if new is None else _entries(new)
        if key in _NAMED_ENTRIES and a is not None and b is not None:
            names = sorted(n for n in set(a) | set(b) if a.get(n, ...) != b.get(n, ...))
            found.append(f"{key} ({', '.join(names)})" if names else str(key))
        else:
            found.append(str(key))
    return found


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def host_variables(spec: Mapping[str, Any]) -> list[str]:
    """The variables of this host a service's definition uses: ``${VAR}`` anywhere in it,
    and ``environment`` entries without a value (Compose passes the host's value on)."""
    found: list[str] = []
    for text in _strings(spec):
        try:
            found += variables(text)
        except InterpolationError:
            continue
    env = _entries(spec.get("environment"))
    found += [name for name, value in (env or {}).items() if value is None]
    return sorted(set(found))


def env_files(spec: Mapping[str, Any]) -> list[str]:
    value = spec.get("env_file")
    items = value if isinstance(value, list) else [value] if value else []
    return [str(i.get("path") if isinstance(i, Mapping) else i) for i in items]


def definition_reason(
    before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> Reason | None:
    """Why a service's configuration hash changed, as far as the two definitions tell:
    ``keys`` (which keys differ), or ``host_variables`` (the same definition: one of the
    variables of this host it uses, or an env file's content, changed); None for a service
    the running version did not have (its keys are all new: nothing to name)."""
    if before is None or after is None:
        return None
    changed = differing_keys(before, after)
    if changed:
        return Reason("keys", keys=tuple(changed))
    used = host_variables(after) + [f"env_file {f}" for f in env_files(after)]
    return Reason("host_variables", keys=tuple(used))
