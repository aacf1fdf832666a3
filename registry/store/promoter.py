"""Promotion: the next version of a release made from an existing version of another.

The new version's tree reuses the source's ``docker-compose.yml`` blob and ``fragments``
tree as they are (so descriptor and fragments are byte-identical by construction: same
object ids); only ``consign.json`` is new, recording where the version came from and who
moved it. The commit goes on top of the target branch (or starts it) and the branch and
the new tag move in one ``update-ref`` transaction, as a publish does. The caller holds
the writer lock and has already asked the gate.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from registry.store import manifest
from registry.store.gitobjects import FILE_MODE, ObjectStore, parse_tree
from registry.store.layout import branch_ref, tag_name, tag_ref
from registry.store.reader import Entry, Reader
from registry.store.refs import ZERO, RefDB, RefUpdate
from registry.store.types import PromoteOutcome, Promotion, Target, VersionInfo


def source_of(info: VersionInfo) -> Promotion:
    """What ``promoted_from`` records about a source version."""
    return Promotion(info.application, info.release, info.number, info.commit)


def already(tip: VersionInfo | None, source: VersionInfo) -> bool:
    """Is the target's latest version a promotion of exactly this source version?"""
    return tip is not None and tip.promoted_from == source_of(source)


def promote(
    objects: ObjectStore,
    refs: RefDB,
    reader: Reader,
    target: Target,
    source: VersionInfo,
    promoted_by: dict[str, Any],
    who: str,
) -> PromoteOutcome:
    branch = branch_ref(target.application, target.release)
    tip = refs.resolve(branch)
    number = reader.info(tip).number + 1 if tip else 1
    when = int(time.time())
    info = replace(
        source,
        application=target.application,
        release=target.release,
        number=number,
        commit="",
        tag=tag_name(target.application, target.release, number),
        created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when)),
        promoted_from=source_of(source),
        promoted_by=dict(promoted_by),
    )
    source_entry = reader.entry(source.commit)
    tree = parse_tree(objects.read(source_entry.tree, "tree").data)
    tree[manifest.MANIFEST] = (
        FILE_MODE,
        objects.write("blob", manifest.dump(manifest.manifest_of(info))),
    )
    root = objects.write_tree(tree)
    commit = objects.write_commit(root, tip, manifest.promotion_message(info, who), when)
    info = replace(info, commit=commit)
    refs.transaction(
        [
            RefUpdate(branch, commit, tip or ZERO),
            RefUpdate(tag_ref(info.tag), commit, None),
        ]
    )
    components = reader.components(source.commit)
    reader.remember(Entry(info, tip, root), components, reader.descriptor(source.commit))
    return PromoteOutcome(info, True)
