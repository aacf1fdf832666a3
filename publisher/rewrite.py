"""Change scalar values of a Compose file's text in place, keeping everything else.

The fragment the registry stores is the file as CI wrote it, comments and layout included;
``--interpolate`` and ``--pin-images`` must change only the values they resolve. The text is
composed (not loaded) with PyYAML, which gives every scalar node its start and end offsets;
a changed value replaces exactly that span. Mapping keys are never touched (Compose does
not interpolate keys).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

_PREFIX = re.compile(r"^(?:[&!]\S*\s+)+")  # an anchor or tag before the scalar itself


class RewriteError(ValueError):
    """The file cannot be read as YAML (the registry would say more; here: where)."""


def compose(text: str) -> Node | None:
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        raise RewriteError(f"not valid YAML: {e}") from e


def value_scalars(root: Node | None) -> Iterator[ScalarNode]:
    """Every scalar that is a value (not a key), each once (aliases share nodes)."""
    seen: set[int] = set()
    stack = [root] if root is not None else []
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, ScalarNode):
            yield node
        elif isinstance(node, MappingNode):
            stack.extend(value for _, value in reversed(node.value))
        elif isinstance(node, SequenceNode):
            stack.extend(reversed(node.value))


def service_images(root: Node | None) -> Iterator[tuple[str, ScalarNode]]:
    """(service, its ``image`` scalar) for the spec format and legacy v1 (services at the root)."""
    if not isinstance(root, MappingNode):
        return
    services: Node = root
    for key, value in root.value:
        if isinstance(key, ScalarNode) and key.value == "services":
            services = value
    if not isinstance(services, MappingNode):
        return
    for key, body in services.value:
        if not isinstance(key, ScalarNode) or key.value.startswith("x-") or key.value == "version":
            continue
        if isinstance(body, MappingNode):
            for field, value in body.value:
                image = isinstance(field, ScalarNode) and field.value == "image"
                if image and isinstance(value, ScalarNode):
                    yield key.value, value


def render(value: str, plain_before: bool) -> str:
    """``value`` as YAML scalar text: plain when it was plain and reads back the same (or as
    the number it spells), else double-quoted (JSON's escapes are YAML's)."""
    if plain_before and value and "\n" not in value:
        try:
            back = yaml.safe_load(value)
        except yaml.YAMLError:
            back = None
        if back == value or (type(back) in (int, float) and str(back) == value):
            return value
    return json.dumps(value, ensure_ascii=False)


def replace(text: str, changes: dict[ScalarNode, str]) -> str:
    """``text`` with each node's scalar replaced by its new value (spans do not overlap)."""
    out, last = [], 0
    for node in sorted(changes, key=lambda n: n.start_mark.index):
        start, end = node.start_mark.index, node.end_mark.index
        span = text[start:end]
        prefix = _PREFIX.match(span)
        if prefix:
            start += prefix.end()
            span = span[prefix.end() :]
        body = span.rstrip("\n")
        trailing = span[len(body) :]
        out.append(text[last:start] + render(changes[node], node.style is None) + trailing)
        last = end
    out.append(text[last:])
    return "".join(out)


def rewrite_values(text: str, change: Callable[[str], str]) -> str:
    """Apply ``change`` to every string value; only the values it changes are rewritten."""
    changes: dict[ScalarNode, str] = {}
    for node in value_scalars(compose(text)):
        if node.tag != "tag:yaml.org,2002:str" and node.style is not None:
            continue  # an explicitly tagged, quoted scalar: leave it
        new = change(node.value)
        if new != node.value:
            changes[node] = new
    return replace(text, changes) if changes else text
