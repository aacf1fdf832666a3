"""Housekeeping: ``git gc --auto`` now and then, from the publisher, under the publish lock.

Every publish writes one small pack (:mod:`.packwriter`) and one loose tag, so 10,000
versions would be 10,000 packs, and each lookup of an object asks every pack's index.
After a publish (still holding the lock, so no ref moves meanwhile) we make Git's own two
cheap estimates in-process: the packs in ``objects/pack`` (without a ``.keep``) against
``gc.autoPackLimit`` (50, Git's default), and, for loose objects written by anything else,
the entries in ``objects/17`` times 256 against ``gc.auto`` (6700). Only when one says
"too many", and at most once
every ``min_interval`` publishes of this process, we run ``git gc --auto`` (in the
foreground: ``gc.autoDetach=false``, or it would outlive the lock; and tied to this
process, so that a worker killed meanwhile takes ``git gc`` and its ``repack`` with it
instead of leaving them running without the lock). Git then decides
itself, packs the loose objects and refs, and removes the packed loose copies.

Readers need no coordination: a running ``git cat-file --batch`` re-scans the pack
directory when an object is no longer loose, and :class:`~registry.store.refs.RefDB` reads a
loose ref before ``packed-refs``, the order in which ``pack-refs`` makes them safe.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from consign.process import CommandFailed
from registry.store import gitrun

log = logging.getLogger(__name__)

GC_AUTO = 6700  # Git's default gc.auto: loose objects before `gc --auto` packs them
PACK_LIMIT = 50  # Git's default gc.autoPackLimit: packs before `gc --auto` repacks them
MIN_INTERVAL = 100  # publishes of one process between two `gc --auto` runs
SAMPLE_DIR = "17"  # Git estimates the loose object count from this one fan-out directory


def loose_estimate(gitdir: Path) -> int:
    """Git's estimate of the number of loose objects (entries of objects/17 times 256)."""
    try:
        with os.scandir(gitdir / "objects" / SAMPLE_DIR) as entries:
            return 256 * sum(1 for e in entries if len(e.name) == 38)
    except FileNotFoundError:
        return 0


def pack_count(gitdir: Path) -> int:
    """The packs ``git gc --auto`` counts: those without a ``.keep`` file."""
    try:
        with os.scandir(gitdir / "objects" / "pack") as entries:
            names = {e.name for e in entries}
    except FileNotFoundError:
        return 0
    return sum(
        1 for n in names if n.endswith(".pack") and n.removesuffix(".pack") + ".keep" not in names
    )


class Housekeeper:
    """Decides, after each publish, whether to run ``git gc --auto``; runs it if so."""

    def __init__(
        self,
        gitdir: Path,
        *,
        gc_auto: int = GC_AUTO,
        min_interval: int = MIN_INTERVAL,
        pack_limit: int = PACK_LIMIT,
    ) -> None:
        """``gc_auto`` 0 turns housekeeping off, as ``gc.auto=0`` does in Git."""
        self.gitdir = gitdir
        self.gc_auto = gc_auto
        self.pack_limit = pack_limit
        self.min_interval = min_interval
        self._since: dict[int, int] = {}  # per process: publishes since the last gc attempt
        self.runs = 0  # `git gc --auto` runs by this object (for tests and logs)

    def after_publish(self) -> bool:
        """Call while holding the publish lock; True when ``git gc --auto`` ran."""
        pid = os.getpid()
        since = self._since.get(pid, self.min_interval) + 1
        self._since[pid] = since
        if self.gc_auto <= 0 or since < self.min_interval:
            return False
        if (
            pack_count(self.gitdir) <= self.pack_limit
            and loose_estimate(self.gitdir) <= self.gc_auto
        ):
            return False
        self._since[pid] = 0
        self.runs += 1
        config = {
            "gc.autoDetach": "false",
            "gc.auto": str(self.gc_auto),
            "gc.autoPackLimit": str(self.pack_limit),
        }
        try:
            done = gitrun.run(
                self.gitdir,
                "gc",
                "--auto",
                "--quiet",
                config=config,
                timeout=600,
                tied_to_caller=True,
            )
        except CommandFailed as e:
            # The version is already published: a failed gc must not turn it into an error.
            log.warning("housekeeping `git gc --auto` failed (the publish stands): %s", e)
            return False
        log.info("housekeeping: `git gc --auto` took %.1fs", done.seconds)
        return True
