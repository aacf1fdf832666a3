"""The stack's record on its services' labels (deployer/swarm/labels.py), without an engine."""

from __future__ import annotations

import json
from pathlib import Path

from deployer.deploy.record import Deployed
from deployer.deploy.sources import Descriptor
from deployer.swarm.deploy import write_labels
from deployer.swarm.labels import deployed, stack_labels

COMPONENTS = [{"name": "front", "sha256": "aa", "build": {"n": 1}, "services": ["web"]}]


def _descriptor(version: str) -> Descriptor:
    builds = {"front": {"n": 1}}
    return Descriptor(
        "x", "git", "/srv/reg.git", "TLO GE", "M", version, "c0ffee", builds, COMPONENTS
    )


def _doc(labels: dict[str, str], updated: str) -> dict[str, object]:
    return {"Spec": {"Labels": labels}, "UpdatedAt": updated}


def test_every_service_carries_the_record_and_only_its_own_component(tmp_path: Path) -> None:
    labels = stack_labels(_descriptor("3"), ["web", "db"])
    for name in ("web", "db"):
        assert labels[name]["io.consignment.version"] == "3"
        assert labels[name]["io.consignment.commit"] == "c0ffee"
        assert json.loads(labels[name]["io.consignment.builds"]) == {"front": {"n": 1}}
        assert "io.consignment.record-of" not in labels[name]  # the volume's key, not ours
    assert labels["web"]["io.consignment.component"] == "front"
    assert "io.consignment.component" not in labels["db"]  # no component claims it
    body = json.loads(write_labels(tmp_path, labels).read_text())
    assert body["services"]["web"]["deploy"]["labels"] == labels["web"]  # the service's labels
    assert "labels" not in body["services"]["web"]  # never the containers' (no task restarts)


def test_the_most_recently_updated_service_says_what_the_stack_is_at() -> None:
    v3 = stack_labels(_descriptor("3"), ["web"])["web"]
    v4 = stack_labels(_descriptor("4"), ["web"])["web"]
    docs = [
        _doc(v3, "2026-12-01T10:00:01Z"),
        _doc(v4, "2026-12-01T10:00:01.5Z"),  # later, though its text sorts first
        _doc({"com.docker.stack.namespace": "s"}, "2026-12-01T11:00:00Z"),  # not ours
    ]
    found = deployed("s", docs)
    assert isinstance(found, Deployed)
    assert (found.project, found.application, found.version) == ("s", "TLO GE", "4")
    assert found.builds == {"front": {"n": 1}}
    assert deployed("s", docs[2:]) is None
