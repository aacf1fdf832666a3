"""Stack drift rules on service documents shaped as the Engine sends them (no engine)."""

from __future__ import annotations

import json
from typing import Any

from deployer.label_keys import BUILD, COMPONENT
from deployer.ledger.stackdrift import compute

BUILD_41 = {"buildNumber": "41"}


def doc(replicas: int = 1, running: int = 1, **labels: str) -> dict[str, Any]:
    return {
        "ID": "0123456789abcdef",
        "Spec": {
            "Mode": {"Replicated": {"Replicas": replicas}},
            "Labels": {COMPONENT: "api", BUILD: json.dumps(BUILD_41), **labels},
        },
        "ServiceStatus": {"RunningTasks": running, "DesiredTasks": replicas},
    }


RECORD = {
    "services": [
        {"service": "api", "verdict": "running", "image": "sha256:aa", "component": "api",
         "build": BUILD_41},
    ]
}  # fmt: skip


def kinds(found: list[Any]) -> list[tuple[str, str]]:
    return [(d.service, d.kind) for d in found]


def test_nothing_differs() -> None:
    assert compute(RECORD, {"api": doc()}, {"api": ["sha256:aa"]}, {"api": 1}) == []


def test_each_difference() -> None:
    assert kinds(compute(RECORD, {}, {}, None)) == [("api", "missing")]
    found = compute(RECORD, {"api": doc(), "db": doc()}, {"api": ["sha256:aa"]}, {"api": 1})
    assert kinds(found) == [("db", "extra")]
    found = compute(RECORD, {"api": doc()}, {"api": ["sha256:bb"]}, {"api": 1})
    assert (
        kinds(found) == [("api", "image")]
        and "runs sha256:bb, recorded sha256:aa" in found[0].detail
    )
    found = compute(RECORD, {"api": doc(3, 3)}, {"api": ["sha256:aa"] * 3}, {"api": 1})
    assert kinds(found) == [("api", "replicas")] and "scaled to 3" in found[0].detail
    found = compute(RECORD, {"api": doc(1, 0)}, {"api": []}, {"api": 1})
    assert kinds(found) == [("api", "stopped")] and "0 of 1" in found[0].detail
    relabelled = doc(**{BUILD: json.dumps({"buildNumber": "99"})})
    found = compute(RECORD, {"api": relabelled}, {"api": ["sha256:aa"]}, {"api": 1})
    assert kinds(found) == [("api", "labels")] and "'99'" in found[0].detail


def test_without_the_descriptor_only_running_vs_wanted_counts() -> None:
    assert compute(RECORD, {"api": doc(3, 3)}, {"api": ["sha256:aa"]}, None) == []


def test_a_global_service_and_a_completed_one_shot() -> None:
    one_shot = {"services": [{**RECORD["services"][0], "verdict": "completed"}]}
    assert compute(one_shot, {"api": doc(1, 0)}, {"api": []}, {"api": 1}) == []
    assert compute(RECORD, {"api": doc()}, {"api": ["sha256:aa"]}, {"api": None}) == []
