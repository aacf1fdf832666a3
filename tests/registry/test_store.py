"""DescriptorStore against real bare repositories and real git (fsck-checked after each test)."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from consign.compose import yamlio
from consign.compose.errors import InvalidFragment, InvalidName
from consign.compose.normalize import normalize
from consign.process import run
from registry.assembly import parse_fragment
from registry.errors import (
    BadRequest,
    Conflict,
    NotFound,
    RefLocked,
    StoreError,
)
from registry.store import ComponentInfo, DescriptorStore, PublishOutcome, Target
from registry.store.refs import ZERO, RefDB, RefUpdate
from tests.registry.conftest import objects, refs

GE = Target("TLO GE", "Milestone")
EE = Target("TLO EE", "Milestone")


def frag(*services: str, image: str = "busybox", extra: str = "") -> str:
    return "services:\n" + "".join(
        f"  {s}:\n    image: {image}\n    container_name: {s}\n{extra}" for s in services
    )


def publish(
    store: DescriptorStore,
    text: str,
    targets: list[Target] | None = None,
    component: str | None = None,
    build: dict[str, Any] | None = None,
) -> list[PublishOutcome]:
    spec, _ = parse_fragment(text)
    return store.publish(targets or [GE], component, text, spec, build or {})


def git(repo: Path, *args: str) -> str:
    return run(["git", "--git-dir", str(repo), *args]).stdout


@pytest.fixture
def store(repo: Path) -> Iterator[DescriptorStore]:
    opened = DescriptorStore(repo)
    yield opened
    opened.close()


def test_new_store_creates_a_bare_repo(repo: Path, store: DescriptorStore) -> None:
    assert git(repo, "rev-parse", "--is-bare-repository").strip() == "true"
    assert store.repo_path() == repo.resolve()
    assert store.applications() == []
    assert store.components("TLO GE", "Milestone") == []
    DescriptorStore(repo)  # opening an existing repo again is fine


def test_round_trip(repo: Path, store: DescriptorStore) -> None:
    text = frag("web", extra="    depends_on: [db]\n")
    [out] = publish(store, text, [GE], build={"plan": "TLO-WEB", "number": 42})
    assert out.created and out.version.number == 1
    assert out.warnings == out.version.warnings and "db" in out.warnings[0]
    info, descriptor = store.descriptor("TLO GE", "Milestone", 1)
    assert info == out.version == store.version("TLO GE", "Milestone", None)
    assert info.tag == "TLO%20GE/Milestone/1" and info.component == "web"
    assert info.build == {"plan": "TLO-WEB", "number": 42}
    assert info.components == [
        ComponentInfo(
            name="web",
            sha256=hashlib.sha256(text.encode()).hexdigest(),
            build={"plan": "TLO-WEB", "number": 42},
            services=("web",),
            fragment="fragments/web.yml",
        )
    ]
    assert b"container_name: web" in descriptor
    [component] = store.components("TLO GE", "Milestone", 1)
    assert component.fragment == text and component.name == "web"
    # What Git holds: the tree, the verbatim fragment, the manifest, the tag.
    tag = "refs/tags/TLO%20GE/Milestone/1"
    assert refs(repo)[tag] == refs(repo)["refs/heads/TLO%20GE/Milestone"] == info.commit
    assert git(repo, "ls-tree", "--name-only", "-r", tag).split() == [
        "consign.json",
        "docker-compose.yml",
        "fragments/web.yml",
    ]
    assert git(repo, "show", f"{tag}:fragments/web.yml") == text
    assert git(repo, "show", f"{tag}:docker-compose.yml").encode() == descriptor
    manifest = git(repo, "show", f"{tag}:consign.json")
    assert json.loads(manifest)["version"] == 1
    assert manifest == (
        json.dumps(json.loads(manifest), sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    )
    assert (info.state, info.state_reason) == ("incomplete", "incomplete: web → db")
    # A fresh store (cold caches, as in another gunicorn worker) reads the same.
    fresh = DescriptorStore(repo)
    assert fresh.descriptor("TLO GE", "Milestone", 1) == (info, descriptor)
    assert fresh.components("TLO GE", "Milestone") == store.components("TLO GE", "Milestone")


def test_commit_message_and_trailers(repo: Path, store: DescriptorStore) -> None:
    publish(store, frag("aa", "bb"), [GE], component="mysql", build={"plan": "P-J", "number": 7})
    publish(store, frag("aa", "cc", image="busybox:1"), [GE], component="mysql")
    message = git(repo, "log", "-1", "--format=%B", "refs/heads/TLO%20GE/Milestone")
    assert message.splitlines()[0] == "TLO GE/Milestone v2: mysql"
    assert "Added: cc" in message and "Changed: aa" in message and "Removed: bb" in message
    trailers = git(repo, "log", "-1", "--format=%(trailers:only,unfold)", "TLO%20GE/Milestone/1")
    assert trailers.split("\n")[:5] == [
        "Consign-Application: TLO GE",
        "Consign-Release: Milestone",
        "Consign-Version: 1",
        "Consign-Component: mysql",
        'Consign-Build: {"number":7,"plan":"P-J"}',
    ]
    first = git(repo, "log", "-1", "--format=%s|%an <%ae>|%cn", "TLO%20GE/Milestone/1")
    assert first.strip() == (
        "TLO GE/Milestone v1: mysql (P-J #7)|Consignment Registry <registry@consignment>"
        "|Consignment Registry"
    )


def test_versions_rise_by_one_and_page_newest_first(store: DescriptorStore) -> None:
    for n in range(1, 8):
        [out] = publish(store, frag("web", image=f"busybox:{n}"))
        assert out.version.number == n and out.created
    numbers = [v.number for v in store.versions("TLO GE", "Milestone")]
    assert numbers == [7, 6, 5, 4, 3, 2, 1]
    assert [v.number for v in store.versions("TLO GE", "Milestone", limit=3)] == [7, 6, 5]
    assert [v.number for v in store.versions("TLO GE", "Milestone", limit=3, before=5)] == [
        4,
        3,
        2,
    ]
    assert [v.number for v in store.versions("TLO GE", "Milestone", before=2)] == [1]
    assert store.versions("TLO GE", "Milestone", before=1) == []
    assert [v.number for v in store.versions("TLO GE", "Milestone", before=99, limit=1)] == [7]
    assert store.version("TLO GE", "Milestone", 3).build == {}
    assert b"busybox:3" in store.descriptor("TLO GE", "Milestone", 3)[1]


def test_unknown_names_and_versions_are_not_found(store: DescriptorStore) -> None:
    publish(store, frag("web"))
    cases = [
        (lambda: store.releases("Nope"), "unknown application 'Nope'"),
        (lambda: store.version("Nope", "Milestone", 1), "unknown application 'Nope'"),
        (lambda: store.versions("TLO GE", "M2"), "has no release 'M2'"),
        (lambda: store.descriptor("TLO GE", "Milestone", 2), "has no version 2 (latest is 1)"),
        (lambda: store.version("TLO GE", "Milestone", 0), "has no version 0"),
        (lambda: store.components("TLO GE", "M2", 1), "has no release 'M2'"),
    ]
    for call, message in cases:
        with pytest.raises(NotFound) as caught:
            call()
        assert message in caught.value.message
    assert store.applications() == ["TLO GE"] and store.releases("TLO GE") == ["Milestone"]


def test_retry_creates_nothing_and_tags_never_move(repo: Path, store: DescriptorStore) -> None:
    text = frag("web")
    first = publish(store, text, [GE, EE], build={"number": 1})
    publish(store, frag("db"), [GE])
    before_refs, before_objects = refs(repo), objects(repo)
    outcomes = publish(store, text, [GE, EE], build={"number": 1})
    assert [(o.created, o.version.number) for o in outcomes] == [(False, 2), (False, 1)]
    assert outcomes[1].version == first[1].version
    assert refs(repo) == before_refs and objects(repo) == before_objects
    # Same text with a new build is a new version (QA must see which build it got).
    [rebuilt] = publish(store, text, [GE], build={"number": 2})
    assert rebuilt.created and rebuilt.version.number == 3
    after = refs(repo)
    assert {k: v for k, v in after.items() if k.startswith("refs/tags/")} == {
        **{k: v for k, v in before_refs.items() if k.startswith("refs/tags/")},
        "refs/tags/TLO%20GE/Milestone/3": rebuilt.version.commit,
    }


def test_a_conflict_on_one_target_writes_nothing_anywhere(
    repo: Path, store: DescriptorStore
) -> None:
    publish(store, frag("web"), [GE, EE])
    publish(store, frag("db"), [EE], component="database")
    before_refs, before_objects = refs(repo), objects(repo)
    with pytest.raises(Conflict) as caught:
        # Fine on GE, but on EE service db belongs to component 'database'.
        publish(store, frag("db", image="busybox:2"), [GE, EE], component="other")
    assert "database" in caught.value.message and "other" in caught.value.message
    assert refs(repo) == before_refs and objects(repo) == before_objects


def test_a_failed_ref_transaction_moves_nothing(repo: Path, store: DescriptorStore) -> None:
    one, _ = publish(store, frag("web"), [GE, EE])
    # Make the transaction fail on its last ref: EE's tag 2 already exists.
    git(repo, "update-ref", "refs/tags/TLO%20EE/Milestone/2", one.version.commit)
    before = refs(repo)
    with pytest.raises(StoreError) as caught:
        publish(store, frag("web", image="busybox:2"), [GE, EE])
    assert "no ref moved" in caught.value.message
    assert refs(repo) == before
    git(repo, "update-ref", "-d", "refs/tags/TLO%20EE/Milestone/2")
    assert [o.version.number for o in publish(store, frag("web", image="x"), [GE, EE])] == [2, 2]


def test_a_ref_lock_left_by_a_dead_git_is_never_removed(repo: Path, store: DescriptorStore) -> None:
    publish(store, frag("web"))
    lock = repo / "refs/heads/TLO%20GE/Milestone.lock"
    lock.write_text("")
    old = time.time() - 30 * 86400  # however old: only Git knows whether its owner runs
    os.utime(lock, (old, old))
    before = refs(repo)
    with pytest.raises(RefLocked) as caught:
        publish(store, frag("web", image="busybox:2"))
    assert caught.value.status == 503
    assert caught.value.details == {"ref": "refs/heads/TLO%20GE/Milestone", "lock": str(lock)}
    assert str(lock) in caught.value.message and "operator" in caught.value.message
    assert lock.exists() and lock.stat().st_mtime == old
    assert refs(repo) == before
    lock.unlink()  # what the operator does
    assert publish(store, frag("web", image="busybox:2"))[0].version.number == 2


def test_a_locked_packed_refs_names_its_lock(repo: Path, store: DescriptorStore) -> None:
    """A leftover ``packed-refs.lock`` blocks deleting a ref: named the same way."""
    [one] = publish(store, frag("web"))
    lock = repo / "packed-refs.lock"
    lock.write_text("")
    before = refs(repo)
    tag = "refs/tags/TLO%20GE/Milestone/1"
    ref_db = RefDB(repo)
    try:
        with pytest.raises(RefLocked) as caught:
            ref_db.transaction([RefUpdate(tag, ZERO, one.version.commit)])
        assert caught.value.details == {"ref": tag, "lock": str(lock)}
        assert refs(repo) == before and lock.exists()
        lock.unlink()
        ref_db.transaction([RefUpdate(tag, ZERO, one.version.commit)])
    finally:
        ref_db.close()
    assert tag not in refs(repo)


def test_clone_and_checkout_a_tag_gives_the_descriptor(
    tmp_path: Path, repo: Path, store: DescriptorStore
) -> None:
    publish(store, frag("web"), [GE])
    [two] = publish(store, frag("db"), [GE])
    work = tmp_path / "clone"
    run(["git", "clone", "--quiet", str(repo), str(work)])
    run(["git", "-C", str(work), "checkout", "--quiet", "TLO%20GE/Milestone/2"])
    assert (work / "docker-compose.yml").read_bytes() == store.descriptor("TLO GE", "Milestone", 2)[
        1
    ]
    head = run(["git", "-C", str(work), "rev-parse", "HEAD"]).stdout.strip()
    assert head == two.version.commit
    assert sorted(p.name for p in (work / "fragments").iterdir()) == ["db.yml", "web.yml"]


@pytest.mark.docker
def test_checked_out_descriptor_passes_compose_config(
    tmp_path: Path, store: DescriptorStore
) -> None:
    publish(store, frag("web", extra="    volumes_from: [data]\n"), [GE])
    publish(store, frag("data"), [GE])
    work = tmp_path / "clone"
    run(["git", "clone", "--quiet", str(store.repo_path()), str(work)])
    run(["git", "-C", str(work), "checkout", "--quiet", "TLO%20GE/Milestone/2"])
    run(["docker", "compose", "-p", "rs-config", "config", "-q"], cwd=work)


def test_unicode_and_tricky_names_round_trip(store: DescriptorStore) -> None:
    targets = [Target("日本 🐳", "..a.lock"), Target("-x", "@{ ~^:?*[\\")]
    outcomes = publish(store, frag("web"), targets, component="ünï cödé")
    assert [o.version.number for o in outcomes] == [1, 1]
    assert store.applications() == sorted(["日本 🐳", "-x"])
    assert store.releases("-x") == ["@{ ~^:?*[\\"]
    assert store.components("日本 🐳", "..a.lock")[0].name == "ünï cödé"


def test_cold_pages_equal_warm_pages(repo: Path, store: DescriptorStore) -> None:
    for n in range(1, 13):
        publish(store, frag(f"s{n % 4}", image=f"busybox:{n}"), [GE, EE])
    warm = store.versions("TLO EE", "Milestone", limit=5, before=9)
    fresh = DescriptorStore(repo)  # nothing cached: one pipelined cat-file round trip
    try:
        assert fresh.versions("TLO EE", "Milestone", limit=5, before=9) == warm
        assert [v.number for v in warm] == [8, 7, 6, 5, 4]
        assert fresh.versions("TLO EE", "Milestone", limit=100) == store.versions(
            "TLO EE", "Milestone", limit=100
        )
        assert [len(v.components) for v in warm] == [4, 4, 4, 4, 4]
        assert fresh.components("TLO EE", "Milestone", 3) == store.components(
            "TLO EE", "Milestone", 3
        )
    finally:
        fresh.close()


def test_a_new_tip_whose_tag_is_not_there_yet_is_listed(repo: Path, store: DescriptorStore) -> None:
    """Git's ref transaction renames the branch into place before the tag, so a reader can
    see the new tip a moment before its tag exists (the soak benchmark met it as a 500):
    the listing reads the newest version through the branch. Here that moment is made to
    last: the newest tag is removed while the branch already names its commit."""
    for n in range(1, 4):
        publish(store, frag("web", image=f"busybox:{n}"))
    newest = git(repo, "rev-parse", "refs/tags/TLO%20GE/Milestone/3").strip()
    git(repo, "update-ref", "-d", "refs/tags/TLO%20GE/Milestone/3")
    fresh = DescriptorStore(repo)  # nothing cached
    try:
        listed = fresh.versions("TLO GE", "Milestone")
        assert (listed[0].number, listed[0].commit) == (3, newest)
        assert [v.number for v in listed] == [3, 2, 1]
        assert [v.number for v in fresh.versions("TLO GE", "Milestone", before=3)] == [2, 1]
    finally:
        fresh.close()


def test_duplicate_targets_count_once_and_bad_limits_are_refused(store: DescriptorStore) -> None:
    outcomes = publish(store, frag("web"), [GE, GE, EE])
    assert [(o.target, o.version.number) for o in outcomes] == [(GE, 1), (EE, 1)]
    with pytest.raises(BadRequest):
        store.versions("TLO GE", "Milestone", limit=0)
    with pytest.raises(BadRequest):
        store.publish([], None, "x", {"services": {}}, {})


def test_invalid_names_are_refused_before_anything_is_written(
    repo: Path, store: DescriptorStore
) -> None:
    before = objects(repo)
    for targets, component in (([Target("a/b", "r")], None), ([GE], "bad\ncomponent")):
        with pytest.raises(InvalidName):
            publish(store, frag("web"), targets, component=component)
    assert objects(repo) == before
    assert refs(repo) == {"refs/heads/registry.readme": refs(repo)["refs/heads/registry.readme"]}


def test_everything_works_after_git_gc_packs_refs_and_objects(
    repo: Path, store: DescriptorStore
) -> None:
    for n in range(1, 4):
        publish(store, frag("web", image=f"busybox:{n}"), [GE, EE])
    early = DescriptorStore(repo)
    fresh = DescriptorStore(repo)
    try:
        assert early.version("TLO EE", "Milestone", 1).number == 1  # its cat-file session runs
        store.gc()
        assert not (repo / "refs/tags/TLO%20GE/Milestone/2").exists()  # now in packed-refs
        assert not list((repo / "objects").glob("??/*"))  # every object is in a pack
        # A session started before the gc finds the packed objects.
        assert b"busybox:2" in early.descriptor("TLO EE", "Milestone", 2)[1]
        assert fresh.applications() == ["TLO EE", "TLO GE"]
        assert fresh.releases("TLO GE") == ["Milestone"]
        assert [v.number for v in fresh.versions("TLO GE", "Milestone")] == [3, 2, 1]
        assert b"busybox:2" in fresh.descriptor("TLO GE", "Milestone", 2)[1]
        assert [o.version.number for o in publish(fresh, frag("db"), [GE, EE])] == [4, 4]
        assert [o.version.number for o in publish(store, frag("db2"), [GE])] == [5]
        assert [c.name for c in early.components("TLO GE", "Milestone", 5)] == ["web", "db", "db2"]
    finally:
        early.close()
        fresh.close()


def test_a_stored_fragment_stays_readable_after_the_registry_learns_a_rule_it_breaks(
    repo: Path, store: DescriptorStore
) -> None:
    old = "services:\n  api:\n    image: a:1\n    tty: maybe\n"  # accepted before casts
    with pytest.raises(InvalidFragment):
        parse_fragment(old)
    spec, _ = normalize(yamlio.load(old, limits=yamlio.Limits()))
    store.publish([GE], None, old, spec, {})
    reopened = DescriptorStore(repo)  # a new process reads it from the repository
    try:
        assert [c.name for c in reopened.components("TLO GE", "Milestone")] == ["api"]
        publish(reopened, frag("web"))  # the release stays open to new publishes
        assert [c.name for c in reopened.components("TLO GE", "Milestone")] == ["api", "web"]
    finally:
        reopened.close()
