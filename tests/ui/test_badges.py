"""Badge colours follow the deployer's verdict vocabulary (registry/http/views/ui/badges.py
lists its words, since the registry does not import the deployer: this keeps them one)."""

from __future__ import annotations

import pytest

from deployer.verdicts import Verdict
from registry.http.views.ui.badges import is_failure, verdict_badge


@pytest.mark.parametrize("verdict", list(Verdict))
def test_every_deployer_verdict_has_its_colour(verdict: Verdict) -> None:
    expected = "ok" if verdict.ok else "bad" if verdict.failed else ""
    assert verdict_badge(verdict.value) == expected
    assert is_failure(verdict.value) == verdict.failed


@pytest.mark.parametrize(
    ("verdict", "colour"),
    [
        ("passed", "ok"),
        ("failed(3)", "bad"),
        ("exited (1)", "bad"),
        ("Crash_Looping", "bad"),
        ("crash_loop", "bad"),
        ("drift", "warn"),
        ("unknown", ""),
        ("", ""),
        ("something new", ""),
    ],
)
def test_recorded_spellings(verdict: str, colour: str) -> None:
    assert verdict_badge(verdict) == colour
