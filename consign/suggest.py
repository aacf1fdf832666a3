"""``did you mean Shop?``: the names close to one that does not exist."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def close_names(wanted: str, known: Iterable[str], limit: int = 3) -> list[str]:
    """The known names nearest to ``wanted``, best first: the same name in another case
    first, then those difflib finds alike (compared case-insensitively)."""
    names = list(dict.fromkeys(str(n) for n in known))
    folded: dict[str, list[str]] = {}
    for name in names:
        folded.setdefault(name.casefold(), []).append(name)
    found = list(folded.get(wanted.casefold(), []))
    for key in difflib.get_close_matches(wanted.casefold(), list(folded), n=limit, cutoff=0.6):
        found.extend(n for n in folded[key] if n not in found)
    return [n for n in found if n != wanted][:limit]


def did_you_mean(wanted: str, known: Iterable[str]) -> str:
    """`` (did you mean Shop?)``, `` (did you mean Shop or Shops?)``, or '' when none is close."""
    found = close_names(wanted, known)
    if not found:
        return ""
    if len(found) == 1:
        return f" (did you mean {found[0]}?)"
    return f" (did you mean {', '.join(found[:-1])} or {found[-1]}?)"
