"""consign/secrets/masker.py: the one Masker, on text, JSON trees and streams."""

from __future__ import annotations

import io
import sys

import pytest

from consign.errors import InvalidDescriptor
from consign.secrets.masker import MASK, MaskedStream, Masker, masked_output


def test_every_occurrence_is_masked_longest_first() -> None:
    m = Masker({"A": "s3cr3t", "B": "s3cr3t-canary-1"})
    assert m.mask("x s3cr3t-canary-1 y s3cr3t z") == f"x {MASK} y {MASK} z"


def test_short_and_empty_values_are_not_held_and_named() -> None:
    m = Masker()
    assert m.add({"PIN": "123", "EMPTY": "", "OK": "abcd"}) == ["PIN"]
    assert m.mask("123 abcd") == f"123 {MASK}"
    assert not Masker({"PIN": "12"})


def test_regex_characters_in_values_are_literal() -> None:
    m = Masker({"P": "a.b*c(d)"})
    assert m.mask("axbbc a.b*c(d)") == f"axbbc {MASK}"


def test_a_multi_line_value_is_masked_whole_and_line_by_line() -> None:
    m = Masker({"KEY": "-----BEGIN KEY-----\nMIIEabcdef\n-----END KEY-----"})
    assert "MIIEabcdef" not in m.mask("log: MIIEabcdef")
    assert m.mask("-----BEGIN KEY-----\nMIIEabcdef\n-----END KEY-----") == MASK


def test_tree_masks_strings_and_keys_and_leaves_the_original() -> None:
    m = Masker({"P": "hunter22"})
    doc = {"logs": {"web": "pw=hunter22"}, "n": 3, "hunter22": [None, "hunter22"]}
    assert m.tree(doc) == {"logs": {"web": f"pw={MASK}"}, "n": 3, MASK: [None, MASK]}
    assert doc["logs"] == {"web": "pw=hunter22"}


def test_stream_finds_a_value_split_across_writes() -> None:
    target = io.StringIO()
    stream = MaskedStream(target, Masker({"P": "hunter22"}))
    stream.write("pw=hun")
    stream.write("ter22")
    assert target.getvalue() == ""  # held until the line ends
    stream.write("\nnext ")
    stream.flush()
    assert target.getvalue() == f"pw={MASK}\nnext "


def test_masked_output_covers_stdout_stderr_and_the_final_error() -> None:
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        with pytest.raises(InvalidDescriptor) as raised, masked_output(Masker({"P": "hunter22"})):
            print("stdout hunter22")
            print("stderr hunter22", file=sys.stderr)
            raise InvalidDescriptor("compose said hunter22")
    finally:
        sys.stdout, sys.stderr = saved
    assert out.getvalue() == f"stdout {MASK}\n" and err.getvalue() == f"stderr {MASK}\n"
    assert str(raised.value) == f"compose said {MASK}"


def test_a_value_cut_at_the_end_of_a_text_is_masked_too() -> None:
    m = Masker({"P": "s3cr3t-canary-0123456789"})
    assert m.mask("last check: s3cr3t-cana...") == f"last check: {MASK}..."
    assert m.mask("detail s3cr3t-canary-01…") == f"detail {MASK}…"
    assert m.mask("ends s3cr3t-c") == f"ends {MASK}"
    assert m.mask("ends s3c") == "ends s3c"  # under 4 characters of it: no secret told
    assert m.mask("s3cr3t-canary in the middle") == "s3cr3t-canary in the middle"


def test_the_stream_has_no_binary_way_around_the_mask() -> None:
    import click

    target = io.TextIOWrapper(io.BytesIO(), encoding="ascii")  # click would use .buffer
    stream = MaskedStream(target, Masker({"P": "hunter22"}))
    assert not hasattr(stream, "buffer") and stream.encoding == "ascii"
    click.echo("pw hunter22", file=stream)  # type: ignore[arg-type]
    stream.flush()
    target.seek(0)
    assert target.read() == "pw ******\n"  # an ASCII terminal gets stars, not a crash
