"""The gate's ``verified_in`` and ``soak`` through a real `consign serve` (gunicorn): refused
with the reason and the time left, then allowed; a drift report or a failed deploy in
between resets the soak. Records are posted to the ledger with their real finish times
(minutes ago), so no test waits for a clock."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from tests.registry.test_gate import API, APP, milestone, post, promote
from tests.serving import ServedRegistry

REPORTS = "/api/environments/qa-1/deployments"


def stamp(minutes_ago: float) -> str:
    moment = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def record(kind: str, version: int, outcome: str, minutes_ago: float, **extra: Any) -> dict:
    return {
        "id": str(uuid.uuid4()), "kind": kind, "application": APP, "release": "Milestone",
        "version": version, "outcome": outcome, "started": stamp(minutes_ago + 1),
        "finished": stamp(minutes_ago), "by": "rundeck", "engine": {"name": "qa-host-1"},
        "source": "registry", "services": [], **extra,
    }  # fmt: skip


def report(url: str, body: dict) -> None:
    answer = post(url, REPORTS, body)
    assert answer.status_code == 201, answer.text


def check(url: str, version: int) -> dict:
    answer = requests.get(
        f"{url}{API}/QA/promotions/check",
        params={"from_release": "Milestone", "version": version},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_verified_in_and_soak(served: ServedRegistry) -> None:
    url = served.url
    milestone(url, versions=2)
    policy = {"verified_in": ["qa-1"], "soak": {"environment": "qa-1", "minutes": 120}}
    answer = requests.put(f"{url}{API}/QA/policy", json=policy, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.json()["policy"]["soak"] == {"environment": "qa-1", "minutes": 120}
    assert len(answer.json()["warnings"]) == 2  # qa-1 never seen: said for both conditions
    # healthy but not verified, 41 minutes ago
    report(url, record("deploy", 1, "ok", 41.5))
    refused = promote(url, "QA", "Milestone", 1)
    assert refused.status_code == 409
    unmet = refused.json()["unmet"]
    assert any("never verified in qa-1" in u for u in unmet), unmet
    assert any("soaked 41 of 120 minutes in qa-1" in u and "79 minutes left" in u for u in unmet)
    gate = check(url, 1)
    assert gate["admissible"] is False and gate["verified_in"] == {"qa-1": False}
    assert (gate["soak"]["soaked_minutes"], gate["soak"]["left_minutes"]) == (41, 79)
    # a verify re-run passes; the soak is still short
    report(url, record("verify", 1, "verified", 30))
    unmet = promote(url, "QA", "Milestone", 1).json()["unmet"]
    assert len(unmet) == 1 and "soaked 41 of 120" in unmet[0], unmet
    # a shorter soak lets it in
    policy["soak"]["minutes"] = 40
    assert requests.put(f"{url}{API}/QA/policy", json=policy, timeout=30).status_code == 200
    assert check(url, 1)["admissible"] is True
    # a drift report resets it (no promotion made yet: check says)
    report(url, record("drift", 1, "drift", 20))
    gate = check(url, 1)
    assert gate["admissible"] is False and gate["soak"]["since"] is None
    assert "drift was reported" in gate["soak"]["why"]
    assert "soaked 0 of 40 minutes" in promote(url, "QA", "Milestone", 1).json()["unmet"][0]
    # a healthy redeploy starts it again; a failed deploy resets it again
    report(url, record("deploy", 1, "verified", 15))
    assert check(url, 1)["soak"]["soaked_minutes"] == 15
    report(url, record("deploy", 2, "rolled_back", 9, rolled_back_to=1))
    report(url, record("rollback", 1, "ok", 8))
    gate = check(url, 1)
    assert gate["soak"]["soaked_minutes"] == 8, gate
    # allowed once the soak is short enough (the record 8 minutes ago counts)
    policy["soak"]["minutes"] = 5
    assert requests.put(f"{url}{API}/QA/policy", json=policy, timeout=30).status_code == 200
    answer = promote(url, "QA", "Milestone", 1, create=True)
    assert answer.status_code == 201, answer.text
    # version 2 failed its verification (rolled back): never verified, never soaked
    unmet = promote(url, "QA", "Milestone", 2).json()["unmet"]
    assert any("version 2 was never verified in qa-1" in u for u in unmet), unmet
    assert any("version 2 soaked 0 of 5" in u for u in unmet), unmet


def test_bad_soak_and_records_are_refused(served: ServedRegistry) -> None:
    url = served.url
    milestone(url, versions=1)
    bad_soaks = [
        {"environment": "qa-1"},
        {"environment": "qa-1", "minutes": 0},
        "qa-1",
        {"environment": "qa/1", "minutes": 5},
        {"environment": "qa-1", "minutes": 5, "x": 1},
    ]
    for soak in bad_soaks:
        answer = requests.put(f"{url}{API}/QA/policy", json={"soak": soak}, timeout=30)
        assert answer.status_code == 400, (soak, answer.text)
    bad = record("deploy", 1, "ok", 1, bisect="x" * 201)
    assert post(url, REPORTS, bad).status_code in (400, 422)
    marked = record("deploy", 1, "verified", 1, bisect="bisect 1/3: v1 of 1..2")
    assert post(url, REPORTS, marked).status_code == 201
    history = requests.get(f"{url}{REPORTS}", timeout=30).json()
    assert history["deployments"][0]["bisect"] == "bisect 1/3: v1 of 1..2"
    missing = requests.get(
        f"{url}{API}/QA/promotions/check", params={"from_release": "Milestone"}, timeout=30
    )
    assert missing.status_code == 400
