"""The seed's three descriptors with busybox standing in for the real images.

Scenario (decided here): descriptor 1 deploys; descriptor 2, exactly as the seed has it,
is refused because plex's ``volumes_from`` names ``bittorrent-sync-data``, which no
component provides, and descriptor 1 keeps running untouched; descriptor 3, with that
data container provided, upgrades the same project in place.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from consign.exit_codes import ExitCode
from tests.deployer.conftest import GitRegistry, scenario
from tests.deployer.helpers import containers, deploy, ids, recorded
from tests.serving import free_port

pytestmark = pytest.mark.docker


def test_seed_descriptors(tmp_path: Path, project: str, git_registry: GitRegistry) -> None:
    ports = {"prefix": project, "port1": free_port(), "port2": free_port(), "port3": free_port()}
    for n in (1, 2, 3):
        git_registry.publish("TLO GE", "Milestone", n, scenario(f"seed-{n}.yml", **ports))
    src = ("--git", str(git_registry.repo), "--project", project, "--stable", "1")

    one = deploy(tmp_path, "TLO GE", "Milestone", "1", *src)
    assert one.code == ExitCode.OK, one.output
    assert one.verdicts() == {"transmission-data": "completed", "transmission": "running"}
    running = ids(project)
    assert set(running) == {f"{project}-transmission-data", f"{project}-transmission"}

    two = deploy(tmp_path, "TLO GE", "Milestone", "2", *src)
    assert two.code == ExitCode.INVALID_DESCRIPTOR, two.output
    assert "bittorrent-sync-data" in two.output
    assert ids(project) == running  # nothing started, nothing stopped

    three = deploy(tmp_path, "TLO GE", "Milestone", "3", *src)
    assert three.code == ExitCode.OK, three.output
    assert three.verdicts() == {
        "transmission-data": "completed",
        "transmission": "running",
        "plex-data": "completed",
        "plex": "running",
        "bittorrent-sync-data": "completed",
        "mysql-data": "completed",
        "mysql": "running",
    }
    by_name = {c.name: c for c in containers(project)}
    assert by_name[f"{project}-mysql"].attrs["HostConfig"]["NetworkMode"] == "host"
    assert recorded(project).version == "3"
    mounts = {m["Destination"] for m in by_name[f"{project}-plex"].attrs["Mounts"]}
    assert {"/config", "/mnt/sync"} <= mounts  # volumes_from both data containers
