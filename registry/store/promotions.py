"""Which versions were promoted from a version ("promoted to", the reverse of a version's
``promoted_from``), read from the ``Consign-Promoted-From`` trailers of the release
branches' commits.

A version records where it came from, not where it went, so the answer is a scan of every
release's history. Version commits never change and branches only grow, so each process
keeps, per branch, the promotions found up to the tip it last saw, and reads only the
commits added since (one ``git log --grep`` per branch that moved; a repository's first
scan reads each branch once).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from consign.process import CommandFailed, run
from registry.errors import StoreError

_FORMAT = (
    "--format=%(trailers:key=Consign-Version,valueonly)%x1f"
    "%(trailers:key=Consign-Promoted-From,valueonly)%x1e"
)

Source = tuple[str, str, int]  # (application, release, version) a version was promoted from


@dataclass
class _Branch:
    tip: str = ""
    found: list[tuple[Source, int]] = field(default_factory=list)  # (source, version here)


class Promotions:
    """The caller holds the store's per-process guard."""

    def __init__(self, gitdir: Path) -> None:
        self.gitdir = gitdir
        self._branches: dict[str, _Branch] = {}

    def of(self, branch: str, tip: str) -> list[tuple[Source, int]]:
        """The promotions into this branch up to ``tip``: (source, number here)."""
        known = self._branches.setdefault(branch, _Branch())
        if known.tip == tip:
            return known.found
        argv = ["git", "--git-dir", str(self.gitdir), "log", "--first-parent", "--reverse"]
        argv += ["--grep=^Consign-Promoted-From: ", _FORMAT, tip]
        argv += [f"^{known.tip}"] if known.tip else []
        try:
            out = run(argv).stdout
        except CommandFailed as e:
            raise StoreError(f"cannot read the promotions of {branch}: {e}") from e
        for item in out.split("\x1e"):
            fields = item.strip().split("\x1f")
            if len(fields) != 2 or not fields[0].strip().isdigit():
                continue
            try:
                source = json.loads(fields[1].strip().splitlines()[0])
                key = (str(source["application"]), str(source["release"]), int(source["version"]))
            except (ValueError, KeyError, TypeError, IndexError):
                continue  # not a trailer this registry wrote
            known.found.append((key, int(fields[0].strip())))
        known.tip = tip
        return known.found
