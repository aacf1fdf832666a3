"""consign.compose.yamlio: safe bounded loading, Compose's tags, deterministic dumping."""

from __future__ import annotations

from typing import Any

import pytest

from consign.compose import yamlio
from consign.compose.errors import InvalidFragment
from consign.compose.yamlio import MAX_DEPTH, Limits, Override, Reset, dump, load, plain


def refused(text: str, **limits: Any) -> InvalidFragment:
    with pytest.raises(InvalidFragment) as info:
        load(text, **limits)
    return info.value


def test_mapping_key_order_is_kept() -> None:
    assert list(load("b: 1\na: 2\nc: 3\n")) == ["b", "a", "c"]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("80:80", "80:80"),  # YAML 1.1 would read sexagesimal 4880
        ("12:30", "12:30"),
        ("yes", "yes"),
        ("on", "on"),
        ("2001-12-14", "2001-12-14"),
        ("true", True),
        ("False", False),
        ("0o17", 15),
        ("017", 15),
        ("0x1F", 31),
        ("1_000", 1000),
        ("-3", -3),
        ("1.5", 1.5),
        ("~", None),
        ("", None),
        ("'true'", "true"),
    ],
)
def test_scalars_resolve_as_compose_reads_them(text: str, value: object) -> None:
    assert load(f"k: {text}\n") == {"k": value}


@pytest.mark.parametrize(
    "text",
    [
        "a: !!python/object:os.system x\n",
        "a: !!python/object/apply:os.system ['true']\n",
        "a: !!python/name:os.system\n",
        "a: !custom x\n",
        "a: !!binary aGk=\n",
        "a: !!set {x}\n",
    ],
)
def test_unsafe_and_unknown_tags_are_refused_naming_tag_and_place(text: str) -> None:
    error = refused(text)
    tag = error.details["tag"]
    assert tag.replace("tag:yaml.org,2002:", "!!") in text
    assert repr(tag) in error.message
    assert "line 1, column 4" in error.message
    assert (error.details["line"], error.details["column"]) == (1, 4)


def test_syntax_error_has_line_and_column() -> None:
    error = refused("services:\n  web:\n    image: [busybox\n  db: x\n")
    assert "line " in error.message and "column " in error.message
    assert error.details["line"] >= 3
    assert f"line {error.details['line']}, column {error.details['column']}" in error.message


def test_bad_indentation_is_a_syntax_error() -> None:
    error = refused("a:\n  b: 1\n c: 2\n")
    assert (error.details["line"], error.details["column"]) == (3, 2)


def test_duplicate_keys_are_refused() -> None:
    error = refused("services:\n  web:\n    image: a\n    image: b\n")
    assert "duplicate key 'image'" in error.message
    assert "first defined at line 3" in error.message
    assert (error.details["line"], error.details["column"]) == (4, 5)


def test_merge_keys_are_not_duplicates() -> None:
    doc = load("x: &x {a: 1, b: 2}\ny:\n  <<: *x\n  b: 3\n")
    assert doc["y"] == {"a": 1, "b": 3}


def test_unhashable_key_is_refused() -> None:
    assert "unhashable" in refused("? [a, b]\n: 1\n").message


def test_several_documents_are_refused() -> None:
    assert "another document" in refused("a: 1\n---\nb: 2\n").message


def test_empty_document_is_none() -> None:
    assert load("") is None
    assert load("# only a comment\n") is None


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    lines = ['a0: &a0 ["lol"]']
    for level in range(1, levels + 1):
        refs = ", ".join([f"*a{level - 1}"] * width)
        lines.append(f"a{level}: &a{level} [{refs}]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_refused() -> None:
    error = refused(alias_bomb())
    assert "alias bomb" in error.message
    assert error.details["max_nodes"] == yamlio.MAX_NODES


def test_modest_aliases_are_fine() -> None:
    assert load(alias_bomb(levels=3, width=3))["a3"][0][0][0] == ["lol"]


def test_node_cap_is_configurable() -> None:
    assert (
        "more than 10 YAML nodes"
        in refused("a: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n", max_nodes=10).message
    )


def test_recursive_alias_is_refused() -> None:
    assert "recursive alias" in refused("a: &a [1, *a]\n").message


def test_byte_size_cap() -> None:
    error = refused("a: " + "x" * 100 + "\n", max_bytes=50)
    assert "more than the limit of 50" in error.message


def test_deep_nesting_is_refused_not_crashed() -> None:
    error = refused("a: " + "[" * 5000 + "]" * 5000 + "\n")
    assert f"nested more than {MAX_DEPTH} levels deep at line 1" in error.message


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 300, 450, 500])
def test_depth_bound_sits_below_the_recursion_limit(depth: int) -> None:
    """Refused with the same clear message whatever the depth (the issue found 300 accepted,
    ~450 a RecursionError and 500 refused); one level less is accepted."""
    text = "a:\n" + "".join("  " * i + "- \n" for i in range(1, depth))
    nested = "a: " + "[" * depth + "]" * depth + "\n"
    for doc in (text, nested):
        assert f"nested more than {MAX_DEPTH}" in refused(doc).message
    assert load("a: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n")


