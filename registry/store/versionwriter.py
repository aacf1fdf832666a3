"""Writing new versions (a publish): plan every target (pure, may raise Conflict), then
write, then move refs once.

Nothing is written until every target has been planned, so a Conflict on any target leaves
the repository untouched. Objects are written in-process as one pack (harmless if
the process dies afterwards); refs move only in one ``update-ref`` transaction.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from consign.compose import refnames
from registry import diffing, names
from registry.assembly import Component, assemble, component_name_for, replace_component
from registry.diffing import ServiceChanges
from registry.errors import DescriptorTooLarge, InsufficientStorage, StoreError
from registry.store import manifest
from registry.store.gitobjects import FILE_MODE, TREE_MODE, ObjectStore
from registry.store.layout import branch_ref, tag_name, tag_ref
from registry.store.reader import Entry, Reader, blob_id
from registry.store.refs import ZERO, RefDB, RefUpdate
from registry.store.types import ComponentInfo, FileInfo, PublishOutcome, Target, VersionInfo

RETRY_DELAY = 0.2
NO_CHANGES = ServiceChanges(())


@dataclass(frozen=True)
class Plan:
    target: Target
    tip: str | None
    existing: VersionInfo | None  # set when nothing changes (a retried publish)
    components: list[Component]
    descriptor: bytes
    oci_layer: bytes | None  # the artifact's compose file, when it differs from the descriptor
    info: VersionInfo  # commit and tag are filled in after writing
    changes: ServiceChanges  # from the version before (none: from nothing)
    component: str  # the name this publish's component has here (explicit or derived)


def fragment_file(component: str) -> str:
    return refnames.encode(component, "component") + ".yml"


def plan(
    reader: Reader,
    refs: RefDB,
    target: Target,
    explicit: str | None,
    new: Component,
    created: str,
    max_descriptor_bytes: int | None = None,
) -> Plan:
    tip = refs.resolve(branch_ref(target.application, target.release))
    current = reader.components(tip) if tip else []
    name = component_name_for(current, new.spec, explicit)
    before = next((c for c in current if c.name == name), None)
    if before is None and explicit is None:  # a new component named after its first service
        names.check_new(name, "component")
    same = before and (before.sha256, before.build, before.files, before.secrets) == (
        new.sha256,
        new.build,
        new.files,
        new.secrets,
    )
    if tip and same:
        existing = reader.info(tip)
        return Plan(target, tip, existing, current, b"", None, existing, NO_CHANGES, name)
    component = replace(new, name=name)
    components = replace_component(current, component)  # checked there
    assembly = assemble(components, checked=True)
    descriptor = assembly.descriptor.encode()
    if max_descriptor_bytes is not None and len(descriptor) > max_descriptor_bytes:
        raise DescriptorTooLarge(
            f"the descriptor of {target.application}/{target.release} would be "
            f"{len(descriptor)} bytes with this fragment; the limit is {max_descriptor_bytes} "
            "(CONSIGN_MAX_DESCRIPTOR_BYTES)",
            details={"max_descriptor_bytes": max_descriptor_bytes},
        )
    info = VersionInfo(
        application=target.application,
        release=target.release,
        number=reader.info(tip).number + 1 if tip else 1,
        commit="",
        tag=tag_name(target.application, target.release, 0),
        created=created,
        component=name,
        build=dict(new.build),
        components=[component_info(c) for c in components],
        warnings=list(assembly.warnings),
        state=assembly.state,
        state_reason=assembly.state_reason,
    )
    info = replace(info, tag=tag_name(target.application, target.release, info.number))
    old = reader.info(tip).components if tip else []
    changes = diffing.compare(old, info.components, current, components)
    layer = None
    if any(c.files for c in components):
        oci = assemble(components, names=Component.oci_files, checked=True)
        layer = oci.descriptor.encode()
    return Plan(target, tip, None, components, descriptor, layer, info, changes, name)


def component_info(c: Component) -> ComponentInfo:
    """How the new version's manifest records a component (its attached files with their
    Git blob ids, so later versions can put them in their trees without reading them)."""
    stored = c.stored_files()
    return ComponentInfo(
        name=c.name,
        sha256=c.sha256,
        build=dict(c.build),
        services=tuple(str(s) for s in c.spec.get("services") or {}),
        fragment=f"{manifest.FRAGMENTS}/{fragment_file(c.name)}",
        files=tuple(FileInfo(f.path, stored[f.path], f.sha256, f.size, f.blob) for f in c.files),
        secrets=c.secrets,
    )


def _subtree(objects: ObjectStore, files: dict[str, str]) -> str:
    """Write nested trees for {relative path: blob id}; return the top tree's id."""
    entries: dict[str, tuple[bytes, str]] = {}
    folders: dict[str, dict[str, str]] = {}
    for path, blob in files.items():
        head, sep, rest = path.partition("/")
        if sep:
            folders.setdefault(head, {})[rest] = blob
        else:
            entries[head] = (FILE_MODE, blob)
    for name, inner in folders.items():
        entries[name] = (TREE_MODE, _subtree(objects, inner))
    return objects.write_tree(entries)


