"""Git's own lock files on a real `consign serve`: never removed by the store, however old.

A ``<ref>.lock`` is left behind only by a Git process killed outright (or a power cut). A
write that must move that ref is refused with 503 ``ref_locked``, naming the ref and the
lock file, and moves nothing; once an operator has removed the file, the same request
(a retry) succeeds.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.registry.conftest import git_locks, refs
from tests.registry.test_app_ledger import report
from tests.registry.test_serve import BASE, all_versions, put
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

    for _attempt in range(2):  # every worker answers the same, the lock stays
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
