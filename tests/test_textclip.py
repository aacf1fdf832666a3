"""consign.textclip: clients cut text to the registry's byte limits at a character boundary."""

from __future__ import annotations

from consign.textclip import clip_utf8


def test_short_text_is_kept_whole() -> None:
    assert clip_utf8("alice", 200) == "alice"
    assert clip_utf8("é" * 100, 200) == "é" * 100


def test_long_text_is_cut_to_the_byte_limit_never_inside_a_character() -> None:
    assert clip_utf8("é" * 101, 200) == "é" * 100
    cut = clip_utf8("a" + "🚢" * 3, 6)  # 1 + 4 bytes fit, the second ship would not
    assert cut == "a🚢" and len(cut.encode()) == 5
    assert len(clip_utf8("x" * 5000, 4000).encode()) == 4000
