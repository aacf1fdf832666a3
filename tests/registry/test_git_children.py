"""A killed worker takes its Git children with it: no ``git gc`` (nor the ``repack`` and
``pack-objects`` it starts) keeps running outside the publish lock its parent held."""

from __future__ import annotations

import multiprocessing
import os
import signal
from pathlib import Path

from consign.process import run
from registry.store import DescriptorStore
from tests.procs import wait_for_git, wait_for_no_git
from tests.registry.conftest import fsck

FORK = multiprocessing.get_context("fork")


def _fill(repo: Path, files: int) -> None:
    """One commit of ``files`` random blobs (incompressible), so packing takes a while."""
    stream = [b"commit refs/heads/filler\ncommitter t <t@t> 0 +0000\ndata 0\n"]
    for i in range(files):
        data = os.urandom(4096).hex().encode()
        stream.append(b"M 100644 inline f%d\ndata %d\n%s\n" % (i, len(data), data))
    run(["git", "--git-dir", str(repo), "fast-import", "--quiet"], input=b"".join(stream))
    run(["git", "--git-dir", str(repo), "repack", "-a", "-d", "-q"])  # one pack, unpacked below
    run(["git", "--git-dir", str(repo), "unpack-objects", "-q"], input=_pack(repo))


def _pack(repo: Path) -> bytes:
    [pack] = (repo / "objects" / "pack").glob("*.pack")
    data = pack.read_bytes()
    for leftover in (repo / "objects" / "pack").iterdir():
        leftover.unlink()
    return data


def _gc(store: DescriptorStore) -> None:
    store.gc()


def test_a_killed_worker_leaves_no_git_gc_running(repo: Path) -> None:
    store = DescriptorStore(repo)
    _fill(repo, 1500)
    child = FORK.Process(target=_gc, args=(store,))
    child.start()
    try:
        packing = wait_for_git(repo, "pack-objects", timeout=120)
        assert packing is not None, "git gc never started packing"
    finally:
        os.kill(child.pid or 0, signal.SIGKILL)
        child.join(timeout=30)
    assert child.exitcode == -signal.SIGKILL
    left = wait_for_no_git(repo, timeout=30)
    assert not left, f"git processes outlived the killed worker: {left}"
    fsck(repo)
    store.gc()  # and the repository is still fine to pack under the lock
