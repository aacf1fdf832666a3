"""A full disk through a real `consign serve`: the repository on a 2 MB tmpfs, filled up.

Publishes, promotions, ledger reports and environment locks answer 507
``insufficient_storage`` naming the repository and its free space; nothing moves and nothing
is left half-written; once space is freed the same requests succeed and ``git fsck`` finds
the repository whole.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests

from consign.process import run
from registry.store.sparefiles import PREFIX as SPARE_PREFIX
from tests.registry.conftest import b64
from tests.serving import ServedRegistry

APP = "TLO GE"
API = f"/api/applications/{quote(APP)}/releases"
FRAGMENT = "services:\n  web:\n    image: busybox\n    environment:\n      BUILD: '{n}'\n"

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("mount") is None, reason="mounts a tmpfs: needs root"
)


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs of its own, unmounted afterwards."""
    where = tmp_path / "disk"
    where.mkdir()
    run(
        [
            "mount",
            "-t",
            "tmpfs",
            "-o",
            "size=2m",
            f"consign-test-{uuid.uuid4().hex[:8]}",
            str(where),
        ]
    )
    try:
        yield where
    finally:
        run(["umount", "--lazy", str(where)], check=False)


def fill(disk: Path) -> Path:
    """Write zeros to a file on ``disk`` until the filesystem is full; return the file."""
    filler = disk / "filler"
    chunk = b"\0" * 4096
    with filler.open("wb", buffering=0) as out:
        try:
            while True:
                out.write(chunk)
        except OSError as e:
            assert e.errno == errno.ENOSPC, e
    with contextlib.suppress(OSError), (disk / "filler-tail").open("wb", buffering=0) as out:
        while True:  # the last partial page, if any
            out.write(b"\0")
    return filler


def publish(url: str, n: int, release: str = "Milestone") -> requests.Response:
    body = {"fragment": b64(FRAGMENT.format(n=n)), "applications": [APP], "releases": [release]}
    return requests.put(f"{url}/fragment", json=body, timeout=30)


def promote(url: str, to: str, version: int) -> requests.Response:
    body = {"from_release": "Milestone", "version": version, "by": "alice", "create": True}
    return requests.post(f"{url}{API}/{to}/promotions", json=body, timeout=30)


def report(url: str, version: int) -> requests.Response:
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "kind": "deploy",
        "application": APP,
        "release": "Milestone",
        "version": version,
        "outcome": "ok",
        "started": "2026-12-01T10:00:00Z",
        "finished": "2026-12-01T10:00:30Z",
        "by": "alice",
        "engine": {"name": "host-a", "id": "XYZ", "host": "unix:///var/run/docker.sock"},
        "source": "http://registry:9090",
        "services": [],
    }
    return requests.post(f"{url}/api/environments/qa-1/deployments", json=body, timeout=30)


def take_lock(url: str) -> requests.Response:
    body = {"holder": {"by": "alice"}, "ttl": 60}
    return requests.post(f"{url}/api/environments/qa-1/lock", json=body, timeout=30)


def state(repo: Path) -> tuple[str, list[str]]:
    """Every ref with its value, and every file the store or Git left in the repository
    that is not a finished object, ref or lock of our own (temporary packs, ref locks)."""
    refs = run(["git", "--git-dir", str(repo), "for-each-ref"]).stdout
    files = list(repo.rglob("*"))
    # the empty files a worker keeps ready for its next pack (registry/store/sparefiles.py)
    # are its own, as the publish lock is; a spare with something in it is a torn write
    spares = [p for p in files if p.name.startswith(SPARE_PREFIX)]
    stray = [str(p.relative_to(repo)) for p in spares if p.stat().st_size != 0]
    stray += [
        str(p.relative_to(repo))
        for p in files
        if p.name.startswith(("tmp_", ".tmp")) or p.name.endswith((".lock", ".tmp"))
        if p.name != "consign-publish.lock" and p not in spares
    ]
    return refs, sorted(stray)


def assert_full(answer: requests.Response, repo: Path) -> None:
    assert answer.status_code == 507, answer.text
    body = answer.json()
    assert body["error"] == "insufficient_storage"
    assert body["repository"] == str(repo)
    assert isinstance(body["free_bytes"], int) and body["free_bytes"] < 64 * 1024
    assert str(repo) in body["message"] and f"{body['free_bytes']} bytes free" in body["message"]


def test_a_full_disk_answers_507_moves_nothing_and_the_retry_succeeds(
    tmp_path: Path, disk: Path
) -> None:
    repo = disk / "repo.git"
    with ServedRegistry(repo, tmp_path / "serve.log", workers=1).start() as server:
        url = server.url
        assert publish(url, 1).status_code == 201
        assert promote(url, "QA", 1).status_code == 201
        before = state(repo)
        assert before[1] == []

        filler = fill(disk)
        assert_full(publish(url, 2), repo)
        assert_full(publish(url, 2, "Brand New"), repo)  # new ref folders too
        assert_full(promote(url, "UAT", 1), repo)
        assert_full(report(url, 1), repo)
        assert_full(take_lock(url), repo)
        assert state(repo) == before, "a refused write moved a ref or left a file behind"
        # reads go on meanwhile
        latest = requests.get(f"{url}{API}/Milestone/versions/latest", timeout=30)
        assert latest.status_code == 200 and latest.json()["version"] == 1

        filler.unlink()
        (disk / "filler-tail").unlink(missing_ok=True)
        answer = publish(url, 2)
        assert answer.status_code == 201, answer.text
        assert answer.json()["versions"][0]["version"] == 2
        assert publish(url, 2, "Brand New").status_code == 201
        assert promote(url, "UAT", 1).status_code == 201
        assert report(url, 1).status_code == 201
        assert take_lock(url).status_code == 201
    fsck = run(["git", "--git-dir", str(repo), "fsck", "--strict", "--no-progress"])
    assert "dangling" not in fsck.stdout + fsck.stderr and "error" not in fsck.stderr, fsck
    assert state(repo)[1] == []
