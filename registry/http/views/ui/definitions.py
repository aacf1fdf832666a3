"""The service definitions a diff compares, read from the two descriptors rather than from
the versions' fragments.

A version's descriptor is dumped deterministically (``yamlio.dump``: key order kept, no
anchors) from the same normalized specs the fragments parse to, one block of text per
service. So two services whose blocks are the same text have equal definitions; blocks
whose lines differ other than by their order differ; only blocks with the same lines in
another order are parsed, with libyaml, to tell a real change from keys that merely moved.
Parsing every fragment of two versions through ``parse_fragment`` (schema checks included)
cost ~100 ms for two releases whose 50 components all differ; this costs about one.

Versions never change: each version's blocks are cached by commit, each parsed block by its
text. A descriptor this module cannot cut into service blocks (a service key it does not
recognise) is parsed whole.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from consign.cache import LRU

_BASE: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _DefinitionsLoader(_BASE):
    """libyaml's safe loader; ``!reset``/``!override`` (the only tags the dumper writes)
    and any other tag become ``(tag, value)`` so that they compare by what they hold."""


def _tagged(loader: Any, suffix: str, node: yaml.Node) -> tuple[str, Any]:
    if isinstance(node, yaml.MappingNode):
        value: Any = loader.construct_mapping(node, deep=True)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_scalar(node)
    return ("!" + suffix, value)


_DefinitionsLoader.add_multi_constructor("!", _tagged)

# A service's key line as yamlio.dump writes it (Compose service names are [a-zA-Z0-9._-]+;
# one that reads as another type, `'true'`, is single-quoted).
_SERVICE_KEY = re.compile(r"  ('?)([A-Za-z0-9._-]+)\1:\n?\Z")

#: commit -> (service -> its block of text, True) or (service -> definition, False)
_BLOCKS: LRU[str, tuple[dict[str, Any], bool]] = LRU(2048)
_PARSED: LRU[str, Any] = LRU(8192)  # a block's text -> the definition it holds


def blocks(text: str) -> dict[str, str] | None:
    """Service name -> the lines of its definition in the descriptor's ``services:``
    section; None when a line there is not what ``yamlio.dump`` writes."""
    lines = text.splitlines(keepends=True)
    try:
        start = lines.index("services:\n")
    except ValueError:
        return None
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in lines[start + 1 :]:
        if line[:1] not in (" ", "\n"):
            break  # the next top-level key
        if line.startswith("  ") and line[2:3] not in (" ", "\n", ""):
            key = _SERVICE_KEY.match(line)
            if key is None or key.group(2) in found:
                return None
            current = found[key.group(2)] = [line]
        elif current is None:
            return None
        else:
            current.append(line)
    return {name: "".join(block) for name, block in found.items()}


def _whole(text: str) -> dict[str, Any]:
    doc = yaml.load(text, Loader=_DefinitionsLoader)
    services = doc.get("services") if isinstance(doc, dict) else None
    return dict(services) if isinstance(services, dict) else {}


def _parsed(block: str) -> Any:
    found = _PARSED.get(block)
    if found is None:
        doc = yaml.load(block, Loader=_DefinitionsLoader)
        found = _PARSED.put(block, next(iter(doc.values())) if isinstance(doc, dict) else doc)
    return found


def _lines(block: str) -> Counter[str]:
    """A block's lines without their indentation and list markers, counted: the same for
    two blocks whose definitions differ only in the order of keys (moving a key moves its
    lines, and which key of a list item carries the ``-``), so where these differ the
    definitions do, and nothing needs parsing."""
    return Counter(line.lstrip(" -") for line in block.splitlines())


def _side(commit: str, text: str) -> tuple[dict[str, Any], bool]:
    """The version's services as blocks of text (True) or, when the descriptor cannot be
    cut, as parsed definitions (False)."""
    found = _BLOCKS.get(commit)
    if found is None:
        cut = blocks(text)
        found = _BLOCKS.put(commit, (cut, True) if cut is not None else (_whole(text), False))
    return found


def definitions(
    old: tuple[str, str], new: tuple[str, str], services: Sequence[str]
) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """``old``/``new``: (commit, descriptor text). For each of ``services``, something that
    compares equal on both sides exactly when the definitions are equal: the same text
    where the blocks are equal, the parsed definitions where not (None: absent)."""
    (a_side, a_text), (b_side, b_text) = _side(*old), _side(*new)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for name in services:
        a, b = a_side.get(name), b_side.get(name)
        if a_text and b_text and a == b:
            before[name] = after[name] = a
            continue
        if a_text and b_text and a is not None and b is not None and _lines(a) != _lines(b):
            before[name], after[name] = a, b  # unequal texts: unequal definitions
            continue
        before[name] = _parsed(a) if a_text and a is not None else a
        after[name] = _parsed(b) if b_text and b is not None else b
    return before, after
