"""Names that say what a thing is: no two top-level classes share a name across the
project's packages (issue 22: two ``Ledger``, two ``EnvironmentLocked`` made a reader guess
which one an import meant)."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("consign", "consignment", "registry", "publisher", "deployer")
#: Duplicates inside areas being rebuilt in parallel (issue 22): registry/store/ (its parts
#: get their own names) and deployer/ledger/session.py (the deploy typed once). Each entry
#: must still be a duplicate, so this list only shrinks.
PENDING: set[str] = set()


def top_level_classes() -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "vendor" in path.parts:
                continue
            tree = ast.parse(path.read_text("utf-8"), str(path))
            for node in tree.body:
                if isinstance(node, ast.ClassDef):
                    found[node.name].append(str(path.relative_to(ROOT)))
    return found


def test_no_two_classes_share_a_name() -> None:
    shared = {name: where for name, where in top_level_classes().items() if len(where) > 1}
    assert set(shared) - PENDING == set(), {n: shared[n] for n in set(shared) - PENDING}
    assert set(shared) >= PENDING, (
        f"no longer duplicated, drop from PENDING: {PENDING - set(shared)}"
    )
