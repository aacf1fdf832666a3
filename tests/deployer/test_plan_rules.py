"""The plan's pure rules on recorded engine data (tests/data/plan: a Compose v2.40.3
project ``planx`` deployed from a.yml, its s1 stopped, and b.yml planned: the container
list, ``config --hash '*'``, ``config --format json`` and ``up --dry-run`` of b.yml)."""

from __future__ import annotations

import json
from pathlib import Path

from deployer.plan import compare, dryrun, keydiff, reading
from deployer.plan.model import DeployPlan, Seen, VersionRef, Wanted
from deployer.plan.text import as_text, reason_text

DATA = Path(__file__).resolve().parent.parent / "data" / "plan"
BUSYBOX = "sha256:0a797d25a6d04c7dc5c27db37bfc56b133575f23caedf60af111315fc191364b"


def _seen() -> list[Seen]:
    rows = json.loads((DATA / "containers.json").read_text())
    return [s for s in (reading.seen_from_summary(r) for r in rows) if s is not None]


def _wanted(image_id: str | None = BUSYBOX) -> list[Wanted]:
    hashes = reading.parse_hashes((DATA / "hashes.txt").read_text())
    model = json.loads((DATA / "model.json").read_text())["services"]
    return [
        Wanted(name, spec["image"], hashes[name], {}, 1, image_id) for name, spec in model.items()
    ]


def test_recorded_project_plan_matches_what_compose_dry_run_said() -> None:
    plans = {p.service: p for p in compare.plan_services(_wanted(), _seen())}
    assert {s: p.action for s, p in plans.items()} == {
        "s1": "start", "s2": "recreate", "s3": "create", "old": "remove",
    }  # fmt: skip
    (why,) = plans["s2"].reasons
    assert why.kind == "config_hash" and why.before and why.before.startswith("cb763b51")
    assert plans["old"].note.startswith("orphan") and plans["old"].containers == ("planx-old-1",)
    model = json.loads((DATA / "model.json").read_text())
    services = model["services"]
    volumes = compare.resources(
        "volume", model["volumes"], {"planx_data"}, compare.volume_users(services)
    )
    assert [(r.name, r.action) for r in volumes] == [
        ("planx_data", "keep"),
        ("planx_data2", "create"),
    ]
    said = dryrun.parse((DATA / "dryrun.txt").read_text())
    assert said.verdict("planx-s2-1") == "recreate" and said.verdict("planx-s1-1") == "start"
    assert dryrun.disagreements(said, "planx", list(plans.values()), volumes) == []


def test_a_disagreement_with_the_dry_run_is_named() -> None:
    said = dryrun.parse((DATA / "dryrun.txt").read_text())
    wanted = _wanted()
    seen = [s for s in _seen() if s.service != "old"]  # the plan misses the orphan
    plans = compare.plan_services(wanted, seen)
    lines = dryrun.disagreements(said, "planx", plans, [])
    assert any(line.startswith("remove: Compose's dry run says planx-old-1") for line in lines)
    assert any(line.startswith("volumes created") for line in lines)


def test_reasons_name_the_image_the_labels_and_the_image_id() -> None:
    seen = Seen(
        "c1", "p-web-1", "web", "a" * 64, "shop/web:1", "sha256:" + "1" * 64,
        {"io.consignment.build": '{"n":1}', "io.consignment.component": "web"}, "running",
    )  # fmt: skip
    wanted = Wanted(
        "web", "shop/web:2", "b" * 64,
        {"io.consignment.build": '{"n":2}', "io.consignment.component": "web"}, 1,
        "sha256:" + "2" * 64,
    )  # fmt: skip
    kinds = [r.kind for r in compare.reasons(wanted, seen)]
    assert kinds == ["image", "labels", "config_hash", "image_id"]
    (labels,) = [r for r in compare.reasons(wanted, seen) if r.kind == "labels"]
    assert [(c.key, c.before, c.after) for c in labels.labels] == [
        ("io.consignment.build", '{"n":1}', '{"n":2}')
    ]
    same = Wanted("web", "shop/web:1", "a" * 64, seen.labels, 1, seen.image_id)
    assert compare.reasons(same, seen) == ()
    pulled = Wanted("web", "shop/web:1", "a" * 64, seen.labels, 1, None)
    assert [r.kind for r in compare.reasons(pulled, seen)] == ["image_pull"]


