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
import os
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
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

#: A literal's place in a descriptor: its path and, for a path met twice (a list
#: ``environment`` naming a variable twice), which occurrence it is.
Slot = tuple[str, int]

#: Digests of values stay in this process only: keyed by a random key, never the bare hash
#: of a (short, guessable) secret.
_DIGEST_KEY = os.urandom(32)


@dataclass(frozen=True)
class Shown:
    """A descriptor as people may see it (``text``) and what comparing it needs, never a
    value: each literal's keyed digest by slot, and the slots shown as MASK."""

    text: str
    digests: Mapping[Slot, bytes]
    masked: frozenset[Slot]


_SHOWN: LRU[str, Shown] = LRU(256)  # sha256 of a descriptor -> Shown
_MARKED: LRU[str, str] = LRU(64)  # sha256 of a descriptor and its marks -> marked text


def slots(found: Iterable[Literal]) -> Iterator[tuple[Slot, Literal]]:
    """Each literal with its slot (its path and how many times the path came before)."""
    seen: dict[str, int] = defaultdict(int)
    for lit in found:
        yield (lit.path, seen[lit.path]), lit
        seen[lit.path] += 1


def digest(value: str) -> bytes:
    return hashlib.blake2b(value.encode("utf-8", "surrogatepass"), key=_DIGEST_KEY).digest()


def mask_in_place(found: list[Literal], marks: Mapping[int, str] | None = None) -> None:
    """Replace each literal's value by MASK in the string holding it (several in one
    string: right to left, so the spans stay true). ``marks``: text added after the mask of
    a literal, by ``id`` of the literal (``(changed)`` in a diff)."""
    by_string: dict[tuple[int, Any], list[Literal]] = defaultdict(list)
    for lit in found:
        by_string[(id(lit.holder), lit.slot)].append(lit)
    for group in by_string.values():
        holder, slot = group[0].holder, group[0].slot
        text = str(holder[slot])
        for lit in sorted(group, key=lambda x: x.start, reverse=True):
            mark = (marks or {}).get(id(lit))
            shown = f"{MASK} {mark}" if mark else MASK
            text = text[: lit.start] + shown + text[lit.end :]
        holder[slot] = text


def masked(text: str) -> str:
    """``text`` (a stored descriptor) with every secret-looking literal masked; the text
    itself when there is none; UNREADABLE when it cannot be read as YAML."""
    return shown(text).text


def shown(text: str) -> Shown:
    """:func:`masked`'s text with what a comparison needs (cached by the text's sha256)."""
    key = _sha256(text)
    cached = _SHOWN.get(key)
    if cached is not None:
        return cached
    return _SHOWN.put(key, _show(text))


def marked(text: str, marks: Mapping[Slot, str]) -> str:
    """:func:`masked`'s text with ``marks[slot]`` written after the mask of each slot it
    names (a slot that is not masked gets no mark: its value is shown anyway). Cached: a
    diff page asked again does not read and write the descriptor again (~45 ms of CPU for 50
    services)."""
    key = _sha256(text) + repr(sorted(marks.items()))
    cached = _MARKED.get(key)
    if cached is not None:
        return cached
    hidden = shown(text).masked  # the detector's answers, not asked again
    doc = _load(text)
    if doc is None or not hidden:
        return _MARKED.put(key, masked(text))
    every = [(slot, lit) for slot, lit in slots(literals(doc)) if slot in hidden]
    by_literal = {id(lit): marks[slot] for slot, lit in every if slot in marks}
    return _MARKED.put(key, _dumped(doc, [lit for _, lit in every], by_literal))


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _load(text: str) -> dict[str, Any] | None:
    """The descriptor as a mapping; None when it is none or cannot be read."""
    try:
        doc = yamlio.load(text, limits=yamlio.STORED)
    except InvalidFragment:
        return None
    return doc if isinstance(doc, dict) else None


def _dumped(doc: dict[str, Any], found: list[Literal], marks: Mapping[int, str]) -> str:
    mask_in_place(found, marks)
    return "\n".join(
        line + _NOTE if MASK in line else line for line in yamlio.dump(doc).split("\n")
    )


def _show(text: str) -> Shown:
    try:
        doc = yamlio.load(text, limits=yamlio.STORED)
    except InvalidFragment:  # never for a descriptor the registry wrote; shown as nothing
        return Shown(UNREADABLE, {}, frozenset())
    if not isinstance(doc, dict):
        return Shown(text, {}, frozenset())
    every = list(slots(literals(doc)))
    digests = {slot: digest(lit.value) for slot, lit in every}
    found = [lit for _, lit in every if detector.scan(lit.value, lit.key)]
    if not found:
        return Shown(text, digests, frozenset())
    ids = {id(lit) for lit in found}
    hidden = frozenset(slot for slot, lit in every if id(lit) in ids)
    return Shown(_dumped(doc, found, {}), digests, hidden)
