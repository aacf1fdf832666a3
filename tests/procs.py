"""Processes seen through /proc: which ``git`` commands work on a given repository."""

from __future__ import annotations

import os
import time
from pathlib import Path


def _ppid(entry: Path) -> int:
    stat = (entry / "stat").read_text()
    return int(stat.rpartition(")")[2].split()[1])


def git_processes(repo: Path, *, orphans_only: bool = True) -> dict[int, str]:
    """pid -> command line of every process whose command line names ``repo``'s path
    and runs git (``git --git-dir REPO ...``, and the ``repack``/``pack-objects`` that
    ``git gc`` starts with relative paths inside it are found by their working directory).
    ``orphans_only``: leave out this process's own children (its live store's helpers)."""
    found: dict[int, str] = {}
    repo = repo.resolve()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            cwd = (entry / "cwd").resolve()
            if orphans_only and _ppid(entry) == os.getpid():
                continue
        except OSError:  # gone meanwhile, or not ours to read
            continue
        words = [a.decode("utf-8", "replace") for a in argv if a]
        if not words or not Path(words[0]).name.startswith("git"):
            continue
        if str(repo) in " ".join(words) or cwd == repo or repo in cwd.parents:
            found[int(entry.name)] = " ".join(words)
    return found


def wait_for_no_git(repo: Path, timeout: float) -> dict[int, str]:
    """Poll until no git process works on ``repo`` (or ``timeout``); return what is left."""
    deadline = time.monotonic() + timeout
    while (left := git_processes(repo)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def wait_for_git(repo: Path, word: str, timeout: float) -> int | None:
    """Poll until a git process on ``repo`` whose command line has ``word`` runs; its pid."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pid, line in git_processes(repo).items():
            if word in line.split():
                return pid
        time.sleep(0.02)
    return None
