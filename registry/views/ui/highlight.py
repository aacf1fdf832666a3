"""The descriptor as highlighted HTML (Pygments' YAML lexer, CSS classes styled by
static/site.css). Versions never change, so the result is cached by the text itself."""

from __future__ import annotations

from functools import lru_cache

from markupsafe import Markup
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import YamlLexer

_LEXER = YamlLexer()
_FORMATTER = HtmlFormatter(linenos="inline", cssclass="highlight", wrapcode=True)


@lru_cache(maxsize=256)
def yaml_html(text: str) -> Markup:
    """Pygments escapes every character of the text; the markup around it is its own."""
    return Markup(highlight(text, _LEXER, _FORMATTER))
