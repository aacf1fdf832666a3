"""A version's state: can it be deployed as it is, and if not quite, why (contract 4).

``incomplete``: a service refers to a service no component provides yet (the deployer
refuses it); ``warnings``: deployable, with something left open (a variable for the deploy
host, a mutable image reference); ``ok``: nothing to say. ``state_reason`` is one line,
empty when ok: ``incomplete: plex → bittorrent-sync-data``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

OK, INCOMPLETE, WARNINGS = "ok", "incomplete", "warnings"
DEPLOYABLE = frozenset({OK, WARNINGS})
MAX_REASON = 160

#: The warning text registry.assembly gives a dangling reference (also in old manifests).
_DANGLING = re.compile(r"^service '([^']+)' refers to '([^']+)' \(\w+\), which no component")


def dangling_warning(service: str, target: str, how: str) -> str:
    return f"service {service!r} refers to {target!r} ({how}), which no component provides yet"


def _line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "…"


def state_of(missing: Sequence[tuple[str, str]], shorts: Sequence[str]) -> tuple[str, str]:
    """(state, state_reason) from the dangling references (service, target) and the short
    forms of the other warnings."""
    if missing:
        pairs = dict.fromkeys(f"{service} → {target}" for service, target in missing)
        return INCOMPLETE, _line(f"{INCOMPLETE}: {', '.join(pairs)}")
    if shorts:
        return WARNINGS, _line(f"{WARNINGS}: {'; '.join(dict.fromkeys(shorts))}")
    return OK, ""


def state_from_warnings(warnings: Sequence[str]) -> tuple[str, str]:
    """The state of a version recorded before states were: read from its warnings."""
    missing = [m.groups() for m in map(_DANGLING.match, warnings) if m]
    others = [w for w in warnings if not _DANGLING.match(w)]
    return state_of([(s, t) for s, t in missing], others)
