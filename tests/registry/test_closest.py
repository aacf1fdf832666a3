"""registry/closest.py: the names offered after a miss ("did you mean ...?")."""

from __future__ import annotations

from registry.closest import closest, suggestion


def test_case_insensitive_equals_come_first() -> None:
    assert closest("Qa", ["Milestone", "QAs", "QA", "QB"]) == ["QA", "QAs"]
    assert closest("qa", ["QA", "Qa"]) == ["QA", "Qa"]  # every spelling of it, sorted


def test_close_spellings_best_first_and_bounded() -> None:
    releases = ["Milestone", "Milestone 2", "Production", "QA", "Staging"]
    assert closest("Milestnoe", releases) == ["Milestone", "Milestone 2"]
    assert closest("Prod", releases) == []  # too far for difflib's 0.6
    assert closest("Stagin", releases) == ["Staging"]
    assert len(closest("a", [f"a{i}" for i in range(10)])) == 3


def test_never_the_name_itself_nor_anything_far() -> None:
    assert closest("QA", ["QA"]) == []
    assert closest("xyz", ["QA", "Milestone"]) == []
    assert closest("Ünï", ["ÜNÏ", "uni"]) == ["ÜNÏ"]


def test_suggestion_text() -> None:
    assert suggestion([]) == ""
    assert suggestion(["QA"]) == " (did you mean 'QA'?)"
    assert suggestion(["QA", "Qa2"]) == " (did you mean 'QA' or 'Qa2'?)"