def _container(n: int, hash_: str, state: str = "running") -> Seen:
    return Seen(f"id{n}", f"p-api-{n}", "api", hash_, "img", "sha256:x", {}, state, n)


def test_scaling_follows_composes_order_obsolete_first() -> None:
    want = Wanted("api", "img", "h", {}, 2, "sha256:x")
    three = [_container(1, "h"), _container(2, "old"), _container(3, "h")]
    plan = compare.service_plan(want, three)
    # the obsolete one is kept (first in Compose's order) and recreated; one up-to-date removed
    assert plan.action == "recreate" and plan.containers == ("p-api-2",)
    assert plan.count == (3, 2) and plan.note == "1 removed"
    up = compare.service_plan(Wanted("api", "img", "h", {}, 3, "sha256:x"), three[:1])
    assert up.action == "scale" and up.note == "2 created"
    gone = compare.service_plan(Wanted("api", "img", "h", {}, 0, "sha256:x"), three[:1])
    assert gone.action == "remove" and gone.note == "scaled to 0"
    assert compare.service_plan(want, [_container(1, "h")] * 0).action == "create"


def test_images_to_pull_by_policy() -> None:
    wanted = [
        Wanted("a", "here:1", "h", {}, 1, "sha256:1"),
        Wanted("b", "absent:1", "h", {}, 1, None),
        Wanted("c", "absent:1", "h", {}, 1, None),
        Wanted("d", "absent:2", "h", {}, 0, None),  # scaled to 0: not pulled
    ]
    missing = compare.images_to_pull(wanted, "missing")
    assert [(i.image, i.action, i.services) for i in missing] == [("absent:1", "pull", ("b", "c"))]
    assert [i.action for i in compare.images_to_pull(wanted, "never")] == ["missing"]
    assert [i.image for i in compare.images_to_pull(wanted, "always")] == ["here:1", "absent:1"]


def test_external_resources_and_users() -> None:
    declared = {
        "db": {"name": "shared_db", "external": True},
        "x": {"name": "gone", "external": True},
    }
    found = compare.resources("volume", declared, {"shared_db"}, {"db": ["api"]})
    assert [(r.name, r.action, r.changes) for r in found] == [
        ("shared_db", "external", False), ("gone", "missing", True)
    ]  # fmt: skip


def test_exit_and_text_say_whether_anything_changes() -> None:
    ref = VersionRef("Shop", "qa", "41", "abc")
    quiet = DeployPlan("shop", "compose", ref, ref)
    quiet.services = compare.plan_services(
        [Wanted("s1", "busybox:latest", "h", {}, 1, "sha256:x")], [_seen_one()]
    )
    assert not quiet.changes and quiet.as_json()["changes"] is False
    assert "nothing to change (exit 0)" in as_text(quiet)
    newer = DeployPlan("shop", "compose", VersionRef("Shop", "qa", "42"), ref)
    newer.services = quiet.services
    assert newer.changes and newer.record_changes  # only the recorded version changes
    doc = newer.as_json()
    assert doc["versions"]["running"]["version"] == 41 and doc["versions"]["new"]["version"] == 42
    assert doc["counts"]["unchanged"] == 1 and "exit 10" in as_text(newer)


def _seen_one() -> Seen:
    return Seen("i", "shop-s1-1", "s1", "h", "busybox:latest", "sha256:x", {}, "running")


