"""Safe, bounded YAML loading and deterministic dumping of Compose documents.

Loading follows what Compose (go-yaml v3) reads, not PyYAML's YAML 1.1 defaults: only
``true``/``false`` are booleans, ``80:80`` is a string (not sexagesimal), timestamps stay
strings, ``0o17``/``017``/``0x1F``/``1_000`` are integers. Refused with InvalidFragment:
syntax errors and duplicate keys (with line and column), tags other than the YAML core ones
and Compose's ``!reset``/``!override``, several documents, documents over ``max_bytes``,
nesting deeper than ``max_depth`` (refused while composing, far below Python's recursion
limit), and alias expansions over ``max_nodes`` nodes ("billion laughs") or over
``max_expanded_bytes`` bytes (one long string repeated through aliases). Both expansions
are measured on the composed node graph before anything is constructed, so a bomb costs
time linear in its text and no memory: the expanded size is the UTF-8 bytes of every
scalar plus one byte per node, counted as if every alias were written out.

``!reset`` and ``!override`` load as :class:`Reset` / :class:`Override` wrappers and dump
back as the same tags: the descriptor keeps them and Compose applies them when it resolves
``extends``. Code that reads a value's meaning uses :func:`plain` (``!reset`` = absent,
``!override`` = the value itself).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from consign.cache import LRU
from consign.compose.errors import InvalidFragment

MAX_BYTES = 1024 * 1024
MAX_NODES = 200_000
#: Nesting of mappings and sequences. Real Compose files stay under 10 levels; each level
#: costs a few Python frames while composing, constructing and dumping.
MAX_DEPTH = 64
#: The size of a fragment with its aliases expanded (the largest real-world Compose files
#: are ~50 KB).
MAX_EXPANDED_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What one document may cost; ``None`` means unbounded."""

    max_bytes: int | None = MAX_BYTES
    max_nodes: int = MAX_NODES
    max_depth: int = MAX_DEPTH
    max_expanded_bytes: int | None = MAX_EXPANDED_BYTES


#: For documents the registry stored itself (accepted under the limits of their time):
#: they must stay readable, so only the bounds that protect the process itself apply.
STORED = Limits(max_bytes=None, max_nodes=10_000_000, max_depth=400, max_expanded_bytes=None)


@dataclass(frozen=True)
class Reset:
    """A value tagged ``!reset``: in a single document it means "absent"."""

    value: Any = None


@dataclass(frozen=True)
class Override:
    """A value tagged ``!override``: in a single document it means the value itself."""

    value: Any


def plain(value: Any) -> Any:
    """The meaning of a possibly tagged value: None for ``!reset``, the value for ``!override``."""
    if isinstance(value, Reset):
        return None
    if isinstance(value, Override):
        return value.value
    return value


def _where(node: Node) -> tuple[str, dict[str, int]]:
    line, column = node.start_mark.line + 1, node.start_mark.column + 1
    return f"line {line}, column {column}", {"line": line, "column": column}


class _Loader(yaml.SafeLoader):
    """SafeLoader with go-yaml v3's implicit types, Compose's tags and duplicate-key checks."""

    yaml_implicit_resolvers: dict[Any, Any] = {}  # replaces YAML 1.1's implicit types
    max_depth = MAX_DEPTH
    _depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        """Compose with a depth bound: PyYAML's composer recurses once per nesting level."""
        self._depth += 1
        try:
            if self._depth > self.max_depth:
                mark = self.peek_event().start_mark
                line, column = mark.line + 1, mark.column + 1
                raise InvalidFragment(
                    f"YAML nested more than {self.max_depth} levels deep at line {line}, "
                    f"column {column}",
                    details={"line": line, "column": column, "max_depth": self.max_depth},
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_int(self, node: ScalarNode) -> int:
        text = str(self.construct_scalar(node)).replace("_", "")
        sign = -1 if text.startswith("-") else 1
        text = text.lstrip("+-")
        if text.startswith("0o"):
            return sign * int(text[2:], 8)
        if len(text) > 1 and text.startswith("0") and text[1] not in "bx":
            return sign * int(text, 8)
        return sign * int(text, 0)

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:
                where, details = _where(key_node)
                raise InvalidFragment(
                    f"unhashable mapping key at {where}", details=details
                ) from None
            if first is not None:
                where, details = _where(key_node)
                raise InvalidFragment(
                    f"duplicate key {key!r} at {where} (first defined at line "
                    f"{first.start_mark.line + 1})",
                    details=details,
                )
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)

    def construct_reset(self, node: Node) -> Reset:
        return Reset(self._untagged(node))

    def construct_override(self, node: Node) -> Override:
        return Override(self._untagged(node))

    def _untagged(self, node: Node) -> Any:
        if isinstance(node, MappingNode):
            return self.construct_mapping(node, deep=True)
        if isinstance(node, SequenceNode):
            return self.construct_sequence(node, deep=True)
        text = self.construct_scalar(node) if isinstance(node, ScalarNode) else ""
        return None if text == "" else text

    def construct_refused(self, node: Node) -> Any:
        where, details = _where(node)
        raise InvalidFragment(
            f"YAML tag {node.tag!r} at {where} is not allowed (unsafe or unknown)",
            details={**details, "tag": node.tag},
        )


