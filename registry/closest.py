"""Names closest in spelling to one that was not found ("did you mean ...?").

Case-insensitive equals come first (``Qa`` → ``QA``), then :mod:`difflib`'s close matches
of the case-folded names, best first. Pure; the callers say what the names are.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

#: difflib's ratio below which a name is not offered (difflib's own default).
CUTOFF = 0.6


def closest(name: str, candidates: Iterable[str], *, limit: int = 3) -> list[str]:
    """Up to ``limit`` of ``candidates`` closest to ``name``, best first (never ``name``
    itself)."""
    known = sorted({c for c in candidates if c != name})
    folded = name.casefold()
    same = [c for c in known if c.casefold() == folded]
    by_fold: dict[str, list[str]] = {}
    for c in known:
        if c not in same:
            by_fold.setdefault(c.casefold(), []).append(c)
    near = difflib.get_close_matches(folded, list(by_fold), n=limit, cutoff=CUTOFF)
    found = same + [c for f in near for c in by_fold[f]]
    return found[:limit]


def suggestion(found: list[str]) -> str:
    """`` (did you mean 'QA'?)``, or nothing when none is close."""
    if not found:
        return ""
    return " (did you mean " + " or ".join(repr(f) for f in found) + "?)"
