"""The descriptor highlighter: lexing block by block (so versions that share services share
the work) gives exactly what lexing the whole text gives, on real-world Compose files."""

from __future__ import annotations

import hashlib
import html
import re
from pathlib import Path

import pytest
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import YamlLexer

from consign.compose.errors import ComposeError
from registry.assembly import Component, assemble, parse_fragment
from registry.errors import RegistryError
from registry.http.views.ui.highlight import blocks, yaml_html
from tests.conftest import CORPUS

LINENOS = re.compile(r'<span class="linenos">\d+</span>')


def plain(html: str) -> str:
    inner = html.removeprefix('<div class="highlight"><pre><code>')
    return LINENOS.sub("", inner.removesuffix("</code></pre></div>"))


def corpus_files() -> list[Path]:
    return sorted(p for p in CORPUS.rglob("*") if p.suffix in (".yml", ".yaml"))[:400]


def test_blocks_are_services_and_top_level_keys() -> None:
    text = (
        "services:\n  web:\n    image: x\n  db:\n    image: y\n"
        "x-note: |\n  a: b\nvolumes:\n  v: {}\n"
    )
    assert blocks(text) == [
        "services:\n",
        "  web:\n    image: x\n",
        "  db:\n    image: y\n",
        "x-note: |\n  a: b\n",
        "volumes:\n",
        "  v: {}\n",
    ]
    assert "".join(blocks(text)) == text


def test_the_text_is_exact_on_the_corpus() -> None:
    """Whatever the YAML (one-space indents, block scalars, blank lines), the highlighted
    page shows every character and every line number of the text."""
    files = corpus_files()
    if not files:
        pytest.skip(f"no corpus under {CORPUS}")
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        text += "" if text.endswith("\n") else "\n"
        shown = html.unescape(re.sub(r"<[^>]+>", "", plain(str(yaml_html(text)))))
        assert shown == text, path
        assert str(yaml_html(text)).count('class="linenos"') == len(text.splitlines())


def test_same_as_lexing_the_whole_descriptor() -> None:
    """On descriptors as the registry writes them (assembled from the corpus), block by
    block is exactly what lexing the whole text gives."""
    formatter = HtmlFormatter(nowrap=True)
    checked = 0
    for path in corpus_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        try:
            spec, _ = parse_fragment(text)
        except (ComposeError, RegistryError):  # a file Compose refuses, or one that conflicts
            continue
        component = Component(path.stem, text, spec, {}, hashlib.sha256(text.encode()).hexdigest())
        descriptor = assemble([component]).descriptor
        whole = highlight(descriptor, YamlLexer(stripnl=False), formatter)
        assert plain(str(yaml_html(descriptor))) == whole, path
        checked += 1
    if not checked:
        pytest.skip(f"no readable corpus file under {CORPUS}")
