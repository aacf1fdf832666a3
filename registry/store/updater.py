"""Ref transactions through one persistent ``git update-ref --stdin`` per process.

``update-ref --stdin`` runs any number of ``start``/``prepare``/``commit`` transactions and
answers ``<command>: ok`` for each, so a publish costs no process spawn. Each transaction
is all-or-nothing: ``prepare`` locks and verifies every ref (old values, tags not existing)
and only ``commit`` moves them; the whole transaction is sent in one write. If this process
dies before the write, git reads end-of-file and moves nothing; if ``prepare`` fails, git
exits with the reason on stderr without reading ``commit``, nothing has moved, and the next
transaction starts a fresh session. (Objects are written before, so a transaction committed
by git after its requester died leaves a complete, if unanswered, version.) Sessions are
keyed by ``os.getpid()`` so a forked gunicorn worker never writes to its parent's pipe.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import weakref
from collections.abc import Sequence
from pathlib import Path

from registry.errors import StoreError

ZERO = "0" * 40


class RefUpdater:
    def __init__(self, gitdir: Path) -> None:
        self.gitdir = gitdir
        self._sessions: dict[int, subprocess.Popen[bytes]] = {}
        weakref.finalize(self, _close, self._sessions)

    def close(self) -> None:
        _close(self._sessions)

    def _session(self) -> subprocess.Popen[bytes]:
        proc = self._sessions.get(os.getpid())
        if proc is None or proc.poll() is not None:
            _close(self._sessions)
            argv = ["git", "--git-dir", str(self.gitdir), "update-ref", "--stdin"]
            try:
                proc = subprocess.Popen(
                    argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
                )
            except OSError as e:
                raise StoreError(f"cannot start `git update-ref --stdin`: {e}") from e
            self._sessions[os.getpid()] = proc
        return proc

    def transaction(self, lines: Sequence[str]) -> None:
        """Run ``start``, the update/create ``lines``, ``prepare``, ``commit``: all or none.

        Sent in one write (one round trip): when ``prepare`` fails, git reports it and exits
        without reading on, so the ``commit`` line is never acted upon.
        """
        proc = self._session()
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
                    raise StoreError(self._failure(answer))
        except OSError as e:  # BrokenPipeError: git already gave up
            raise StoreError(self._failure(str(e))) from e

    def _failure(self, answer: str) -> str:
        proc = self._sessions.pop(os.getpid(), None)
        detail = answer
        if proc is not None:
            _stop(proc)
            assert proc.stderr is not None
            detail = proc.stderr.read().decode(errors="replace").strip() or answer
            proc.stderr.close()
        return f"the ref transaction failed, no ref moved: {detail or 'git update-ref exited'}"


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Close git's stdin (it aborts any open transaction and exits) and reap it."""
    for stream in (proc.stdin, proc.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _close(sessions: dict[int, subprocess.Popen[bytes]]) -> None:
    proc = sessions.pop(os.getpid(), None)
    if proc is not None:
        _stop(proc)
        if proc.stderr is not None:
            proc.stderr.close()