for _tag, _pattern, _first in (
    ("bool", r"true|True|TRUE|false|False|FALSE", "tTfF"),
    (
        "int",
        r"[-+]?0b[0-1_]+|[-+]?0o[0-7_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+",
        "-+0123456789",
    ),
    (
        "float",
        r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)"
        r"|\.(?:nan|NaN|NAN)",
        "-+0123456789.",
    ),
    ("merge", r"<<", "<"),
):
    _Loader.add_implicit_resolver(
        f"tag:yaml.org,2002:{_tag}", re.compile(f"^(?:{_pattern})$"), list(_first)
    )
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)
_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_int)
_Loader.add_constructor("!reset", _Loader.construct_reset)
_Loader.add_constructor("!override", _Loader.construct_override)
for _tag in ("timestamp", "binary", "set", "omap", "pairs"):
    _Loader.add_constructor(f"tag:yaml.org,2002:{_tag}", _Loader.construct_refused)
_Loader.add_constructor(None, _Loader.construct_refused)


def _check_size(root: Node, max_nodes: int, max_expanded: int | None) -> None:
    """Measure the document as if every alias were expanded: nodes, and bytes (the UTF-8
    bytes of every scalar plus one per node); refuse beyond the limits or on a cycle."""
    sizes: dict[int, tuple[int, int]] = {}
    active: set[int] = set()

    def size(node: Node) -> tuple[int, int]:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            where, details = _where(node)
            raise InvalidFragment(f"recursive alias at {where}", details=details)
        active.add(key)
        nodes, size_bytes = 1, 1
        if isinstance(node, SequenceNode):
            children: list[Node] = list(node.value)
        elif isinstance(node, MappingNode):
            children = [n for pair in node.value for n in pair]
        else:
            children = []
            size_bytes += len(str(node.value).encode("utf-8", "surrogatepass"))
        for child in children:
            child_nodes, child_bytes = size(child)
            nodes += child_nodes
            size_bytes += child_bytes
            if nodes > max_nodes:
                raise InvalidFragment(
                    f"document expands to more than {max_nodes} YAML nodes (alias bomb?)",
                    details={"max_nodes": max_nodes},
                )
            if max_expanded is not None and size_bytes > max_expanded:
                raise _too_big(max_expanded)
        active.discard(key)
        sizes[key] = (nodes, size_bytes)
        return sizes[key]

    total = size(root)[1]
    if max_expanded is not None and total > max_expanded:  # a single huge scalar
        raise _too_big(max_expanded)


def _too_big(max_expanded: int) -> InvalidFragment:
    return InvalidFragment(
        f"the fragment is more than {max_expanded} bytes once its YAML aliases are expanded; "
        "the limit is CONSIGN_MAX_FRAGMENT_BYTES",
        details={"max_expanded_bytes": max_expanded},
    )


