"""The descriptor as highlighted HTML (Pygments' YAML lexer, CSS classes styled by
static/site.css).

Lexing a 50-service descriptor costs tens of milliseconds, and two versions of a release
share all but the services that changed. So the text is cut into blocks, one per top-level
key and per key indented by two spaces (a service, a volume, a network), and each block's
highlighted lines are cached by the block's text: a version next to one already shown costs
the lexing of its changed services only (a block scalar under a top-level key, whose text
is indented by two spaces, stays in one block).
"""

from __future__ import annotations

import re
from functools import lru_cache

from markupsafe import Markup
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import YamlLexer

_LEXER = YamlLexer(stripnl=False)  # keep blank lines: the line numbers must match
_FORMATTER = HtmlFormatter(nowrap=True)  # spans only: every line's spans are closed on it


_NOT_A_KEY = ("", " ", "\t", "\n", "\r", "#", "-")
_BLOCK_SCALAR = re.compile(r"[|>][-+0-9]*\s*(#.*)?$")


def blocks(text: str) -> list[str]:
    """``text`` cut before every top-level key and every key indented by two spaces (but
    not inside a top-level block scalar, ``x-note: |``, whose text is indented by two)."""
    found: list[str] = []
    current: list[str] = []
    in_scalar = False
    for line in text.splitlines(keepends=True):
        top = line[:1] not in _NOT_A_KEY
        second = line.startswith("  ") and line[2:3] not in _NOT_A_KEY and not in_scalar
        if current and (top or second):
            found.append("".join(current))
            current = []
        if top:
            in_scalar = bool(_BLOCK_SCALAR.search(line))
        current.append(line)
    if current:
        found.append("".join(current))
    return found


@lru_cache(maxsize=8192)
def block_lines(block: str) -> tuple[str, ...]:
    """One block's lines as HTML; Pygments escapes every character of the text."""
    lines = highlight(block, _LEXER, _FORMATTER).split("\n")
    count = len(block.splitlines())
    return tuple(lines[:count]) + ("",) * (count - len(lines[:count]))


@lru_cache(maxsize=256)
def yaml_html(text: str) -> Markup:
    lines = [line for block in blocks(text) for line in block_lines(block)]
    body = "".join(
        f'<span class="linenos">{number}</span>{line}\n' for number, line in enumerate(lines, 1)
    )
    return Markup(f'<div class="highlight"><pre><code>{body}</code></pre></div>')
