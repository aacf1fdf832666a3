"""Reading the UI's HTML as a browser does (html5lib, strict: a parse error fails) and
checking what every page must have: a title, headings, header cells in every table."""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element

import html5lib

NS = "{http://www.w3.org/1999/xhtml}"


class Page:
    def __init__(self, data: bytes) -> None:
        parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=True)
        self.root: Element = parser.parse(data)

    def all(self, tag: str) -> list[Element]:
        return list(self.root.iter(NS + tag))

    @staticmethod
    def text(element: Element) -> str:
        return "".join(element.itertext())

    def words(self) -> str:
        """The page's text with every run of white space as one space."""
        return " ".join(self.text(self.root).split())

    @property
    def title(self) -> str:
        return self.text(self.all("title")[0])

    @property
    def h1(self) -> str:
        return self.text(self.all("h1")[0]).strip()

    def links(self) -> list[str]:
        return [a.get("href", "") for a in self.all("a")]

    def by_class(self, tag: str, name: str) -> list[Element]:
        return [e for e in self.all(tag) if name in (e.get("class") or "").split()]

    def rows(self, table_class: str) -> list[list[str]]:
        """The body rows of every table of that class, in page order."""
        tables = self.by_class("table", table_class)
        body = [r for t in tables for tb in t.iter(NS + "tbody") for r in tb.iter(NS + "tr")]
        return [[self.cell(c) for c in r if c.tag in (NS + "td", NS + "th")] for r in body]

    def cell(self, element: Element) -> str:
        """A cell's text, white space squeezed; a diff line's (class ``t``) kept as is."""
        if "t" in (element.get("class") or "").split():
            return self.text(element)
        return " ".join(self.text(element).split())


def check_page(data: bytes) -> Page:
    """Parses strictly; one title, exactly one h1; every table has a thead of header cells
    (or a header cell in each row)."""
    page = Page(data)
    assert len(page.all("title")) == 1 and page.title.endswith("· Consignment")
    assert len(page.all("h1")) == 1 and page.h1
    assert page.root.get("lang") == "en"
    for table in page.all("table"):
        heads: list[Any] = list(table.iter(NS + "th"))
        assert heads, "a table without header cells"
        assert list(table.iter(NS + "thead")), "a table without a header row"
    return page
