"""Badge colours follow the deployer's verdict vocabulary (registry/http/views/ui/badges.py
lists its words, since the registry does not import the deployer: this keeps them one)."""

from __future__ import annotations

import pytest

from deployer.verdicts import Verdict
from registry.http.views.ui.badges import (
    OUTCOME_BADGES,
    is_failure,
    outcome_badge,
    verdict_badge,
)


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


@pytest.mark.parametrize(
    ("outcome", "colour"),
    [
        ("ok", "ok"),
        ("failed", "bad"),
        ("timed_out", "bad"),
        ("rolled_back", "warn"),
        ("interrupted", "warn"),
        ("drift", "warn"),
        ("torn_down", ""),
        ("moved", ""),
        ("broken", ""),
    ],
)
def test_every_ledger_outcome_has_its_colour(outcome: str, colour: str) -> None:
    assert outcome_badge(outcome) == colour


def test_every_outcome_the_registry_accepts_is_coloured_on_purpose() -> None:
    """A new outcome added to the report's vocabulary must be given a colour here."""
    from registry.http.parsing.ledger import KINDS

    accepted = {o for outcomes in KINDS.values() for o in outcomes} | {"broken"}
    failures = {"failed", "timed_out"}
    assert accepted - failures <= set(OUTCOME_BADGES)
