"""The entry-by-entry cached YAML dump writes exactly the bytes of a whole-document dump."""

from __future__ import annotations

import json
from typing import Any

import pytest

from consign.compose import yamlio
from consign.compose.errors import InvalidFragment
from registry.assembly import Component, assemble, parse_fragment
from registry.store import ComponentInfo, manifest
from tests.conftest import CORPUS


def whole(data: Any) -> str:
    """The reference: PyYAML dumping the document in one go with the registry's dumper."""
    return yamlio._dump(data, yamlio._Dumper)


def corpus_documents() -> list[tuple[str, Any]]:
    found = []
    for path in sorted(CORPUS.rglob("*.y*ml")):
        try:
            found.append((str(path.relative_to(CORPUS)), yamlio.load(path.read_text("utf-8"))))
        except (InvalidFragment, UnicodeError):
            continue
    return found


def test_corpus_documents_dump_identically() -> None:
    if not CORPUS.exists():
        pytest.skip(f"corpus not found at {CORPUS}")
    documents = corpus_documents()
    assert len(documents) > 100
    for name, data in documents:
        assert yamlio.dump(data) == whole(data), name
        assert yamlio.dump(data) == whole(data), f"{name} (from the cache)"


def test_tricky_documents_dump_identically() -> None:
    long_key = "x-" + "k" * 200  # emitted as a `? key` complex key: not split per entry
    documents: list[Any] = [
        {"services": {}},
        {"services": {"a": {"image": "x"}}, "volumes": {}, "x-top": [1, 2], "x-s": "yes"},
        {"services": {"yes": {"command": "on"}, "1": {"image": "a:1"}, "é": {"x": "ü\n"}}},
        {"services": {"a": {"environment": {"A": "multi\nline\n", "B": None, "C": True}}}},
        {"services": {"a": {"labels": yamlio.Reset(None)}, "b": yamlio.Override({"p": 1})}},
        {long_key: {"a": 1, "b": {"c": 2}}, "networks": {"n": None, "m": {"driver": "x"}}},
        {"services": {"s" * 150: {"image": "long-name"}, "t": {"image": "u"}}},
    ]
    for data in documents:
        assert yamlio.dump(data) == whole(data), data
        assert yamlio.dump(data) == whole(data), data


def test_a_changed_value_object_is_dumped_again() -> None:
    first = {"services": {"web": {"image": "a"}}}
    assert yamlio.dump(first) == "services:\n  web:\n    image: a\n"
    second = {"services": {"web": {"image": "b"}}}  # same names, another value object
    assert yamlio.dump(second) == "services:\n  web:\n    image: b\n"


def test_assembled_descriptor_of_many_components_matches_a_whole_dump() -> None:
    components = []
    for i in range(30):
        text = f"svc{i}:\n  image: busybox\n  environment:\n    N: '{i}'\n"
        spec, _ = parse_fragment(text)
        components.append(Component(f"c{i}", text, spec, {}, str(i)))
    descriptor = assemble(components).descriptor
    services = {k: v for c in components for k, v in c.spec["services"].items()}
    assert descriptor == whole({"services": services})
    assert assemble(components).descriptor == descriptor  # second time from the cache


def entry(
    name: str, sha256: str, build: dict[str, Any], services: list[str], path: str
) -> dict[str, Any]:
    info = ComponentInfo(name, sha256, build, tuple(services), path)
    return manifest.component_record(info)


def test_manifest_dump_is_exactly_indented_sorted_json() -> None:
    manifests: list[dict[str, Any]] = [
        {},
        {"components": [], "warnings": [], "build": {}},
        {
            "format": 1,
            "application": "TLO GE",
            "release": "Milestone ✓",
            "version": 3,
            "created": "2026-01-01T00:00:00Z",
            "component": "web",
            "build": {"planKey": "P-J", "n": 1.5, "ok": True, "nested": {"z": [1, {"a": None}]}},
            "components": [
                entry(f"c{i}", "ab" * 32, {"buildNumber": i, "x": ["é", "\n"]}, ["s"], "f.yml")
                for i in range(5)
            ]
            + [entry("e", "cd" * 32, {}, [], "e.yml")],
            "warnings": ["service 'a' refers to 'b' (depends_on)"],
        },
    ]
    for m in manifests:
        reference = json.dumps(m, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
        assert manifest.dump(m) == reference.encode()
        assert manifest.dump(m) == reference.encode()  # cached entries
