"""Which versions were promoted from a version ("promoted to", the reverse of a version's
``promoted_from``), read from the ``Consign-Promoted-From`` trailers of the release
branches' commits.

A version records where it came from, not where it went, so the answer is a scan of every
release's history. Version commits never change and branches only grow, so each process
keeps, per branch, the promotions found up to the tip it last saw and reads only the
commits added since (one ``git log --grep`` per branch that moved; the first scan reads each
branch once). The branches and their tips are read through the store's :class:`RefDB`
(a bisected range of the packed names, and the loose refs' folders).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from consign.process import CommandFailed
from registry.errors import StoreError
from registry.store import gitrun, layout
from registry.store.refs import RefDB

_FORMAT = "--format=" + "%x1f".join(
    f"%(trailers:key=Consign-{k},valueonly)"
    for k in ("Application", "Release", "Version", "Promoted-From")
) + "%x1e"  # fmt: skip

Where = tuple[str, str, int]  # (application, release, version)


@dataclass
class _Branch:
    tip: str = ""
    found: list[tuple[Where, Where]] = field(default_factory=list)  # (source, promoted one)


class Promotions:
    """The caller holds the store's per-process guard."""

    def __init__(self, gitdir: Path, refs: RefDB) -> None:
        self.gitdir = gitdir
        self._refs = refs
        self._branches: dict[str, _Branch] = {}

    def _git(self, *args: str) -> str:
        try:
            return gitrun.run(self.gitdir, *args).stdout
        except CommandFailed as e:
            raise StoreError(f"cannot read the promotions: {e}") from e

    def tips(self) -> dict[str, str]:
        """Every application/release branch with its tip."""
        tips: dict[str, str] = {}
        for app in self._refs.children(layout.BRANCHES):
            for release in self._refs.children(layout.releases_prefix(app)):
                ref = layout.releases_prefix(app) + release
                tip = self._refs.resolve(ref)
                if tip is not None:
                    tips[ref] = tip
        return tips

    def _of(self, branch: str, tip: str) -> list[tuple[Where, Where]]:
        known = self._branches.setdefault(branch, _Branch())
        if known.tip == tip:
            return known.found
        argv = ["log", "--first-parent", "--reverse", "--grep=^Consign-Promoted-From: ", _FORMAT]
        out = self._git(*argv, tip, *([f"^{known.tip}"] if known.tip else []))
        for item in out.split("\x1e"):
            fields = [f.strip() for f in item.split("\x1f")]
            if len(fields) != 4 or not fields[2].isdigit():
                continue
            try:
                source = json.loads(fields[3].splitlines()[0])
                key = (str(source["application"]), str(source["release"]), int(source["version"]))
            except (ValueError, KeyError, TypeError, IndexError):
                continue  # not a trailer this registry wrote
            known.found.append((key, (fields[0], fields[1], int(fields[2]))))
        known.tip = tip
        return known.found

    def to(self, source: Where) -> list[Where]:
        """The versions promoted from ``source``, by application, release and number."""
        return sorted(
            promoted
            for branch, tip in self.tips().items()
            for came_from, promoted in self._of(branch, tip)
            if came_from == source
        )
