"""The repository's HEAD: a branch that exists, so ``git clone`` says nothing alarming.

A fresh bare repository's HEAD names ``refs/heads/master``, which a registry never creates
(its branches are ``<application>/<release>``), and ``git clone`` then warns "remote HEAD
refers to nonexistent ref, unable to checkout". Instead HEAD names ``registry.readme``: one
commit holding a README that says what the repository holds and how to check a version
out. A ``.`` never appears in an encoded application name (:mod:`consign.compose.refnames`), so
the branch can neither collide with an application's branches nor be listed as one. The
commit is the same bytes in every registry (fixed time), and creating it is idempotent.
"""

from __future__ import annotations

from pathlib import Path

from consign.process import CommandFailed
from registry.errors import StoreError
from registry.store import gitrun, layout, locking
from registry.store.gitobjects import FILE_MODE, ObjectStore
from registry.store.refs import RefDB, RefUpdate

BRANCH, REF = layout.README_BRANCH, layout.README_REF
README = """\
# A Consignment descriptor registry

Each application/release is a branch, `<application>/<release>`, and each version a tag,
`<application>/<release>/<N>` (names percent-encoded: `TLO GE` is `TLO%20GE`). A version's
tree holds `docker-compose.yml` (the descriptor), `fragments/<component>.yml` (each fragment
as published) and `consign.json` (components, builds, warnings, state).

    git tag --list                              # every version
    git checkout 'TLO%20GE/Milestone/3'         # one version
    git log --oneline 'origin/TLO%20GE/Milestone'  # a release's history (in a clone)

This branch only holds this file; the registry never changes it.
"""


def ensure(gitdir: Path, objects: ObjectStore, refs: RefDB) -> None:
    """Create the README branch if missing and point HEAD at it."""
    if refs.resolve(REF) is not None and _head(gitdir) == REF:
        return
    with locking.exclusive(gitdir):
        if refs.resolve(REF) is None:
            blob = objects.write("blob", README.encode())
            tree = objects.write_tree({"README.md": (FILE_MODE, blob)})
            commit = objects.write_commit(tree, None, "What this repository holds\n", 0)
            refs.transaction([RefUpdate(REF, commit, None)])
        if _head(gitdir) != REF:
            try:
                gitrun.run(gitdir, "symbolic-ref", "HEAD", REF)
            except CommandFailed as e:
                raise StoreError(f"cannot point HEAD at {REF}: {e}") from e


def _head(gitdir: Path) -> str:
    try:
        return (gitdir / "HEAD").read_text("ascii").strip().removeprefix("ref: ")
    except OSError:
        return ""
