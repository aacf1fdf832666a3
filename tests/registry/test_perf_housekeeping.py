"""Housekeeping (`git gc --auto` from the publisher) and the read caches, functionally.

No timings here: these check that the speed-ups keep every answer right.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from consign.process import run
from registry.assembly import parse_fragment
from registry.errors import RegistryError
from registry.store import DescriptorStore, PublishOutcome, Target
from registry.store.housekeeping import loose_estimate, pack_count

GE = Target("TLO GE", "Milestone")


def frag(service: str, build: int) -> str:
    return f"services:\n  {service}:\n    image: busybox\n    environment:\n      B: '{build}'\n"


def publish(store: DescriptorStore, service: str, build: int) -> list[PublishOutcome]:
    text = frag(service, build)
    spec, _ = parse_fragment(text)
    return store.publish([GE], service, text, spec, {"buildNumber": build})


def packs(repo: Path) -> list[Path]:
    return sorted((repo / "objects" / "pack").glob("*.pack"))


@pytest.fixture
def stores(repo: Path) -> Iterator[tuple[DescriptorStore, DescriptorStore]]:
    """A publisher that runs `gc --auto` at a tiny threshold, and a separate reader."""
    writer = DescriptorStore(repo, gc_auto=256, gc_min_interval=1)
    reader = DescriptorStore(repo)
    yield writer, reader
    writer.close()
    reader.close()


def test_publishing_runs_gc_auto_and_readers_with_open_sessions_survive_it(
    repo: Path, stores: tuple[DescriptorStore, DescriptorStore]
) -> None:
    writer, reader = stores
    publish(writer, "web", 0)
    assert reader.version("TLO GE", "Milestone", 1).number == 1  # its cat-file session runs
    build = 1
    while writer.housekeeper.runs == 0:
        assert build < 2000, "git gc --auto never ran"
        publish(writer, f"svc{build % 5}", build)
        build += 1
    assert packs(repo), "gc --auto packed nothing"
    assert pack_count(repo) <= 2, "gc --auto left the publishes' packs apart"
    assert loose_estimate(repo) <= 256
    assert (repo / "packed-refs").is_file()
    # The reader's cat-file session started before the gc; every version is still there.
    latest = reader.version("TLO GE", "Milestone", None).number
    assert latest == build
    for number in (1, latest // 2, latest - 1, latest):
        info, data = reader.descriptor("TLO GE", "Milestone", number)
        assert info.number == number and data.startswith(b"services:\n")
    assert [v.number for v in reader.versions("TLO GE", "Milestone", limit=3)] == [
        latest,
        latest - 1,
        latest - 2,
    ]
    # Publishing goes on from both processes' points of view.
    assert publish(reader, "late", 1)[0].version.number == latest + 1
    assert [c.name for c in writer.components("TLO GE", "Milestone")][-1] == "late"


def test_gc_auto_zero_never_runs_gc(repo: Path) -> None:
    store = DescriptorStore(repo, gc_auto=0, gc_min_interval=1)
    try:
        for build in range(60):
            publish(store, f"svc{build % 3}", build)
        # each write is its own pack (HEAD's first commit, then one a publish) and
        # nothing consolidated them or packed the refs
        assert store.housekeeper.runs == 0 and len(packs(repo)) == 1 + 60
        assert not (repo / "packed-refs").exists()
    finally:
        store.close()


def test_numbered_descriptor_is_answered_from_memory_once_read(repo: Path) -> None:
    """After the first read a numbered version needs no ref and no Git object: it still
    answers with the repository moved away, while `latest` (which moves) cannot."""
    store = DescriptorStore(repo)
    moved = repo.with_name("elsewhere.git")
    try:
        publish(store, "web", 1)
        publish(store, "db", 2)
        first = store.descriptor("TLO GE", "Milestone", 1)
        second = store.version("TLO GE", "Milestone", 2)
        store.close()  # no cat-file session left
        repo.rename(moved)
        assert store.descriptor("TLO GE", "Milestone", 1) == first
        assert store.version("TLO GE", "Milestone", 2) == second
        with pytest.raises(RegistryError):  # NotFound: the refs are gone
            store.descriptor("TLO GE", "Milestone", None)
    finally:
        if moved.exists():
            moved.rename(repo)
        store.close()


def test_components_after_another_process_published_are_complete(repo: Path) -> None:
    """Fragments are cached by sha256; a version written elsewhere still reads whole."""
    one, two = DescriptorStore(repo), DescriptorStore(repo)
    try:
        publish(one, "web", 1)
        publish(one, "db", 1)
        assert [c.name for c in one.components("TLO GE", "Milestone")] == ["web", "db"]
        publish(two, "web", 2)  # `one` has every fragment but this one cached
        publish(two, "cache", 1)
        found = {c.name: c for c in one.components("TLO GE", "Milestone")}
        assert list(found) == ["web", "db", "cache"]
        assert found["web"].fragment == frag("web", 2)
        assert found["web"].build == {"buildNumber": 2}
        assert found["db"].fragment == frag("db", 1)
        text = run(
            ["git", "--git-dir", str(repo), "show", "TLO%20GE/Milestone/4:docker-compose.yml"]
        )
        assert one.descriptor("TLO GE", "Milestone", 4)[1].decode() == text.stdout
    finally:
        one.close()
        two.close()
