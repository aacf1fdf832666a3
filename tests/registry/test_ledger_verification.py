"""The ledger takes a record's verification (issue 23) through the Flask app: the new
outcomes and the ``verify`` kind, the status that must follow from the tests and go with
the outcome, the bounded log excerpt, what runs afterwards, and the API/UI showing it."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.registry.test_app_ledger import REPORTS, report
from tests.registry.test_app_ledger import versions as versions  # the fixture

PASSED = {"service": "smoke", "verdict": "passed", "exit_code": 0, "logs": "got GOOD\n"}
FAILED = {"service": "smoke", "verdict": "failed", "exit_code": 1, "logs": "got WRONG\n"}
TIMED_OUT = {"service": "api-test", "verdict": "timed_out", "exit_code": None, "logs": "..."}


def verification(status: str, *tests: dict[str, Any]) -> dict[str, Any]:
    return {"status": status, "tests": list(tests)}


def current(client: FlaskClient) -> dict[str, Any]:
    answer = client.get("/api/environments/qa-1")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    [running] = answer.get_json()["deployed"]
    return dict(running)


def test_verified_failed_rolled_back_and_a_verify_record(versions: FlaskClient) -> None:
    client = versions
    ok = report(1, outcome="verified", verification=verification("passed", PASSED))
    assert client.post(REPORTS, json=ok).status_code == 201
    bad = report(
        2,
        outcome="verification_failed",
        rolled_back_to=1,
        verification=verification("failed", FAILED, {**PASSED, "service": "other"}),
    )
    answer = client.post(REPORTS, json=bad)
    assert answer.status_code == 201, answer.get_data(as_text=True)
    stored = answer.get_json()["deployment"]
    assert stored["verification"]["tests"][0] == FAILED
    assert current(client)["rolled_back_to"] == 1  # rolled back: v1 runs
    again = report(
        1,
        kind="verify",
        outcome="verification_failed",
        services=[],
        verification=verification("timed_out", TIMED_OUT),
    )
    assert client.post(REPORTS, json=again).status_code == 201
    assert current(client)["id"] == bad["id"]  # a verify is an event: what runs is unchanged
    history = client.get(f"{REPORTS}?limit=10").get_json()["deployments"]
    assert [h["kind"] for h in history] == ["verify", "deploy", "deploy"]
    assert history[0]["verification"]["tests"][0]["verdict"] == "timed_out"
    version_page = client.get("/ui/applications/TLO%20GE/releases/Milestone/versions/2").get_data(
        as_text=True
    )
    assert "smoke: failed(1)" in version_page
    page = client.get("/ui/environments/qa-1").get_data(as_text=True)
    assert "verification failed" in page and "got WRONG" in page
    plain = report(1)  # no verification declared: no field at all
    assert client.post(REPORTS, json=plain).status_code == 201
    assert "verification" not in client.get(REPORTS).get_json()["deployments"][0]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"outcome": "verified", "verification": verification("failed", FAILED)}, "outcome"),
        (
            {"outcome": "verification_failed", "verification": verification("passed", PASSED)},
            "outcome",
        ),
        ({"outcome": "ok", "verification": verification("failed", FAILED)}, "outcome"),
        (
            {"outcome": "verified", "verification": verification("failed", PASSED)},
            "verification.status",
        ),
        ({"outcome": "verified", "verification": verification("passed")}, "verification.tests"),
        (
            {"outcome": "ok", "verification": verification("skipped", PASSED)},
            "verification.tests",
        ),
        (
            {"outcome": "verified", "verification": verification("passed", PASSED, PASSED)},
            "verification.tests",
        ),
        (
            {
                "outcome": "verified",
                "verification": verification("passed", {**PASSED, "exit_code": 3}),
            },
            "verification.tests[0].exit_code",
        ),
        (
            {
                "outcome": "verification_failed",
                "verification": verification("failed", {**FAILED, "exit_code": 0}),
            },
            "verification.tests[0].exit_code",
        ),
        (
            {
                "outcome": "verification_failed",
                "verification": verification("failed", {**FAILED, "logs": "é" * 2001}),
            },
            "verification.tests[0].logs",
        ),
        (
            {
                "outcome": "verification_failed",
                "verification": verification("failed", {**FAILED, "verdict": "exited"}),
            },
            "verification.tests[0].verdict",
        ),
        (
            {
                "outcome": "verified",
                "verification": {"status": "passed", "tests": [PASSED], "extra": 1},
            },
            "verification.extra",
        ),
        ({"outcome": "ok", "rolled_back_to": 1}, "rolled_back_to"),
        (
            {
                "kind": "verify",
                "outcome": "verified",
                "version": None,
                "verification": verification("passed", PASSED),
            },
            "version",
        ),
    ],
)
def test_bad_verifications_are_refused_with_the_field(
    versions: FlaskClient, changes: dict[str, Any], field: str
) -> None:
    body = report(2)
    body.update(changes)
    answer = versions.post(REPORTS, json=body)
    assert answer.status_code == 400, answer.get_data(as_text=True)
    assert answer.get_json().get("field") == field, answer.get_json()


def test_skipped_goes_with_ok_and_a_passed_one_may_end_rolled_back(
    versions: FlaskClient,
) -> None:
    said = report(2, outcome="verified")  # the outcome alone (the contract allows it)
    assert versions.post(REPORTS, json=said).status_code == 201
    skipped = report(2, verification=verification("skipped"))
    assert versions.post(REPORTS, json=skipped).status_code == 201
    pinned = report(
        2, outcome="rolled_back", rolled_back_to=1, verification=verification("passed", PASSED)
    )
    assert versions.post(REPORTS, json=pinned).status_code == 201
