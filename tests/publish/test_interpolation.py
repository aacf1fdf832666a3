"""Compose's interpolation rules, keeping the result Compose text (consign/interpolation.py)."""

from __future__ import annotations

import pytest

from consign.interpolation import InterpolationError, interpolate, variables

ENV = {"TAG": "42", "EMPTY": "", "PRICE": "5$"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("shop/web:${TAG}", "shop/web:42"),
        ("$TAG-x", "42-x"),
        ("${UNSET:-1.0}", "1.0"),
        ("${EMPTY:-def}", "def"),
        ("${EMPTY-def}", ""),
        ("${UNSET-def}", "def"),
        ("${TAG:+on}", "on"),
        ("${EMPTY:+on}", ""),
        ("${EMPTY+on}", "on"),
        ("${UNSET+on}", ""),
        ("${UNSET:-${TAG}}", "42"),
        ("echo $$HOME", "echo $$HOME"),  # a literal $ stays escaped for the deploy host
        ("${PRICE}", "5$$"),  # a $ in a value is escaped, never interpolated twice
        ("${UNSET:-$$x}", "$$x"),
        ("cost: 5 $ each", "cost: 5 $ each"),
    ],
)
def test_rules(text: str, expected: str) -> None:
    assert interpolate(text, ENV.get) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("${UNSET:?set the tag}", "variable UNSET is required: set the tag"),
        ("${EMPTY:?}", "variable EMPTY is required: is empty"),
        ("${UNSET?}", "variable UNSET is required: is not set"),
        ("${UNSET}", "variable UNSET is not set (and has no default)"),
        ("${}", "invalid interpolation '${}'"),
        ("${TAG", "unclosed interpolation"),
    ],
)
def test_errors(text: str, message: str) -> None:
    with pytest.raises(InterpolationError) as info:
        interpolate(text, ENV.get)
    assert message in str(info.value)


def test_every_missing_variable_in_one_error() -> None:
    with pytest.raises(InterpolationError) as info:
        interpolate("${A} ${B:?needed}", ENV.get)
    assert (
        str(info.value)
        == "variable A is not set (and has no default); variable B is required: needed"
    )


def test_empty_is_allowed_when_not_strict_and_only_named_variables_resolve() -> None:
    assert interpolate("x${UNSET}y", ENV.get, strict=False) == "xy"
    assert interpolate("${TAG} ${OTHER:-x} $$", ENV.get, only={"TAG"}) == "42 ${OTHER:-x} $$"


def test_variables_lists_every_name_once() -> None:
    assert variables("a ${A:-${B}} $C $$D ${E?x} $A") == ["A", "B", "C", "E"]
