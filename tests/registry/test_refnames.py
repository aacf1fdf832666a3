"""refnames: every valid name encodes to a ref component Git accepts, and decodes back."""

from __future__ import annotations

import pytest

from consign.compose import refnames
from consign.compose.errors import InvalidName
from consign.process import run
from registry.errors import from_compose

TRICKY = [
    "TLO GE",
    "Milestone",
    "a",
    "A-b_c",
    ".",
    "..",
    "...",
    ".hidden",
    "a.lock",
    "x.lock.lock",
    "-x",
    "--",
    "-",
    "_",
    "@",
    "@{",
    "a@{1}",
    "~^:?*[\\",
    "HEAD",
    "refs",
    "a b  c ",
    " leading space",
    "trailing.",
    "end.",
    "Ünïcödé",
    "日本語のリリース",
    "emoji 🚀🐳",
    "Zalgo z̵̡̛a̴l̷g̶o̵",
    "%",
    "%20",
    "%2F",
    "100%",
    "tab\u00a0nbsp",
    "right-to-left \u202e",
    "quote\"'`",
    "semi;colon|pipe&amp<>",
    "x" * 100,
    "é" * 100,
    "🐳" * 100,
]


def check_ref_format(ref: str) -> bool:
    return run(["git", "check-ref-format", ref], check=False).returncode == 0


@pytest.mark.parametrize("name", TRICKY)
def test_encoded_names_are_valid_refs_and_round_trip(name: str) -> None:
    encoded = refnames.encode(name)
    assert refnames.decode(encoded) == name
    assert "/" not in encoded and "." not in encoded and not encoded.startswith("-")
    assert check_ref_format(f"refs/heads/{encoded}/{encoded}")
    assert check_ref_format(f"refs/tags/{encoded}/{encoded}/12")


def test_all_tricky_names_encode_distinctly() -> None:
    assert len({refnames.encode(n) for n in TRICKY}) == len(set(TRICKY))


def test_readable_examples() -> None:
    assert refnames.encode("TLO GE") == "TLO%20GE"
    assert refnames.encode("-x") == "%2Dx"
    assert refnames.encode("x-y") == "x-y"
    assert refnames.encode("a.lock") == "a%2Elock"
    assert refnames.encode("é") == "%C3%A9"


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("", "empty"),
        ("x" * 101, "101 characters"),
        ("a/b", "'/'"),
        ("line\nbreak", "U+000A"),
        ("nul\x00", "U+0000"),
        ("del\x7f", "U+007F"),
        ("c1\x85", "U+0085"),
        ("surrogate\ud800", "U+D800"),
    ],
)
def test_invalid_names_are_refused_with_a_reason(name: str, fragment: str) -> None:
    with pytest.raises(InvalidName) as caught:
        refnames.encode(name, "application")
    assert caught.value.code == "invalid_name"
    assert from_compose(caught.value).status == 400
    assert fragment in caught.value.message
    assert "application" in caught.value.message


def test_non_string_is_refused() -> None:
    with pytest.raises(InvalidName):
        refnames.validate(42)


@pytest.mark.parametrize(
    "text", ["%41", "%2dx", "-x", "a.b", "a%2", "a%ZZ", "%FF", "a%2Fb", "", "é", "a b"]
)
def test_decode_refuses_non_canonical_or_impossible_text(text: str) -> None:
    with pytest.raises(ValueError):
        refnames.decode(text)
    assert not refnames.is_encoded(text)
