"""Housekeeping: a geometric repack now and then, from the publisher, under the publish lock.

Every publish writes one small pack (:mod:`.packwriter`) and one loose tag, so 10,000
versions would be 10,000 packs, and each lookup of an object asks every pack's index.
After a publish (still holding the lock, so no ref moves meanwhile) we make Git's own two
cheap estimates in-process: the packs in ``objects/pack`` (without a ``.keep``) against
``gc.autoPackLimit`` (50, Git's default), and, for loose objects written by anything else,
the entries in ``objects/17`` times 256 against ``gc.auto`` (6700). Only when one says
"too many", and at most once every ``min_interval`` publishes of this process, we run

- ``git repack -d -n --geometric=2`` (Git 2.32+): it rolls the small packs (and any loose
  objects) together only until the packs form a progression where each is at least twice
  the size of the next smaller one, so the pack count stays logarithmic in the objects and
  a run rewrites mostly the recent, small packs. (``git gc --auto`` instead repacks
  *everything*, ``repack -A -d -l``, once past ``gc.autoPackLimit``: with one pack per
  publish, a full repack every ~100 publishes, a pause growing with the repository.)
  ``-n`` skips ``git update-server-info`` (``info/refs``, ``objects/info/packs``), which
  costs time in proportion to the refs (~50-100 ms at 10,000 versions) and which nothing
  reads: ``git http-backend`` answers the dumb protocol's two files itself, from the refs
  and packs. Then ``git pack-refs --all --prune``, as ``gc --auto`` does, for the tags;
- on an older Git, ``git gc --auto`` as before (logged once).

Each runs in the foreground (``gc.autoDetach=false`` for gc, or it would outlive the lock)
and tied to this process, so that a worker killed meanwhile takes Git with it instead of
leaving it running without the lock. A full ``git gc`` (unreachable objects, a single
pack) stays for maintenance windows (:meth:`registry.store.DescriptorStore.gc`).

Readers need no coordination: a running ``git cat-file --batch`` re-scans the pack
directory when an object is no longer where it was, and :class:`~registry.store.refs.RefDB`
reads a loose ref before ``packed-refs``, the order in which ``pack-refs`` makes them safe.
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


GEOMETRIC_SINCE = (2, 32)  # the first Git with `git repack --geometric`
GEOMETRIC_FACTOR = 2


def parse_git_version(text: str) -> tuple[int, int]:
    """(major, minor) from ``git version 2.39.5`` (or ``2.39.5.windows.1``...); (0, 0) if
    it cannot be read, which selects the old behaviour."""
    words = text.split()
    parts = words[2].split(".") if len(words) >= 3 else []
    try:
        return int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        return 0, 0


class Housekeeper:
    """Decides, after each publish, whether to consolidate the packs; does it if so."""

    def __init__(
        self,
        gitdir: Path,
        *,
        gc_auto: int = GC_AUTO,
        min_interval: int = MIN_INTERVAL,
        pack_limit: int = PACK_LIMIT,
        git_version: tuple[int, int] | None = None,
    ) -> None:
        """``gc_auto`` 0 turns housekeeping off, as ``gc.auto=0`` does in Git.
        ``git_version`` (major, minor) is asked of ``git version`` on first need if None."""
        self.gitdir = gitdir
        self.gc_auto = gc_auto
        self.pack_limit = pack_limit
        self.min_interval = min_interval
        self._git_version = git_version
        self._fallback_told = False
        self._since: dict[int, int] = {}  # per process: publishes since the last attempt
        self.runs = 0  # housekeeping runs by this object (for tests and logs)
        self.longest_pause = 0.0  # seconds of the longest run (for benchmarks and logs)

    def geometric(self) -> bool:
        """Whether this Git has ``repack --geometric`` (asked once; the fallback is logged once)."""
        if self._git_version is None:
            try:
                out = gitrun.run(self.gitdir, "version", timeout=30).stdout
            except CommandFailed as e:
                log.warning("housekeeping: `git version` failed: %s", e)
                out = ""
            self._git_version = parse_git_version(out)
        supported = self._git_version >= GEOMETRIC_SINCE
        if not supported and not self._fallback_told:
            self._fallback_told = True
            log.warning(
                "housekeeping: git %d.%d has no `repack --geometric` (2.32+): falling back"
                " to `git gc --auto`, which repacks everything past %d packs",
                *self._git_version,
                self.pack_limit,
            )
        return supported

    def due(self) -> bool:
        """Git's two estimates: too many packs, or too many loose objects."""
        return (
            pack_count(self.gitdir) > self.pack_limit or loose_estimate(self.gitdir) > self.gc_auto
        )

    def after_publish(self) -> bool:
        """Call while holding the publish lock; True when housekeeping ran."""
        pid = os.getpid()
        since = self._since.get(pid, self.min_interval) + 1
        self._since[pid] = since
        if self.gc_auto <= 0 or since < self.min_interval or not self.due():
            return False
        self._since[pid] = 0
        self.runs += 1
        try:
            seconds = self._geometric_repack() if self.geometric() else self._gc_auto()
        except CommandFailed as e:
            # The version is already published: a failed repack must not turn it into an error.
            log.warning("housekeeping failed (the publish stands): %s", e)
            return False
        self.longest_pause = max(self.longest_pause, seconds)
        return True

    def _geometric_repack(self) -> float:
        before = pack_count(self.gitdir)
        repack = gitrun.run(
            self.gitdir,
            "repack",
            "-d",
            "-n",  # no update-server-info: http-backend answers the dumb protocol's files itself
            f"--geometric={GEOMETRIC_FACTOR}",
            "--quiet",
            timeout=600,
            tied_to_caller=True,
        )
        refs = gitrun.run(
            self.gitdir, "pack-refs", "--all", "--prune", timeout=600, tied_to_caller=True
        )
        seconds = repack.seconds + refs.seconds
        log.info(
            "housekeeping: `git repack -d -n --geometric=%d` %d -> %d packs, and `pack-refs`,"
            " took %.2fs",
            GEOMETRIC_FACTOR,
            before,
            pack_count(self.gitdir),
            seconds,
        )
        return seconds

    def _gc_auto(self) -> float:
        config = {
            "gc.autoDetach": "false",
            "gc.auto": str(self.gc_auto),
            "gc.autoPackLimit": str(self.pack_limit),
        }
        done = gitrun.run(
            self.gitdir,
            "gc",
            "--auto",
            "--quiet",
            config=config,
            timeout=600,
            tied_to_caller=True,
        )
        log.info("housekeeping: `git gc --auto` took %.1fs", done.seconds)
        return done.seconds
