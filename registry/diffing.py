"""What changed between two versions (pure): services added, removed, changed, rebuilt, and
the descriptor lines, for the ``/api/.../diff`` answer and the web UI's diff page.

The two versions may belong to different releases or applications (Milestone #41 against
QA #7): nothing here knows where the components came from.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from registry.assembly import Component

if TYPE_CHECKING:  # the store's value types; the store imports this module (commit messages)
    from registry.store.types import ComponentInfo

#: Lines of unchanged context kept around each change in the side-by-side diff.
CONTEXT = 3


#: The kinds of service change, in the order answers list them.
KINDS = ("added", "removed", "changed", "rebuilt")


@dataclass(frozen=True)
class ServiceChange:
    """One service in either version. ``before``/``after`` (the component that provides it,
    as the manifest records it) are None where it is absent.

    ``kind``: ``added``, ``removed``, ``changed`` (its definition or its owning component
    differs) or ``rebuilt`` (same definition and component, another build: the YAML did not
    change but QA got a different build).
    """

    service: str
    kind: Literal["added", "removed", "changed", "rebuilt"]
    before: ComponentInfo | None
    after: ComponentInfo | None


@dataclass(frozen=True)
class ServiceChanges:
    """Every service that differs between two versions: in the new version's order, then
    the removed ones. The one answer to "which services changed" (API diff, UI diff and the
    commit message of a new version)."""

    changes: tuple[ServiceChange, ...]

    def of(self, kind: str) -> list[ServiceChange]:
        return [c for c in self.changes if c.kind == kind]

    def services(self, kind: str) -> list[str]:
        return [c.service for c in self.changes if c.kind == kind]

    def __iter__(self) -> Iterator[ServiceChange]:
        return iter(self.changes)

    def __len__(self) -> int:
        return len(self.changes)


Entries = Sequence["ComponentInfo"]  # a version's components as its manifest records them


def owners(entries: Entries) -> dict[str, ComponentInfo]:
    """Service -> the component that provides it, in the version's order."""
    return {service: e for e in entries for service in e.services}


def to_read(old: Entries, new: Entries) -> set[str]:
    """The components whose fragments a comparison must parse: those that provide a service
    on both sides under the same name but with another fragment. Every other answer is in
    the manifests (an adjacent pair of versions needs one component, not fifty)."""
    before, after = owners(old), owners(new)
    return {
        owner.name
        for service, owner in after.items()
        if service in before
        and before[service].name == owner.name
        and before[service].sha256 != owner.sha256
    }


def _service_specs(components: Iterable[Component]) -> dict[str, Any]:
    return {
        name: spec
        for component in components
        for name, spec in (component.spec.get("services") or {}).items()
    }


def compare(
    old: Entries, new: Entries, old_read: Iterable[Component], new_read: Iterable[Component]
) -> ServiceChanges:
    """Every service that differs, in the new version's order, then the removed ones.
    ``old_read``/``new_read``: at least the components :func:`to_read` names, parsed."""
    before, after = owners(old), owners(new)
    old_specs, new_specs = _service_specs(old_read), _service_specs(new_read)
    changes: list[ServiceChange] = []
    for name, owner in after.items():
        was = before.get(name)
        if was is None:
            changes.append(ServiceChange(name, "added", None, owner))
        elif was.name != owner.name or (
            was.sha256 != owner.sha256 and old_specs[name] != new_specs[name]
        ):
            changes.append(ServiceChange(name, "changed", was, owner))
        elif was.build != owner.build:
            changes.append(ServiceChange(name, "rebuilt", was, owner))
    changes += [ServiceChange(n, "removed", o, None) for n, o in before.items() if n not in after]
    return ServiceChanges(tuple(changes))


@dataclass(frozen=True)
class Row:
    """One line of the side-by-side diff; a side is None where that version has no line."""

    kind: Literal["equal", "changed", "removed", "added"]
    left_number: int | None
    left: str | None
    right_number: int | None
    right: str | None


@dataclass(frozen=True)
class Hunk:
    """A run of changes with its context; the numbers are 1-based first lines."""

    left_start: int
    right_start: int
    rows: list[Row]


def side_by_side(old: str, new: str, context: int = CONTEXT) -> list[Hunk]:
    """The descriptors' differences as hunks of aligned rows ([] when they are equal).

    difflib's ``autojunk`` stays on: lines repeated in many services (``image: busybox``)
    do not anchor the alignment, unique ones (service names, commands) do; turning it off
    costs 25x the time on a 50-component descriptor (bench/ui.py).
    """
    a, b = old.splitlines(), new.splitlines()
    matcher = difflib.SequenceMatcher(None, a, b)
    hunks: list[Hunk] = []
    for group in matcher.get_grouped_opcodes(context):
        rows: list[Row] = []
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                rows += [
                    Row("equal", i + 1, a[i], j + 1, b[j])
                    for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
                ]
            elif tag == "delete":
                rows += [Row("removed", i + 1, a[i], None, None) for i in range(i1, i2)]
            elif tag == "insert":
                rows += [Row("added", None, None, j + 1, b[j]) for j in range(j1, j2)]
            else:  # replace: pair the lines up, the longer side goes on alone
                for k in range(max(i2 - i1, j2 - j1)):
                    i, j = i1 + k, j1 + k
                    rows.append(
                        Row(
                            "changed",
                            i + 1 if i < i2 else None,
                            a[i] if i < i2 else None,
                            j + 1 if j < j2 else None,
                            b[j] if j < j2 else None,
                        )
                    )
        hunks.append(Hunk(group[0][1] + 1, group[0][3] + 1, rows))
    return hunks


def unified(old: str, new: str, fromfile: str, tofile: str) -> str:
    """A unified diff of two descriptors (what ``git diff`` would show)."""
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=fromfile,
            tofile=tofile,
        )
    )
