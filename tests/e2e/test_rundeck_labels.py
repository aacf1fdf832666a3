"""How a version is labelled in Rundeck's version list (a pure function of VersionInfo)."""

from __future__ import annotations

from typing import Any

import pytest

from registry.http.views.rundeck import version_label
from registry.store import Promotion, VersionInfo


def info(build: dict[str, Any], created: str = "2026-11-26T04:05:06Z") -> VersionInfo:
    return VersionInfo(
        application="TLO GE", release="M2", number=7, commit="c" * 40, tag="TLO%20GE/M2/7",
        created=created, component="web", build=build, components=[], warnings=[],
    )  # fmt: skip


@pytest.mark.parametrize(
    ("build", "shown"),
    [
        ({"ci": "bamboo", "buildResultKey": "TLO-WEB-45", "buildNumber": "45"}, "web (TLO-WEB-45)"),
        ({"planKey": "TLO-WEB", "buildNumber": "45"}, "web (TLO-WEB #45)"),
        (
            {
                "ci": "bamboo",
                "planKey": "TLO-WEB",
                "buildResultKey": "TLO-WEB-JOB1-45",
                "buildNumber": "45",
            },
            "web (TLO-WEB #45)",
        ),
        ({"plan": "P-J", "number": 7}, "web (P-J #7)"),
        ({"planKey": "TLO-WEB"}, "web (TLO-WEB)"),
        ({"buildNumber": "45"}, "web (build 45)"),
        ({"planRepository.revision": "0123456789abcdef0123"}, "web (0123456789ab)"),
        ({}, "web"),
    ],
)
def test_label_names_number_date_component_and_build(build: dict[str, Any], shown: str) -> None:
    assert version_label(info(build), latest=False) == f"#7 · 2026-11-26 04:05 UTC · {shown}"


def test_latest_is_marked_and_odd_dates_are_shown_as_recorded() -> None:
    assert version_label(info({}), latest=True).startswith("#7 (latest) · ")
    assert " · yesterday · " in version_label(info({}, created="yesterday"), latest=False)


def test_rejected_promoted_and_frozen_are_marked() -> None:
    from dataclasses import replace

    from registry.gate import REJECTION, Decision, Freeze
    from registry.http.views.rundeck import release_label

    rejection = Decision(REJECTION, 7, "qa", "qa-ann", "BUG-12:  login\nloops", "t")
    label = version_label(info({}), latest=True, rejected=rejection)
    assert label == "REJECTED (BUG-12: login loops) #7 (latest) · 2026-11-26 04:05 UTC · web"
    source = Promotion("TLO GE", "QA", 3, "d" * 40)
    promoted = replace(info({"buildNumber": "45"}), promoted_from=source)
    assert version_label(promoted, latest=False).endswith(" · promoted from QA #3: web (build 45)")
    long_reason = Decision(REJECTION, 7, "qa", None, "x" * 100, "t")
    assert len(version_label(info({}), latest=False, rejected=long_reason)) < 120
    freeze = Freeze("go-live 3.1", "rm", None, "t")
    assert release_label("Production", freeze) == "Production (FROZEN: go-live 3.1)"
    assert release_label("Production", None) == "Production"
