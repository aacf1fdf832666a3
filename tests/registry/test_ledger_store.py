"""The deployment ledger in the store: real Git, fsck-checked after every test."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from consign.compose.errors import InvalidName
from consign.process import run
from registry.errors import Conflict, EnvironmentLockHeld, InvalidRecord, NotFound
from registry.store import DeploymentRecord, DescriptorStore, ServiceRecord
from tests.registry.conftest import objects, refs
from tests.registry.test_store import frag, publish


def record(version: int | None = 1, **changes: Any) -> DeploymentRecord:
    base = DeploymentRecord(
        id=str(uuid.uuid4()),
        kind="deploy",
        environment="qa-1",
        application="TLO GE",
        release="Milestone",
        version=version,
        commit=None,
        outcome="ok",
        rolled_back_to=None,
        started="2026-12-01T10:00:00.000Z",
        finished="2026-12-01T10:01:00.000Z",
        by="alice",
        engine={"name": "host-a", "id": "ABCD", "host": "unix:///var/run/docker.sock"},
        source="http://registry:9090",
        services=[
            ServiceRecord("web", "healthy", "", ["a" * 64], "sha256:" + "1" * 64, "web", {"n": 1})
        ],
    )
    return replace(base, **changes)


@pytest.fixture
def store(repo: Path) -> Iterator[DescriptorStore]:
    opened = DescriptorStore(repo)
    for n in range(3):  # versions 1..3 of TLO GE/Milestone
        publish(opened, frag("web", image=f"busybox:{n}"))
    yield opened
    opened.close()


def git(repo: Path, *args: str) -> str:
    return run(["git", "--git-dir", str(repo), *args]).stdout


def test_a_report_is_a_commit_on_the_environment_ref(repo: Path, store: DescriptorStore) -> None:
    stored, created = store.report(record(2))
    assert created and stored.seq == 1 and stored.received.endswith("Z")
    assert json_of(repo, "refs/ledger/qa-1")["id"] == stored.id
    assert git(repo, "rev-parse", "refs/deployed/qa-1/TLO%20GE/Milestone").strip() == (
        store.version("TLO GE", "Milestone", 2).commit
    )
    message = git(repo, "log", "-1", "--format=%B", "refs/ledger/qa-1")
    assert message.startswith("qa-1: deploy TLO GE/Milestone v2: ok")
    assert f"Consign-Record: {stored.id}" in message
    assert git(repo, "ls-tree", "--name-only", "refs/ledger/qa-1").split() == [
        "current",
        "record.json",
    ]
    current = git(repo, "ls-tree", "refs/ledger/qa-1:current").split()
    record_blob = git(repo, "rev-parse", "refs/ledger/qa-1:record.json").strip()
    assert current[2:] == [record_blob, "TLO%20GE.Milestone.json"]


def json_of(repo: Path, ref: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(git(repo, "show", f"{ref}:record.json"))
    return loaded


def test_a_retry_is_recorded_once_and_a_reused_id_is_refused(
    repo: Path, store: DescriptorStore
) -> None:
    first = record()
    store.report(first)
    before = refs(repo), objects(repo)
    again, created = store.report(first)
    assert not created and again.seq == 1
    with pytest.raises(Conflict, match="different content"):
        store.report(replace(first, outcome="failed"))
    assert (refs(repo), objects(repo)) == before
    assert len(store.deployments("qa-1", limit=100)) == 1


def test_unknown_version_commit_or_release_writes_nothing(
    repo: Path, store: DescriptorStore
) -> None:
    before = refs(repo), objects(repo)
    with pytest.raises(InvalidRecord, match="no version 9"):
        store.report(record(9))
    with pytest.raises(InvalidRecord, match="rolled_back_to"):
        store.report(record(2, outcome="rolled_back", rolled_back_to=7))
    with pytest.raises(InvalidRecord, match="is not the commit"):
        store.report(record(2, commit="f" * 40))
    with pytest.raises(InvalidRecord, match="no release"):
        store.report(record(None, kind="teardown", outcome="torn_down", release="Nope"))
    with pytest.raises(InvalidName):
        store.report(record(environment="QA 1"))
    assert (refs(repo), objects(repo)) == before


def test_rollback_teardown_and_the_deployed_ref(repo: Path, store: DescriptorStore) -> None:
    ref = "refs/deployed/qa-1/TLO%20GE/Milestone"
    store.report(record(1, finished="2026-12-01T10:01:00.000Z"))
    store.report(
        record(2, outcome="rolled_back", rolled_back_to=1, finished="2026-12-01T11:00:00.000Z")
    )
    [now] = store.environment("qa-1").deployed
    assert (now.version, now.deployed_version, now.outcome) == (2, 1, "rolled_back")
    assert git(repo, "rev-parse", ref).strip() == store.version("TLO GE", "Milestone", 1).commit
    store.report(
        record(1, kind="teardown", outcome="torn_down", finished="2026-12-01T12:00:00.000Z")
    )
    assert store.environment("qa-1").deployed == []
    assert ref not in refs(repo)
    # A late report of an older deploy goes into the history but does not resurrect it.
    store.report(record(3, finished="2026-12-01T09:00:00.000Z"))
    assert store.environment("qa-1").deployed == []
    assert ref not in refs(repo)
    assert [r.seq for r in store.deployments("qa-1")] == [4, 3, 2, 1]


def test_history_pages_and_at(store: DescriptorStore) -> None:
    times = [f"2026-12-01T1{h}:00:00.000Z" for h in range(6)]
    for h, when in enumerate(times):
        store.report(record(h % 3 + 1, started=when, finished=when))
    page = store.deployments("qa-1", limit=4)
    assert [r.seq for r in page] == [6, 5, 4, 3]
    assert [r.seq for r in store.deployments("qa-1", limit=4, before=3)] == [2, 1]
    assert store.deployments("qa-1", before=1) == []
    [at] = store.deployed_at("qa-1", "2026-12-01T12:30:00.000Z")
    assert (at.seq, at.version) == (3, 3)
    assert store.deployed_at("qa-1", "2026-12-01T09:59:59.999Z") == []
    with pytest.raises(NotFound):
        store.deployments("qa-9")


def test_versions_know_where_they_ran(store: DescriptorStore) -> None:
    store.report(record(1, environment="qa-1", finished="2026-12-01T10:00:00.000Z"))
    store.report(record(1, environment="qa-2", outcome="failed"))
    store.report(record(2, environment="qa-2", outcome="rolled_back", rolled_back_to=1))
    found = store.deployments_of_version("TLO GE", "Milestone", 1)
    assert sorted((r.environment, r.outcome) for r in found) == [
        ("qa-1", "ok"),
        ("qa-2", "failed"),
        ("qa-2", "rolled_back"),
    ]
    assert store.verified("TLO GE", "Milestone", 1) == ["qa-1"]
    assert store.verified("TLO GE", "Milestone", 2) == []
    assert [s.name for s in store.environments()] == ["qa-1", "qa-2"]
    with pytest.raises(NotFound):
        store.deployments_of_version("TLO GE", "Milestone", 99)


def test_another_process_sees_new_records(repo: Path, store: DescriptorStore) -> None:
    other = DescriptorStore(repo)
    store.report(record(1))
    assert other.environment("qa-1").deployments == 1
    other.report(record(2))  # other's index is read from Git, then extended
    assert [r.version for r in store.deployments("qa-1")] == [2, 1]
    assert store.report(record(3))[0].seq == 3
    assert [r.seq for r in other.deployments("qa-1")] == [3, 2, 1]  # one new: walked
    for _ in range(40):  # more than WALK new records: one `git log`
        store.report(record(1, outcome="failed"))
    again = other.deployments("qa-1", limit=100)
    assert [r.seq for r in again] == list(range(43, 0, -1))
    assert len(other.deployments_of_version("TLO GE", "Milestone", 1)) == 41


def test_locks_refuse_expire_and_are_taken_over(store: DescriptorStore) -> None:
    lock, previous = store.acquire_lock("qa-1", {"by": "alice", "version": 2}, ttl=60)
    assert previous is None and store.lock("qa-1") == lock
    with pytest.raises(EnvironmentLockHeld, match="locked by alice") as refused:
        store.acquire_lock("qa-1", {"by": "bob"}, ttl=60)
    assert refused.value.details["lock"]["holder"]["by"] == "alice"
    assert refused.value.details["lock"]["id"] == lock.id  # a retried POST knows its own
    store.acquire_lock("qa-2", {"by": "bob"}, ttl=60)  # another environment: independent
    renewed = store.renew_lock("qa-1", lock.id, ttl=1)
    assert renewed.since == lock.since and renewed.expires < lock.expires
    # Expire it by writing its expiry in the past (a killed deployer stops renewing).
    expired = replace(renewed, expires="2000-01-01T00:00:00.000Z")
    store.ledger._envlocks._write(expired)
    assert store.lock("qa-1") is None
    taken, previous = store.acquire_lock("qa-1", {"by": "bob"}, ttl=60)
    assert previous is not None and previous.holder["by"] == "alice"
    with pytest.raises(NotFound, match="not held"):
        store.release_lock("qa-1", lock.id)  # alice's handle no longer works
    store.release_lock("qa-1", taken.id)
    assert store.lock("qa-1") is None


def test_the_ledger_survives_git_gc(repo: Path, store: DescriptorStore) -> None:
    store.report(record(1))
    store.gc()  # packs refs/ledger/* and refs/deployed/* into packed-refs
    assert not (repo / "refs" / "ledger" / "qa-1").exists()
    other = DescriptorStore(repo)
    assert other.environment("qa-1").deployments == 1
    store.report(record(2))  # the packed ref is updated in place
    assert [r.version for r in other.deployments("qa-1")] == [2, 1]
    [now] = other.environment("qa-1").deployed
    assert now.version == 2
