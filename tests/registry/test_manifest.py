"""The manifest's file format read into typed objects and written back unchanged, and the
commit message's body from the one services-changed computation."""

from __future__ import annotations

import json
from typing import Any

from registry import diffing
from registry.assembly import Component, parse_fragment
from registry.store import ComponentInfo, FileInfo, Promotion, manifest

STORED: dict[str, Any] = {
    "format": 1,
    "application": "TLO GE",
    "release": "QA",
    "version": 4,
    "created": "2026-11-26T04:05:06Z",
    "component": "web",
    "build": {"planKey": "TLO-WEB", "buildNumber": "42", "nested": {"a": [1, None]}},
    "components": [
        {
            "name": "web",
            "sha256": "ab" * 32,
            "build": {"planKey": "TLO-WEB", "buildNumber": "42"},
            "services": ["web", "worker"],
            "fragment": "fragments/web.yml",
            "files": [
                {
                    "path": "env/web.env",
                    "stored": "fragments/web/env/web.env",
                    "sha256": "cd" * 32,
                    "size": 12,
                    "blob": "ef" * 20,
                }
            ],
        },
        {
            "name": "db",
            "sha256": "12" * 32,
            "build": {},
            "services": ["db"],
            "fragment": "fragments/db.yml",
        },
    ],
    "warnings": ["service 'web' refers to 'cache' (depends_on)"],
    "state": "incomplete",
    "state_reason": "incomplete: web → cache",
    "promoted_from": {
        "application": "TLO GE",
        "release": "Milestone",
        "version": 41,
        "commit": "0a" * 20,
    },
    "promoted_by": {"by": "rundeck", "identity": "qa-ann"},
}


def test_a_stored_manifest_reads_into_typed_objects_and_writes_back_byte_for_byte() -> None:
    data = manifest.dump(STORED)
    info = manifest.version_info(data, "9" * 40, "TLO%20GE/QA/4")
    web, db = info.components
    assert web == ComponentInfo(
        "web",
        "ab" * 32,
        {"planKey": "TLO-WEB", "buildNumber": "42"},
        ("web", "worker"),
        "fragments/web.yml",
        (FileInfo("env/web.env", "fragments/web/env/web.env", "cd" * 32, 12, "ef" * 20),),
    )
    assert db.files == () and db.services == ("db",)
    assert info.promoted_from == Promotion("TLO GE", "Milestone", 41, "0a" * 20)
    assert info.promoted_by == {"by": "rundeck", "identity": "qa-ann"}
    assert manifest.dump(manifest.manifest_of(info)) == data


def test_a_manifest_from_before_states_and_promotions_still_reads() -> None:
    old = {k: v for k, v in STORED.items() if k not in ("state", "state_reason", "promoted_from")}
    old.pop("promoted_by")
    info = manifest.version_info(json.dumps(old).encode(), "9" * 40, "t")
    assert info.promoted_from is None and info.state == "warnings"  # derived from them
    assert "promoted_from" not in manifest.manifest_of(info)


def _component(name: str, text: str, build: dict[str, Any]) -> Component:
    import hashlib

    return Component(
        name, text, parse_fragment(text)[0], build, hashlib.sha256(text.encode()).hexdigest()
    )


def test_commit_message_names_services_added_removed_changed_and_rebuilt() -> None:
    before = [
        _component("web", "web:\n  image: busybox:1\nold:\n  image: busybox\n", {"n": 1}),
        _component("db", "db:\n  image: busybox\n", {"n": 1}),
    ]
    after = [
        _component("web", "web:\n  image: busybox:2\nnew:\n  image: busybox\n", {"n": 2}),
        _component("db", "db:\n  image: busybox\n", {"n": 2}),
    ]
    infos = [
        [ComponentInfo(c.name, c.sha256, c.build, tuple(c.spec["services"]), "f") for c in side]
        for side in (before, after)
    ]
    changes = diffing.compare(infos[0], infos[1], before, after)
    assert [(c.service, c.kind) for c in changes] == [
        ("web", "changed"),
        ("new", "added"),
        ("db", "rebuilt"),
        ("old", "removed"),
    ]
    info = manifest.version_info(manifest.dump(STORED), "9" * 40, "t")
    body = manifest.commit_message(info, changes).split("\n\n")[1].splitlines()
    assert body == [
        "Added: new",
        "Removed: old",
        "Changed: web",
        "Rebuilt: db",
        "Warning: service 'web' refers to 'cache' (depends_on)",
    ]
    quiet = manifest.commit_message(info, diffing.ServiceChanges(()))
    assert quiet.splitlines()[0] == "TLO GE/QA v4: web (TLO-WEB #42)"
    assert "No service changed" in quiet