def load(
    text: str,
    *,
    max_bytes: int | None = MAX_BYTES,
    max_nodes: int = MAX_NODES,
    limits: Limits | None = None,
) -> Any:
    """Parse one YAML document safely; see the module docstring for what is refused.

    ``limits`` (default :class:`Limits` with ``max_bytes`` and ``max_nodes``) bounds it."""
    if limits is None:
        limits = Limits(max_bytes=max_bytes, max_nodes=max_nodes)
    max_bytes = limits.max_bytes
    size = len(text.encode("utf-8", "surrogatepass"))
    if max_bytes is not None and size > max_bytes:
        raise InvalidFragment(
            f"fragment is {size} bytes, more than the limit of {max_bytes}",
            details={"max_bytes": max_bytes},
        )
    loader: _Loader | None = None
    try:
        loader = _Loader(text.removeprefix("\ufeff"))
        loader.max_depth = limits.max_depth
        node = loader.get_single_node()
        if node is None:
            return None
        _check_size(node, limits.max_nodes, limits.max_expanded_bytes)
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        problem = e.problem or e.context or "invalid YAML"
        if mark is None:
            raise InvalidFragment(f"YAML error: {problem}") from e
        line, column = mark.line + 1, mark.column + 1
        raise InvalidFragment(
            f"YAML syntax error at line {line}, column {column}: {problem}",
            details={"line": line, "column": column},
        ) from e
    except yaml.reader.ReaderError as e:
        raise InvalidFragment(
            f"character U+{e.character:04X} at offset {e.position} is not allowed in YAML",
            details={"offset": e.position},
        ) from e
    except yaml.YAMLError as e:
        raise InvalidFragment(f"YAML error: {e}") from e
    except RecursionError as e:
        raise InvalidFragment("YAML document is nested too deeply") from e
    finally:
        if loader is not None:
            loader.dispose()


def _represent_tagged(tag: str) -> Any:
    def represent(dumper: Any, data: Reset | Override) -> Node:
        value = data.value
        if isinstance(value, dict):
            return dumper.represent_mapping(tag, value)
        if isinstance(value, list):
            return dumper.represent_sequence(tag, value)
        text = "" if value is None else dumper.represent_data(value).value
        return ScalarNode(tag, text, style="'")

    return represent


def make_dumper(base: type[Any]) -> type[Any]:
    """Block style, no anchors; quotes any string either YAML 1.1 or go-yaml could misread.

    With libyaml the C emitter is used (8x faster); tagged scalars are always single-quoted
    so that it writes the same bytes as the pure-Python emitter (a test checks that).
    """

    class Dumper(base):
        def ignore_aliases(self, data: Any) -> bool:
            return True

    Dumper.add_implicit_resolver(
        "tag:yaml.org,2002:int", re.compile(r"^[-+]?0o[0-7_]+$"), list("-+0")
    )
    Dumper.add_representer(Reset, _represent_tagged("!reset"))
    Dumper.add_representer(Override, _represent_tagged("!override"))
    return Dumper


_Dumper = make_dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper))


def dump(data: Any, *, dumper: type[Any] | None = None) -> str:
    """Deterministic block-style YAML: key order kept, unicode kept, no anchors or aliases.

    A mapping of mappings (a Compose document) is dumped entry by entry, and each second-level
    entry's text is remembered while that very value object is alive in the cache: the
    registry assembles every version from the same parsed service mappings, so a publish
    only emits the services that changed. Block style makes this byte-identical to dumping
    the whole document at once (a test checks it on the corpus).
    """
    if dumper is not None or not isinstance(data, dict):
        return _dump(data, dumper or _Dumper)
    parts: list[str] = []
    for key, section in data.items():
        if not isinstance(section, dict) or not section or not _ONE_LINE_KEY.match(str(key)):
            parts.append(_dump({key: section}, _Dumper))
            continue
        for i, (name, value) in enumerate(section.items()):
            text = _entry_text(key, name, value)
            parts.append(text if i == 0 else text.split("\n", 1)[1])
    return "".join(parts)


_ONE_LINE_KEY = re.compile(r"^[A-Za-z][\w.-]{0,63}\Z")  # always emitted as a one-line `key:`
ENTRY_CACHE_SIZE = 4096
_ENTRIES: LRU[tuple[str, Any, int], tuple[Any, str]] = LRU(ENTRY_CACHE_SIZE)


def _entry_text(key: str, name: Any, value: Any) -> str:
    """``key:\n  name: ...`` for one entry, reused while ``value`` is the same object.

    The cache holds a reference to ``value``, so its ``id`` cannot be reused by another
    object while the entry exists (and ``is`` is checked anyway); values are parsed
    documents that are never mutated.
    """
    cache_key = (key, name, id(value))
    found = _ENTRIES.get(cache_key)
    if found is not None and found[0] is value:
        return found[1]
    text = _dump({key: {name: value}}, _Dumper)
    _ENTRIES.put(cache_key, (value, text))
    return text


def _dump(data: Any, dumper: type[Any]) -> str:
    text: str = yaml.dump(
        data,
        Dumper=dumper,
        default_flow_style=False,
        sort_keys=False,
        allow_unicode=True,
        width=1_000_000,
        indent=2,
    )
    return text