def write(objects: ObjectStore, p: Plan, when: int, attached: Mapping[str, bytes]) -> Entry:
    """Write one planned version's blobs, trees and commit; return its cache entry.

    ``attached`` holds the bytes of the publishing component's attached files (by path)."""
    fragments: dict[str, tuple[bytes, str]] = {}
    written: dict[str, str] = {}
    for c in p.components:
        data = c.fragment.encode()
        if c.sha256 not in written:
            # Unchanged fragments are already in the object store: hash, don't rewrite.
            written[c.sha256] = (
                objects.write("blob", data) if c.name == p.info.component else blob_id(data)
            )
        fragments[fragment_file(c.name)] = (FILE_MODE, written[c.sha256])
        if c.files:
            if c.name == p.info.component:
                for f in c.files:
                    objects.write("blob", attached[f.path])
            folder = refnames.encode(c.name, "component")
            fragments[folder] = (TREE_MODE, _subtree(objects, {f.path: f.blob for f in c.files}))
    tree = {
        manifest.DESCRIPTOR: (FILE_MODE, objects.write("blob", p.descriptor)),
        manifest.MANIFEST: (
            FILE_MODE,
            objects.write("blob", manifest.dump(manifest.manifest_of(p.info))),
        ),
        manifest.FRAGMENTS: (TREE_MODE, objects.write_tree(fragments)),
    }
    if p.oci_layer is not None:
        folder, name = manifest.OCI_LAYER.split("/")
        layer = {name: (FILE_MODE, objects.write("blob", p.oci_layer))}
        tree[folder] = (TREE_MODE, objects.write_tree(layer))
    root = objects.write_tree(tree)
    message = manifest.commit_message(p.info, p.changes)
    commit = objects.write_commit(root, p.tip, message, when)
    return Entry(replace(p.info, commit=commit), p.tip, root)


def publish(
    objects: ObjectStore,
    refs: RefDB,
    reader: Reader,
    targets: Sequence[Target],
    explicit: str | None,
    new: Component,
    data: Mapping[str, bytes],
    *,
    max_descriptor_bytes: int | None = None,
) -> list[PublishOutcome]:
    """Publish ``new`` (its name is decided per target) to every target; hold the lock.

    ``data``: the bytes of ``new``'s attached files, by path."""
    for attempt in (1, 2):
        when = int(time.time())
        created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))
        plans = [
            plan(reader, refs, t, explicit, new, created, max_descriptor_bytes) for t in targets
        ]
        updates: list[RefUpdate] = []
        written: list[tuple[Plan, Entry]] = []
        for p in plans:
            if p.existing is not None:
                continue
            entry = write(objects, p, when, data)
            written.append((p, entry))
            branch = branch_ref(p.target.application, p.target.release)
            updates.append(RefUpdate(branch, entry.info.commit, p.tip or ZERO))
            updates.append(RefUpdate(tag_ref(entry.info.tag), entry.info.commit, None))
        try:
            refs.transaction(updates)
            break
        except InsufficientStorage:
            raise  # nothing moved; a retry cannot help before space is freed
        except StoreError:
            # A `git update-ref` orphaned by a killed worker may still be finishing (it does
            # not hold our flock): plan again from the refs as they are now, once.
            if attempt == 2:
                raise
            time.sleep(RETRY_DELAY)
    for p, entry in written:
        reader.remember(entry, p.components, p.descriptor)
    done = {p.target: e.info for p, e in written}
    return [
        PublishOutcome(
            p.target,
            done.get(p.target) or p.info,
            p.existing is None,
            list(p.info.warnings),
            p.component,
        )
        for p in plans
    ]
