"""Git's own lock files on a real `consign serve`: never removed by the store, however old.

A ``<ref>.lock`` is left behind only by a Git process killed outright (or a power cut). A
write that must move that ref is refused with 503 ``ref_locked``, naming the ref and the
lock file, and moves nothing; once an operator has removed the file, the same request
(a retry) succeeds. And the Git behaviour this relies on, with a real ``update-ref``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from consign.process import stop
from registry.errors import RefLocked
from registry.store import DescriptorStore
from registry.store.refs import RefDB, RefUpdate
from tests.registry.conftest import git_locks, refs
from tests.registry.test_app_ledger import report
from tests.registry.test_serve import BASE, all_versions, put
from tests.registry.test_store import frag, publish
from tests.serving import ServedRegistry

A_MONTH_AGO = time.time() - 30 * 86400


def leave_lock(repo: Path, ref: str) -> Path:
    """A lock file as a SIGKILLed Git leaves it, made old."""
    lock = repo / (ref + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text("")
    os.utime(lock, (A_MONTH_AGO, A_MONTH_AGO))
    return lock


def assert_refused(response: requests.Response, ref: str, lock: Path) -> None:
    assert response.status_code == 503, response.text
    assert int(response.headers["Retry-After"]) > 0
    body: dict[str, Any] = response.json()
    assert (body["error"], body["ref"], body["lock"]) == ("ref_locked", ref, str(lock))
    assert str(lock) in body["message"] and "operator" in body["message"]
    assert lock.exists() and lock.stat().st_mtime == A_MONTH_AGO  # left alone


@pytest.mark.parametrize("ref", ["refs/heads/TLO%20GE/Milestone", "refs/tags/TLO%20GE/Milestone/2"])
def test_a_leftover_ref_lock_refuses_the_publish_until_removed(
    served: ServedRegistry, repo: Path, ref: str
) -> None:
    assert put(served.url, "web").status_code == 201
    lock = leave_lock(repo, ref)
    before = refs(repo)

    for _attempt in range(2):  # asked again: the same answer, the lock stays
        assert_refused(put(served.url, "db"), ref, lock)
    assert refs(repo) == before  # nothing moved: no version 2, no tag
    assert [v["version"] for v in all_versions(served.url)] == [1]
    assert requests.get(f"{served.url}{BASE}/versions/2", timeout=30).status_code == 404

    lock.unlink()  # the operator, having checked that no git process runs
    retried = put(served.url, "db")
    assert retried.status_code == 201, retried.text
    assert retried.json()["versions"][0]["version"] == 2
    assert sorted(c["name"] for c in all_versions(served.url)[0]["components"]) == ["db", "web"]
    assert not git_locks(repo)


def test_a_leftover_ledger_lock_refuses_the_report_until_removed(
    served: ServedRegistry, repo: Path
) -> None:
    assert put(served.url, "web").status_code == 201
    lock = leave_lock(repo, "refs/ledger/qa")
    before = refs(repo)
    body = report(1)
    url = f"{served.url}/api/environments/qa/deployments"

    assert_refused(requests.post(url, json=body, timeout=30), "refs/ledger/qa", lock)
    assert refs(repo) == before

    lock.unlink()
    assert requests.post(url, json=body, timeout=30).status_code == 201
    assert requests.post(url, json=body, timeout=30).status_code == 200  # a retry: once
    assert not git_locks(repo)


def _prepared_update_ref(repo: Path, ref: str, commit: str) -> subprocess.Popen[bytes]:
    """A ``git update-ref --stdin`` holding ``ref``'s lock: its transaction prepared."""
    proc = subprocess.Popen(
        ["git", "--git-dir", str(repo), "update-ref", "--stdin"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(f"start\ncreate {ref} {commit}\nprepare\n".encode())
    proc.stdin.flush()
    assert proc.stdout.readline() == b"start: ok\n"
    assert proc.stdout.readline() == b"prepare: ok\n"
    return proc


@pytest.mark.parametrize("ending", ["end of input", "SIGTERM", "SIGINT", "SIGKILL"])
def test_only_a_git_killed_outright_leaves_its_ref_lock(tmp_path: Path, ending: str) -> None:
    """What the store relies on instead of clearing locks: Git removes its own lock when its
    input ends (a killed worker's orphaned ``update-ref``) or on SIGTERM/SIGINT (a tied
    child whose worker died); after a SIGKILL the lock stays and a write is refused."""
    repo = tmp_path / "repo.git"
    store = DescriptorStore(repo)
    try:
        [one] = publish(store, frag("web"))
        ref = "refs/heads/Other/R1"
        proc = _prepared_update_ref(repo, ref, one.version.commit)
        lock = repo / (ref + ".lock")
        assert lock.exists()
        assert proc.stdin is not None
        try:
            if ending == "end of input":
                proc.stdin.close()
            else:
                proc.send_signal(getattr(signal, ending))
            proc.wait(timeout=30)
        finally:
            stop(proc)  # its pipes closed even when it did not end
        assert ref not in refs(repo)  # the transaction was never committed
        if ending != "SIGKILL":
            assert not git_locks(repo)
            return
        assert git_locks(repo) == [ref + ".lock"]
        refs_db = RefDB(repo)
        try:
            with pytest.raises(RefLocked) as caught:
                refs_db.transaction([RefUpdate(ref, one.version.commit, None)])
            assert caught.value.details == {"ref": ref, "lock": str(lock)}
            lock.unlink()
            refs_db.transaction([RefUpdate(ref, one.version.commit, None)])
        finally:
            refs_db.close()
        assert refs(repo)[ref] == one.version.commit
    finally:
        store.close()
