"""Housekeeping (a geometric repack from the publisher) and the read caches, functionally.

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
from registry.store.housekeeping import (
    Housekeeper,
    loose_estimate,
    pack_count,
    parse_git_version,
)

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
        assert build < 2000, "housekeeping never ran"
        publish(writer, f"svc{build % 5}", build)
        build += 1
    assert packs(repo), "housekeeping packed nothing"
    assert pack_count(repo) <= 8, "housekeeping left the publishes' packs apart"
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


def fsck_strict(repo: Path) -> None:
    run(["git", "--git-dir", str(repo), "fsck", "--strict", "--no-progress"])


def test_many_single_pack_publishes_keep_the_pack_count_bounded(repo: Path) -> None:
    """Past the pack limit a geometric repack (not a full one) bounds the packs; every
    version still reads, the repository is sound, and the loose tags get packed."""
    limit, total = 10, 400
    writer = DescriptorStore(repo, gc_min_interval=1)
    writer.housekeeper.pack_limit = limit
    reader = DescriptorStore(repo)
    try:
        assert writer.housekeeper.geometric(), "this machine's git has repack --geometric"
        most = 0
        for build in range(1, total + 1):
            publish(writer, f"svc{build % 7}", build)
            most = max(most, pack_count(repo))
            assert most <= limit + 1, f"{most} packs after {build} publishes"
        assert writer.housekeeper.runs >= 2
        # geometric: the big pack is kept, only the small ones are rolled together
        sizes = sorted(p.stat().st_size for p in packs(repo))
        assert len(sizes) <= limit
        fsck_strict(repo)
        assert (repo / "packed-refs").is_file()
        assert reader.version("TLO GE", "Milestone", None).number == total
        for number in range(1, total + 1):
            info, data = reader.descriptor("TLO GE", "Milestone", number)
            assert info.number == number
            assert f"B: '{number}'" in data.decode()
    finally:
        writer.close()
        reader.close()


def test_geometric_repack_rewrites_only_the_small_packs(repo: Path) -> None:
    """A large pack stays as it is while the recent small ones are rolled into one."""
    store = DescriptorStore(repo, gc_auto=0)
    try:
        for build in range(1, 101):
            publish(store, f"svc{build % 4}", build)
        run(["git", "--git-dir", str(repo), "repack", "-a", "-d", "-q"])  # one big pack
        (big,) = packs(repo)
        for build in range(101, 111):
            publish(store, f"svc{build % 4}", build)
        keeper = Housekeeper(repo, min_interval=1, pack_limit=5)
        assert keeper.after_publish() and keeper.runs == 1 and keeper.longest_pause > 0
        assert big in packs(repo), "the large pack was rewritten"
        assert len(packs(repo)) == 2
        fsck_strict(repo)
        assert store.descriptor("TLO GE", "Milestone", 110)[0].number == 110
    finally:
        store.close()


def test_an_old_git_falls_back_to_gc_auto(repo: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = DescriptorStore(repo, gc_auto=0)
    try:
        for build in range(1, 13):
            publish(store, f"svc{build % 3}", build)
        keeper = Housekeeper(repo, min_interval=1, pack_limit=5, git_version=(2, 31))
        with caplog.at_level("INFO", logger="registry.store.housekeeping"):
            assert keeper.after_publish()
        assert "falling back to `git gc --auto`" in caplog.text
        assert "`git gc --auto` took" in caplog.text
        assert pack_count(repo) == 1  # gc --auto repacks everything into one
        fsck_strict(repo)
    finally:
        store.close()


@pytest.mark.parametrize(
    ("text", "version"),
    [
        ("git version 2.39.5\n", (2, 39)),
        ("git version 2.32.0.windows.1", (2, 32)),
        ("git version 1.8.3.1", (1, 8)),
        ("", (0, 0)),
        ("git version unknown", (0, 0)),
    ],
)
def test_parse_git_version(text: str, version: tuple[int, int]) -> None:
    assert parse_git_version(text) == version


def http_backend_get(repo: Path, path: str) -> str:
    """A dumb-protocol GET answered by `git http-backend` (CGI), as /git/... does."""
    env = {
        "GIT_PROJECT_ROOT": str(repo.parent),
        "GIT_HTTP_EXPORT_ALL": "1",
        "PATH_INFO": f"/{repo.name}/{path}",
        "REQUEST_METHOD": "GET",
        "QUERY_STRING": "",
    }
    return run(["git", "http-backend"], env=env).stdout.split("\r\n\r\n", 1)[1]


def test_dumb_http_files_are_current_without_update_server_info(repo: Path) -> None:
    """The repack skips update-server-info (-n): http-backend must list the packs and refs
    that exist now, not those of an older info/ file."""
    store = DescriptorStore(repo, gc_min_interval=1)
    store.housekeeper.pack_limit = 5
    try:
        for build in range(1, 31):
            publish(store, f"svc{build % 3}", build)
        assert store.housekeeper.runs >= 3
        answer = http_backend_get(repo, "objects/info/packs").splitlines()
        listed = {line.split()[1] for line in answer if line.startswith("P ")}
        assert listed == {p.name for p in packs(repo)}
        served = {
            line.split("\t")[1]
            for line in http_backend_get(repo, "info/refs").splitlines()
            if not line.endswith("^{}")
        }
        listed_refs = run(
            ["git", "--git-dir", str(repo), "for-each-ref", "--format=%(refname)"]
        ).stdout.split()
        assert served == set(listed_refs) and len(served) >= 30
    finally:
        store.close()
