"""Two descriptors as a diff may show them: masked (:mod:`consign.secrets.masking`), and
every masked value that changed said so, by its path, never by its value.

Masking alone hides a change: two versions that differ only in a masked literal (a
rotated ``POSTGRES_PASSWORD``) mask to the same text, so their diff would read
"identical". Here each literal is compared by a keyed digest of its value at its slot
(path and occurrence); a literal masked in either version whose value differs between
them is *changed*: its path is listed, and where the new version masks it its mask reads
``•••••• (changed)``, so the diff has a row for it and a reviewer sees that a secret
changed without seeing it. A literal only one version has is an added or removed line
already, and is not listed.
"""

from __future__ import annotations

from dataclasses import dataclass

from consign.secrets.masking import Slot, marked, shown

#: Written after the mask of a value that changed.
CHANGED = "(changed)"


@dataclass(frozen=True)
class MaskedDiff:
    """``old`` and ``new`` as the diff shows them; ``changed``: the paths of the masked
    values that differ, in the new version's order; ``only_masked``: the descriptors differ
    in nothing else (a diff of ``old`` and ``new`` shows only the marked rows)."""

    old: str
    new: str
    changed: tuple[str, ...]
    only_masked: bool


def compare(old_text: str, new_text: str) -> MaskedDiff:
    """The two stored descriptors, masked, with the changed masked values marked."""
    old, new = shown(old_text), shown(new_text)
    changed: list[Slot] = [
        slot
        for slot, value in new.digests.items()
        if (slot in new.masked or slot in old.masked)
        and slot in old.digests
        and old.digests[slot] != value
    ]
    marks = {slot: CHANGED for slot in changed if slot in new.masked}
    paths = tuple(dict.fromkeys(path for path, _ in changed))
    return MaskedDiff(
        old=old.text,
        new=marked(new_text, marks) if marks else new.text,
        changed=paths,
        only_masked=bool(paths) and old.text == new.text,
    )