def test_orphans_as_compose_counts_them() -> None:
    hashed = {"com.docker.compose.config-hash": "h", "com.docker.compose.service": "s1"}
    row = {"Id": "x", "Names": ["/p-s1-1"], "Labels": {"com.docker.compose.service": "s1"}}
    assert reading.seen_from_summary(row) is None  # no config hash: not Compose's
    run = {"Id": "r", "Names": ["/p-s1-run-1"], "State": "exited",
           "Labels": {**hashed, "com.docker.compose.oneoff": "True"}}  # fmt: skip
    live = {**run, "Id": "q", "Names": ["/p-s1-run-2"], "State": "running"}
    seen = [reading.seen_from_summary(r) for r in (run, live)]
    plans = compare.plan_services([], [s for s in seen if s is not None])
    assert [(p.service, p.action, p.containers) for p in plans] == [
        ("(compose run)", "remove", ("p-s1-run-1",))
    ]
    assert reading.parse_hashes("web 0123\nnoise\napi " + "a" * 64) == {"api": "a" * 64}


RUNNING = """services:
  web:
    image: shop/web:1
    environment: {LOG_LEVEL: info, DB_HOST: db}
    labels: [a=1]
  db:
    image: postgres:16
    environment:
      POSTGRES_PASSWORD: ${DB_PASSWORD:?set it}
      TZ:
    env_file: [db.env]
"""
NEW = """services:
  web:
    image: shop/web:1
    environment: [LOG_LEVEL=debug, DB_HOST=db, EXTRA=1]
    labels: [a=1]
    mem_limit: 256m
  db:
    image: postgres:16
    environment:
      POSTGRES_PASSWORD: ${DB_PASSWORD:?set it}
      TZ:
    env_file: [db.env]
  cache:
    image: redis:7
"""


def test_the_keys_that_differ_are_named_never_their_values() -> None:
    before, after = keydiff.services_of(RUNNING), keydiff.services_of(NEW)
    web = keydiff.definition_reason(before["web"], after["web"])
    assert web is not None and web.kind == "keys"
    # a list and a map of the same entries are equal; only the names that differ are said
    assert web.keys == ("environment (EXTRA, LOG_LEVEL)", "mem_limit")
    db = keydiff.definition_reason(before["db"], after["db"])
    assert db is not None and db.kind == "host_variables"
    assert db.keys == ("DB_PASSWORD", "TZ", "env_file db.env")  # TZ: the host's value
    assert keydiff.definition_reason(None, after["cache"]) is None  # new: nothing to name
    text = reason_text(db)
    assert text == (
        "same definition: a variable resolved on this host changed (DB_PASSWORD, TZ, "
        "env_file db.env)"
    )
    assert "debug" not in reason_text(web) and reason_text(web).startswith("keys that differ")
    assert web.as_json()["keys"] == ["environment (EXTRA, LOG_LEVEL)", "mem_limit"]
    assert keydiff.services_of("services: [") == {}  # unreadable: nothing named
    added = keydiff.differing_keys({"image": "x"}, {"image": "x", "environment": ["A=1", "B"]})
    assert added == ["environment (A, B)"]


def test_verification_services_are_listed_and_their_images_pulled() -> None:
    tests = [Wanted("smoke", "qa/smoke:7", "", {}, 1, None)]
    plans = compare.verification_plans(tests, verify=True)
    assert [(p.service, p.action, p.note) for p in plans] == [
        ("smoke", "verify", "run after the deploy is healthy, then removed")
    ]
    assert not plans[0].changes  # nothing of it stays: a change only by its image's pull
    skipped = compare.verification_plans(tests, verify=False)
    assert skipped[0].note == "not run: --skip-verify"
    ref = VersionRef("Shop", "qa", "41")
    plan = DeployPlan("shop", "compose", ref, ref)
    plan.services = [*compare.plan_services([], []), *plans]
    assert not plan.changes and plan.counts()["verify"] == 1
    plan.images = compare.images_to_pull(tests, "missing")
    assert plan.changes and [i.services for i in plan.images] == [("smoke",)]
    assert "  verify     smoke  run after the deploy is healthy" in as_text(plan)
