"""Ref transactions through one persistent ``git update-ref --stdin`` per process.

``update-ref --stdin`` runs any number of ``start``/``prepare``/``commit`` transactions and
answers ``<command>: ok`` for each, so a publish costs no process spawn. Each transaction
is all-or-nothing: ``prepare`` locks and verifies every ref (old values, tags not existing)
and only ``commit`` moves them; the whole transaction is sent in one write. If this process
dies before the write, git reads end-of-file and moves nothing; if ``prepare`` fails, git
exits with the reason on stderr without reading ``commit``, nothing has moved, and the next
transaction starts a fresh session. (Objects are written before, so a transaction committed
by git after its requester died leaves a complete, if unanswered, version.) One session per
process (:class:`consign.process.PerProcess`): a forked worker never writes to its parent's pipe.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Sequence
from pathlib import Path

from consign.process import CommandFailed, PerProcess, stop
from registry.errors import StoreError
from registry.store import diskspace, gitrun

ZERO = "0" * 40


class RefUpdater:
    def __init__(self, gitdir: Path, *, durable: bool = True) -> None:
        """Without ``durable``, git is told not to fsync the refs it writes either
        (``-c core.fsync=none`` overrides the repository's ``gitobjects.FSYNC_CONFIG``), so that
        ``CONSIGN_DURABLE=false`` skips every fsync of a publish, as documented."""
        self.gitdir = gitdir
        config = {} if durable else {"core.fsync": "none"}
        argv = gitrun.argv(gitdir, "update-ref", "--stdin", config=config)
        self._child = PerProcess(argv, keep_stderr=True)

    def close(self) -> None:
        self._child.close()

    def transaction(self, lines: Sequence[str]) -> None:
        """Run ``start``, the update/create ``lines``, ``prepare``, ``commit``: all or none.

        Sent in one write (one round trip): when ``prepare`` fails, git reports it and exits
        without reading on, so the ``commit`` line is never acted upon.
        """
        try:
            proc = self._child.get()
        except CommandFailed as e:
            raise StoreError(str(e)) from e
        command = ["start", *lines, "prepare", "commit"]
        self._send(proc, command, expect=["start", "prepare", "commit"])

    def _send(self, proc: subprocess.Popen[bytes], lines: list[str], expect: list[str]) -> None:
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(("\n".join(lines) + "\n").encode())
            proc.stdin.flush()
            for command in expect:
                answer = proc.stdout.readline().decode(errors="replace").strip()
                if answer != f"{command}: ok":
                    raise self._failure(answer)
        except OSError as e:  # BrokenPipeError: git already gave up
            raise self._failure(str(e)) from e

    def _failure(self, answer: str) -> StoreError:
        """Retire the session (git exits once its stdin closes) and say why it failed."""
        proc = self._child.detach()
        detail = answer
        if proc is not None:
            if proc.stdin is not None:
                with contextlib.suppress(OSError):
                    proc.stdin.close()
            assert proc.stderr is not None
            detail = proc.stderr.read().decode(errors="replace").strip() or answer
            stop(proc)
        what = "the ref transaction failed, no ref moved"
        return diskspace.git_error(self.gitdir, what, detail or "git update-ref exited")
