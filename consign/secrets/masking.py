"""A descriptor as people may see it: every secret-looking literal replaced by ``••••••``
(issue 24, "Never shown"; docs/secrets.md).

The descriptor is read, each literal the detector flags (:mod:`consign.secrets.literals`
finds them, the same walk as at publish) is replaced in place (the value only: a variable's
name, a label's key and a ``--flag=`` stay), and the document is dumped again by
:func:`consign.compose.yamlio.dump`, the registry's own deterministic writer, so an
unmasked descriptor reads back byte for byte and a masked one differs only where masked.
Each masked line says why: ``# secret-looking literal: publish it as ${VAR}``.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from typing import Any

from consign.cache import LRU
from consign.compose import yamlio
from consign.compose.errors import InvalidFragment
from consign.secrets import detector
from consign.secrets.literals import Literal, literals
from consign.secrets.masker import MASK

HINT = "secret-looking literal: publish it as ${VAR}"
_NOTE = f"  # {HINT}"
#: What is shown of a text that cannot be read (so cannot be masked): nothing of it.
UNREADABLE = "# not shown: this text cannot be read as YAML, so its secrets cannot be masked\n"

_MASKED: LRU[str, str] = LRU(256)  # sha256 of a descriptor -> its masked text


def flagged(spec: dict[str, Any]) -> list[Literal]:
    """The literals of ``spec`` the detector flags."""
    return [lit for lit in literals(spec) if detector.scan(lit.value, lit.key)]


def mask_in_place(found: list[Literal]) -> None:
    """Replace each literal's value by MASK in the string holding it (several in one
    string: right to left, so the spans stay true)."""
    by_string: dict[tuple[int, Any], list[Literal]] = defaultdict(list)
    for lit in found:
        by_string[(id(lit.holder), lit.slot)].append(lit)
    for group in by_string.values():
        holder, slot = group[0].holder, group[0].slot
        text = str(holder[slot])
        for lit in sorted(group, key=lambda x: x.start, reverse=True):
            text = text[: lit.start] + MASK + text[lit.end :]
        holder[slot] = text


def masked(text: str) -> str:
    """``text`` (a stored descriptor) with every secret-looking literal masked; the text
    itself when there is none; UNREADABLE when it cannot be read as YAML."""
    key = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    cached = _MASKED.get(key)
    if cached is not None:
        return cached
    return _MASKED.put(key, _mask(text))


def _mask(text: str) -> str:
    try:
        doc = yamlio.load(text, limits=yamlio.STORED)
    except InvalidFragment:  # never for a descriptor the registry wrote; shown as nothing
        return UNREADABLE
    if not isinstance(doc, dict):
        return text
    found = flagged(doc)
    if not found:
        return text
    mask_in_place(found)
    return "\n".join(
        line + _NOTE if MASK in line else line for line in yamlio.dump(doc).split("\n")
    )
