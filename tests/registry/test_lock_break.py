"""Breaking an environment's lock in the store (real Git, fsck-checked): an ``unlock``
event in the ledger that never changes what runs; replacing a lock by its id."""

from __future__ import annotations

from pathlib import Path

import pytest

from consign.process import run
from registry.errors import EnvironmentLockHeld, NotFound
from registry.store import DescriptorStore, records
from tests.registry.test_ledger_store import record, store  # noqa: F401 (the fixture)


def test_a_broken_lock_is_an_unlock_event(repo: Path, store: DescriptorStore) -> None:  # noqa: F811
    deployed, _ = store.report(record(2))
    holder = {"by": "bob", "application": "TLO GE", "release": "Milestone", "version": "3",
              "host": "h", "pid": 12}  # fmt: skip
    lock, _ = store.acquire_lock("qa-1", holder, ttl=60)
    with pytest.raises(NotFound, match="not held any more"):
        store.break_lock("qa-1", "another-id", "ops", "why")
    broken, stored, why_not = store.break_lock("qa-1", lock.id, "ops", "bob's host died")
    assert broken == lock and why_not == "" and store.lock("qa-1") is None
    assert stored is not None and (stored.kind, stored.outcome, stored.by) == (
        "unlock", "broken", "ops"
    )  # fmt: skip
    assert stored.version == 3 and stored.reason == "bob's host died"
    assert stored.lock is not None and stored.lock["holder"]["pid"] == 12
    (current,) = store.environment("qa-1").deployed
    assert current.id == deployed.id  # an event: what runs is unchanged
    message = run(["git", "--git-dir", str(repo), "log", "-1", "--format=%B", "refs/ledger/qa-1"])
    assert message.stdout.startswith("qa-1: unlock TLO GE/Milestone v3: broken")
    assert "Reason: bob's host died" in message.stdout
    with pytest.raises(NotFound, match="is not locked"):
        store.break_lock("qa-1", None, "ops", "again")


def test_a_holders_unknown_version_is_recorded_without_it(store: DescriptorStore) -> None:  # noqa: F811
    holder = {"by": "bob", "application": "TLO GE", "release": "Milestone", "version": "99"}
    store.acquire_lock("qa-2", holder, ttl=60)
    _, stored, _ = store.break_lock("qa-2", None, "ops", "stuck")
    assert stored is not None and stored.version is None
    store.acquire_lock("qa-2", {"by": "bob", "application": "Nope", "release": "R"}, ttl=60)
    _, stored, why_not = store.break_lock("qa-2", None, "ops", "stuck")
    assert stored is None and "Nope" in why_not and store.lock("qa-2") is None


def test_other_records_keep_their_stored_bytes() -> None:
    plain = record(1)
    assert "reason" not in records.to_json(plain) and "lock" not in records.to_json(plain)
    assert records.load(records.dump(plain)) == plain


def test_replace_takes_only_the_lock_it_names(store: DescriptorStore) -> None:  # noqa: F811
    first, _ = store.acquire_lock("qa-3", {"by": "a"}, ttl=60)
    with pytest.raises(EnvironmentLockHeld):
        store.acquire_lock("qa-3", {"by": "b"}, ttl=60, replace="not-it")
    second, took = store.acquire_lock("qa-3", {"by": "b"}, ttl=60, replace=first.id)
    assert took == first and store.lock("qa-3") == second
    with pytest.raises(EnvironmentLockHeld):  # the same replace again: that lock is gone
        store.acquire_lock("qa-3", {"by": "c"}, ttl=60, replace=first.id)
