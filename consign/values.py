"""The one way the commands print a value people read: build info, provenance, options.

Build info is free-form JSON from CI; printing it with ``str()`` gives Python's reprs
(``images={'worker': {'ref': ...}}``) and whatever key order the JSON had. Here a mapping
is ``key=value`` pairs in sorted key order, a nested mapping spelled by dotted keys
(``images.worker.ref=busybox:1``), a list comma-joined, and a value with spaces or
quotes written as a JSON string, so a line reads the same on every run and every host.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

#: What an absent value is printed as.
NOTHING = "-"


def scalar(value: Any) -> str:
    """A single value: ``yes``/``no``, numbers as written, a plain string as is, a string
    with blanks, ``=`` or quotes as JSON (so ``key=value`` pairs stay splittable)."""
    if value is None:
        return NOTHING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, Mapping):
        return "{" + pairs(value) + "}" if value else "{}"
    if isinstance(value, list | tuple):
        return ",".join(scalar(v) for v in value) if value else "[]"
    text = str(value)
    if text == "" or any(c.isspace() or c in "=\"'" for c in text):
        return json.dumps(text, ensure_ascii=False)
    return text


def flat(value: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted key, leaf value) of a mapping, keys sorted at every level."""
    for key in sorted(value, key=str):
        item = value[key]
        name = f"{prefix}{key}"
        if isinstance(item, Mapping) and item:
            yield from flat(item, f"{name}.")
        else:
            yield name, item


def pairs(value: Mapping[str, Any] | None) -> str:
    """``a=1 b.c=2``: a mapping on one line, sorted, nested keys dotted; ``-`` when empty."""
    if not value:
        return NOTHING
    return " ".join(f"{key}={scalar(item)}" for key, item in flat(value))


def held_version(holder: Mapping[str, Any]) -> str:
    """What a lock holder deploys, as every other line writes a version: ``Shop/Dev v3``
    (``Shop/Dev`` without a version; "" when it names no application)."""
    named = "/".join(str(holder[k]) for k in ("application", "release") if holder.get(k))
    version = holder.get("version")
    if not named:
        return ""
    return f"{named} v{version}" if version not in (None, "") else named
