"""A publish's pack index is not fsynced: what a power cut can do to it is repaired on open.

The power cut is played by damaging the newest pack's index the ways a crash can leave a
file whose name was made durable but whose contents were not (missing, short, zero-filled,
garbage); the repository is then opened again, as a restarted registry does, and must read
every version back and pass ``git fsck``. And the spare files a pack is filled into
(:mod:`registry.store.sparefiles`): used, refilled, per process, and not required.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from consign.compose.fragments import parse_fragment
from consign.process import run
from registry.errors import StoreError
from registry.store import DescriptorStore, Target, packrepair
from registry.store.sparefiles import FOLDER, PREFIX, SpareFiles

TARGET = Target("Dur", "R1")


def publish(store: DescriptorStore, n: int) -> str:
    text = f"services:\n  web:\n    image: busybox:{n}\n"
    spec, _ = parse_fragment(text)
    [outcome] = store.publish([TARGET], None, text, spec, {"buildNumber": n})
    return outcome.version.commit


def newest_index(repo: Path) -> Path:
    indexes = (repo / "objects" / "pack").glob("pack-*.idx")
    return max(indexes, key=lambda p: p.stat().st_mtime_ns)


def fsck(repo: Path) -> str:
    done = run(["git", "--git-dir", str(repo), "fsck", "--full", "--strict", "--no-progress"])
    return done.stdout + done.stderr


def _truncate(index: Path) -> None:
    os.truncate(index, index.stat().st_size // 2)


def _zeros(index: Path) -> None:
    size = index.stat().st_size
    index.chmod(0o644)
    index.write_bytes(b"\0" * size)


def _garbage(index: Path) -> None:
    data = bytearray(index.read_bytes())
    data[1100] ^= 0xFF  # an object id in the middle
    index.chmod(0o644)
    index.write_bytes(bytes(data))


DAMAGES: dict[str, Callable[[Path], None]] = {
    "missing": lambda index: index.unlink(),
    "short": _truncate,
    "zero-filled": _zeros,
    "garbage": _garbage,
}


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_a_torn_index_is_rebuilt_when_the_repository_is_opened(tmp_path: Path, damage: str) -> None:
    repo = tmp_path / "repo.git"
    store = DescriptorStore(repo)
    commits = [publish(store, n) for n in (1, 2, 3)]
    store.close()
    index = newest_index(repo)
    whole = index.read_bytes()
    DAMAGES[damage](index)
    assert packrepair.torn_indexes(repo) == [index]

    store = DescriptorStore(repo)  # what a restarted registry does first
    try:
        assert index.read_bytes() == whole
        assert packrepair.torn_indexes(repo) == []
        for number, commit in enumerate(commits, start=1):
            assert store.version("Dur", "R1", number).commit == commit
        publish(store, 4)
    finally:
        store.close()
    out = fsck(repo)
    assert "error" not in out and "missing" not in out and "dangling" not in out, out


def test_whole_indexes_are_left_alone(tmp_path: Path) -> None:
    repo = tmp_path / "repo.git"
    store = DescriptorStore(repo)
    publish(store, 1)
    store.close()
    index = newest_index(repo)
    stamp = index.stat().st_mtime_ns
    assert packrepair.repair(repo) == []
    assert index.stat().st_mtime_ns == stamp


def test_a_torn_pack_is_refused_with_its_name(tmp_path: Path) -> None:
    """Possible only without durability (the pack is fsynced before its name is made)."""
    repo = tmp_path / "repo.git"
    store = DescriptorStore(repo, durable=False)
    publish(store, 1)
    store.close()
    index = newest_index(repo)
    pack = index.with_suffix(".pack")
    os.truncate(pack, pack.stat().st_size - 30)
    index.unlink()
    with pytest.raises(StoreError, match=rf"the pack {pack} has a torn index .*backup"):
        DescriptorStore(repo)


def test_a_write_fills_spare_files_and_replenish_makes_more(tmp_path: Path) -> None:
    repo = tmp_path / "repo.git"
    store = DescriptorStore(repo)
    try:
        folder = repo / FOLDER
        store.replenish()
        spares = {p.stat().st_ino: p for p in folder.glob(f"{PREFIX}*")}
        assert len(spares) == 4 and all(p.stat().st_size == 0 for p in spares.values())
        publish(store, 1)
        index = newest_index(repo)
        used = {index.stat().st_ino, index.with_suffix(".pack").stat().st_ino}
        assert used <= set(spares), "the pack and its index were not the spare files"
        assert oct(index.stat().st_mode & 0o777) == "0o444"
        assert len(list(folder.glob(f"{PREFIX}*"))) == 2
        store.replenish()
        assert len(list(folder.glob(f"{PREFIX}*"))) == 4
        # spares removed behind the store's back: it creates its files instead
        for p in folder.glob(f"{PREFIX}*"):
            p.unlink()
        commit = publish(store, 2)
        assert store.version("Dur", "R1", 2).commit == commit
    finally:
        store.close()
    assert list(folder.glob(f"{PREFIX}*")) == [], "close left spare files behind"
    out = fsck(repo)
    assert "error" not in out and "dangling" not in out, out


def test_a_forked_child_never_takes_its_parents_spares(tmp_path: Path) -> None:
    spares = SpareFiles(tmp_path)
    spares.replenish()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: reports what it could take, then makes its own
        taken = spares.take()
        spares.replenish()
        mine = all(str(os.getpid()) in p.name for p in spares._ready)
        os.write(write, f"{taken} {spares.count()} {mine}".encode())
        os._exit(0)
    os.close(write)
    answer = os.read(read, 1000).decode()
    os.waitpid(pid, 0)
    assert answer == "None 4 True", answer
    assert spares.count() == 4  # the parent's are all still there for it


@pytest.mark.parametrize("damage", ["missing", "short", "zero-filled"])
def test_a_large_index_is_checked_by_its_size_and_pack_checksum(
    tmp_path: Path, damage: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Indexes over ``HASHED_UP_TO`` (Git's own, fsynced by Git) are not hashed at each
    open; what a torn write leaves of one (missing, short, zeros) is still told apart."""
    repo = tmp_path / "repo.git"
    store = DescriptorStore(repo)
    publish(store, 1)
    store.close()
    monkeypatch.setattr(packrepair, "HASHED_UP_TO", 0)
    index = newest_index(repo)
    assert packrepair.torn_indexes(repo) == []
    whole = index.read_bytes()
    DAMAGES[damage](index)
    assert packrepair.repair(repo) == [index]
    assert index.read_bytes() == whole


def test_the_spares_of_a_process_that_is_gone_are_swept(tmp_path: Path) -> None:
    dead = subprocess.Popen(["true"])  # a pid that no longer runs
    dead.wait()
    (tmp_path / f"{PREFIX}{dead.pid}_0").write_bytes(b"")
    alive = tmp_path / f"{PREFIX}1_0"  # pid 1 runs (not ours to judge): left alone
    alive.write_bytes(b"")
    other = tmp_path / "notes.txt"
    other.write_text("not a spare")
    spares = SpareFiles(tmp_path)
    spares.replenish()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert f"{PREFIX}{dead.pid}_0" not in names
    assert alive.exists() and other.exists()
    assert len([n for n in names if n.startswith(f"{PREFIX}{os.getpid()}_")]) == spares.keep
    spares.discard()
