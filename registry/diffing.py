"""What changed between two versions (pure): services added, removed, changed, rebuilt, and
the descriptor lines, for the ``/api/.../diff`` answer and the web UI's diff page.

The two versions may belong to different releases or applications (Milestone #41 against
QA #7): nothing here knows where the components came from.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
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


def to_compare(old: Entries, new: Entries) -> list[str]:
    """The services whose definitions a comparison must look at: provided on both sides by
    the same component but with another fragment. Every other answer is in the manifests."""
    before, after = owners(old), owners(new)
    return [
        service
        for service, owner in after.items()
        if service in before
        and before[service].name == owner.name
        and before[service].sha256 != owner.sha256
    ]


def to_read(old: Entries, new: Entries) -> set[str]:
    """The components whose fragments a comparison must parse: those providing a service
    :func:`to_compare` names (an adjacent pair of versions needs one component, not fifty)."""
    after = owners(new)
    return {after[service].name for service in to_compare(old, new)}


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
    return compare_services(old, new, _service_specs(old_read), _service_specs(new_read))


def compare_services(
    old: Entries, new: Entries, old_specs: Mapping[str, Any], new_specs: Mapping[str, Any]
) -> ServiceChanges:
    """:func:`compare` given the service definitions themselves (name -> definition, at
    least those of the services :func:`to_read`'s components provide), however they were
    read: equal definitions, however their keys are ordered, are no change."""
    before, after = owners(old), owners(new)
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


Opcode = tuple[str, int, int, int, int]  # difflib's (tag, i1, i2, j1, j2)


def block_starts(lines: Sequence[str]) -> list[int]:
    """Where each block of a descriptor starts: a top-level key or a key indented by two
    spaces (a service, a volume), but not inside a top-level block scalar (``x-note: |``,
    whose text is indented by two). Line 0 always starts one."""
    starts: list[int] = []
    in_scalar = False
    for i, line in enumerate(lines):
        top = line[:1] not in _NOT_A_KEY
        second = line.startswith("  ") and line[2:3] not in _NOT_A_KEY and not in_scalar
        if i == 0 or top or second:
            starts.append(i)
        if top:
            in_scalar = bool(_BLOCK_SCALAR.search(line))
    return starts


_NOT_A_KEY = ("", " ", "\t", "\n", "\r", "#", "-")
_BLOCK_SCALAR = re.compile(r"[|>][-+0-9]*\s*(#.*)?$")


def _lines(a: Sequence[str], b: Sequence[str], i: int, j: int) -> list[Opcode]:
    """difflib's opcodes for two runs of lines starting at lines ``i`` and ``j``."""
    return [
        (tag, i1 + i, i2 + i, j1 + j, j2 + j)
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b).get_opcodes()
    ]


def opcodes(a: Sequence[str], b: Sequence[str]) -> list[Opcode]:
    """Line opcodes for two descriptors, matched block by block: equal blocks (services
    untouched) are matched whole, changed blocks are paired by their first line (the
    service's key) and only the lines of each pair are compared. Matching all lines at once
    cost ~10 ms for two versions whose 50 services all differ; this is a few."""
    sa, sb = [*block_starts(a), len(a)], [*block_starts(b), len(b)]
    ta = ["\n".join(a[sa[k] : sa[k + 1]]) for k in range(len(sa) - 1)]
    tb = ["\n".join(b[sb[k] : sb[k + 1]]) for k in range(len(sb) - 1)]
    found: list[Opcode] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, ta, tb, False).get_opcodes():
        if tag != "replace":
            found.append((tag, sa[i1], sa[i2], sb[j1], sb[j2]))
            continue
        keys_a = [a[sa[k]] for k in range(i1, i2)]
        keys_b = [b[sb[k]] for k in range(j1, j2)]
        pairs = difflib.SequenceMatcher(None, keys_a, keys_b, False).get_opcodes()
        for kind, k1, k2, m1, m2 in pairs:
            if kind == "equal":  # the same keys: compare each pair of blocks
                for k, m in zip(range(i1 + k1, i1 + k2), range(j1 + m1, j1 + m2), strict=True):
                    x1, x2, y1, y2 = sa[k], sa[k + 1], sb[m], sb[m + 1]
                    found += _lines(a[x1:x2], b[y1:y2], x1, y1)
            else:
                x1, x2, y1, y2 = sa[i1 + k1], sa[i1 + k2], sb[j1 + m1], sb[j1 + m2]
                found += _lines(a[x1:x2], b[y1:y2], x1, y1)
    merged: list[Opcode] = []
    for op in found:
        if op[1] == op[2] and op[3] == op[4]:
            continue
        last = merged[-1] if merged else None
        if last is not None and last[0] == op[0]:
            merged[-1] = (op[0], last[1], op[2], last[3], op[4])
        else:
            merged.append(op)
    return merged


class _Given(difflib.SequenceMatcher[str]):
    """A matcher answering opcodes found elsewhere, for difflib's grouping with context."""

    def __init__(self, found: list[Opcode]) -> None:
        super().__init__(None, [], [])
        self._found = found

    def get_opcodes(self) -> list[Opcode]:  # type: ignore[override]
        return self._found


def side_by_side(old: str, new: str, context: int = CONTEXT) -> list[Hunk]:
    """The descriptors' differences as hunks of aligned rows ([] when they are equal), from
    :func:`opcodes`, grouped with ``context`` lines as difflib groups them.

    Within a block difflib's ``autojunk`` stays on: lines repeated in many services
    (``image: busybox``) do not anchor the alignment, unique ones (service names,
    commands) do.
    """
    a, b = old.splitlines(), new.splitlines()
    matcher = _Given(opcodes(a, b))
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