def test_alias_amplification_is_refused_by_its_expanded_size() -> None:
    """Few nodes but one long string repeated through aliases: the byte bound catches it."""
    text = "x-big: &a " + "y" * 1000 + "\nservices:\n  s:\n    command: [" + "*a, " * 99 + "*a]\n"
    error = refused(text, limits=Limits(max_expanded_bytes=50_000))
    assert "more than 50000 bytes once its YAML aliases are expanded" in error.message
    assert error.details["max_expanded_bytes"] == 50_000
    assert load(text, limits=Limits(max_expanded_bytes=200_000))["services"]["s"]["command"]


def test_reset_and_override_load_as_markers() -> None:
    doc = load("a: !reset\nb: !reset []\nc: !override {x: 1}\nd: !override [1]\ne: !override s\n")
    assert doc == {
        "a": Reset(None),
        "b": Reset([]),
        "c": Override({"x": 1}),
        "d": Override([1]),
        "e": Override("s"),
    }
    assert [plain(v) for v in doc.values()] == [None, None, {"x": 1}, [1], "s"]


def test_reset_and_override_survive_a_round_trip() -> None:
    doc = load("a: !reset\nb: !reset []\nc: !override\n  x: 1\nd: !override 'true'\n")
    text = dump(doc)
    assert "!reset" in text and "!override" in text
    assert load(text) == doc


def test_dump_is_block_style_ordered_unicode_and_without_aliases() -> None:
    shared = {"k": "v"}
    text = dump({"z": shared, "a": [shared], "ü": "ñandú"})
    assert text == "z:\n  k: v\na:\n- k: v\nü: ñandú\n"
    assert "&" not in text and "*" not in text


@pytest.mark.parametrize(
    "value",
    [
        "true",
        "yes",
        "on",
        "no",
        "null",
        "~",
        "1",
        "0o17",
        "017",
        "1.5",
        "80:80",
        "12:30",
        "2001-12-14",
        "",
        "1_000",
        ".inf",
        "<<",
        "- x",
        "a: b",
        "#c",
    ],
)
def test_strings_that_look_like_other_types_round_trip(value: str) -> None:
    assert load(dump({"k": value})) == {"k": value}


def test_dump_is_deterministic() -> None:
    doc = load("s:\n  b: [1, 2]\n  a: {y: 1, x: 2}\n")
    assert dump(doc) == dump(load(dump(doc)))
    assert dump(doc) == "s:\n  b:\n  - 1\n  - 2\n  a:\n    y: 1\n    x: 2\n"


def test_c_and_python_emitters_write_the_same_bytes() -> None:
    import yaml

    if not hasattr(yaml, "CSafeDumper"):
        pytest.skip("PyYAML built without libyaml")
    doc = load(
        "s:\n  a: !reset\n  b: !reset []\n  c: !override {x: 1}\n  d: !override s\n"
        "  e: !override 5\n  f: [yes, '80:80', 0o17, 1.5, .inf, ~, ñandú, 'a\\nb', '  x']\n"
        f"  g: {'long ' * 100}\n  h: {{}}\n  i: []\n  j: '#c'\n  k: 'x: y'\n"
    )
    python = yamlio.make_dumper(yaml.SafeDumper)
    c = yamlio.make_dumper(yaml.CSafeDumper)
    assert dump(doc, dumper=python) == dump(doc, dumper=c)
    assert load(dump(doc, dumper=c)) == load(dump(doc, dumper=python)) == doc


def test_control_characters_are_refused_with_their_offset() -> None:
    error = refused("a: b\x00c\n")
    assert error.message == "character U+0000 at offset 4 is not allowed in YAML"
    assert error.details == {"offset": 4}
