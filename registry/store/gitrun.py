"""The one helper that runs ``git`` on the repository: every command line the store gives
Git starts here (``git --git-dir <repo> [-c key=value...] <args>``), whether it runs once
(:func:`run`) or as a persistent session (:func:`argv` for :class:`consign.process.PerProcess`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from consign import process


def argv(gitdir: Path, *args: str, config: Mapping[str, str] | None = None) -> list[str]:
    """The command line of ``git <args>`` on ``gitdir``, with ``config`` as ``-c`` options."""
    line = ["git", "--git-dir", str(gitdir)]
    for key, value in (config or {}).items():
        line += ["-c", f"{key}={value}"]
    return [*line, *args]


def run(
    gitdir: Path, *args: str, config: Mapping[str, str] | None = None, **options: Any
) -> process.Completed:
    """Run ``git <args>`` on ``gitdir`` through :func:`consign.process.run` (``options``
    are its keyword arguments: check, timeout, tied_to_caller, input...)."""
    return process.run(argv(gitdir, *args, config=config), **options)
