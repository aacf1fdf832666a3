"""Every literal value of a Compose spec that may carry a secret, with where it is.

The places (docs/secrets.md): per service ``environment`` and ``labels`` (mapping or list
form ``KEY=VALUE``), ``command`` and ``entrypoint`` (a string, split into words, or a list),
``healthcheck.test``, ``build.args`` (both forms). A word ``--flag=value`` is the value of
``--flag``; a word after a ``--flag`` word is that flag's value; a list item holding a shell
line (``CMD-SHELL``, ``sh -c``) is read word by word too. Paths read
``web.environment.MYSQL_ROOT_PASSWORD``, ``api.command[3]`` (the list's index, or the word's
index in a string command).

A :class:`Literal` knows the string that holds it and its span there, so the value (only
the value: never the key) can be masked in place (:mod:`consign.secrets.masking`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from consign.compose import yamlio

_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Literal:
    path: str
    key: str | None  # the name it is given: variable, label, --flag (None: a bare word)
    value: str
    holder: Any  # the dict or list holding the string (for masking in place)
    slot: Any  # its key or index there
    start: int  # the value's span in that string
    end: int


def _plain(value: Any) -> Any:
    """A !reset/!override wrapper's value, else the value."""
    return yamlio.plain(value)


def _scalar(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    return str(value) if isinstance(value, (str, int, float)) else None


def _pairs(where: str, items: Any) -> Iterator[Literal]:
    """A mapping ``{KEY: VALUE}`` or a list ``["KEY=VALUE", ...]``."""
    items = _plain(items)
    if isinstance(items, dict):
        for key, value in items.items():
            text = _scalar(_plain(value))
            if text is not None and isinstance(value, (str, int, float)):
                yield Literal(f"{where}.{key}", str(key), text, items, key, 0, len(text))
    elif isinstance(items, list):
        for index, entry in enumerate(items):
            if isinstance(entry, str) and "=" in entry:
                key, _, value = entry.partition("=")
                start = len(key) + 1
                yield Literal(f"{where}.{key}", key, value, items, index, start, len(entry))


def _flag(word: str) -> str | None:
    return word if word.startswith("-") and len(word) > 1 and "=" not in word else None


def _command(where: str, container: Any, field: str) -> Iterator[Literal]:
    """A command (``container[field]``): each word; ``--flag=value`` and ``--flag value``
    read as a value named ``--flag``."""
    value = _plain(container[field])
    # word, its index in the path, holder, slot, offset in holder[slot]
    words: list[tuple[str, int, Any, Any, int]]
    if isinstance(value, str):
        found = _WORD.finditer(value)
        words = [(m.group(), i, container, field, m.start()) for i, m in enumerate(found)]
    elif isinstance(value, list):  # an item may itself be a shell line (CMD-SHELL, sh -c)
        words = [
            (m.group(), i, value, i, m.start())
            for i, item in enumerate(value)
            if isinstance(item, str)
            for m in _WORD.finditer(item)
        ]
    else:
        return
    previous: str | None = None
    for word, index, holder, slot, offset in words:
        path, end = f"{where}[{index}]", offset + len(word)
        if word.startswith("-") and "=" in word:
            key, _, rest = word.partition("=")
            yield Literal(path, key, rest, holder, slot, offset + len(key) + 1, end)
        else:
            yield Literal(path, previous, word, holder, slot, offset, end)
        previous = _flag(word)


def literals(spec: Mapping[str, Any]) -> Iterator[Literal]:
    """Every literal of every service of ``spec`` in the places above, in order."""
    services = _plain(spec.get("services"))
    if not isinstance(services, dict):
        return
    for name, body in services.items():
        body = _plain(body)
        if not isinstance(body, dict):
            continue
        for field in ("environment", "labels"):
            if field in body:
                yield from _pairs(f"{name}.{field}", body[field])
        build = _plain(body.get("build"))
        if isinstance(build, dict) and "args" in build:
            yield from _pairs(f"{name}.build.args", build["args"])
        for field in ("command", "entrypoint"):
            if field in body:
                yield from _command(f"{name}.{field}", body, field)
        health = _plain(body.get("healthcheck"))
        if isinstance(health, dict) and "test" in health:
            yield from _command(f"{name}.healthcheck.test", health, "test")
