"""Pipelined reads through one persistent ``git cat-file --batch`` per process.

Many object names (``<sha>``, ``refs/tags/...``, ``<commit>:consign.json``) are written in
one go and the answers read back in order, so a page of 100 versions costs one round trip
instead of hundreds. Requests are sent in chunks small enough that git can never block
writing answers while we block writing questions. One session per process
(:class:`consign.process.PerProcess`): a forked gunicorn worker never reads its parent's pipe.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from consign.process import CommandFailed, PerProcess
from registry.errors import StoreError
from registry.store import gitrun

CHUNK_BYTES = 16 * 1024


@dataclass(frozen=True)
class GitObject:
    sha: str
    kind: str
    data: bytes


class CatFile:
    def __init__(self, gitdir: Path) -> None:
        self.gitdir = gitdir
        self._child = PerProcess(gitrun.argv(gitdir, "cat-file", "--batch"))

    def close(self) -> None:
        self._child.close()

    def read_many(self, names: Sequence[str]) -> list[GitObject | None]:
        """The objects named, in order; None for a name that does not resolve."""
        for name in names:
            if not name or "\n" in name:
                raise StoreError(f"bad object name {name!r}")
        try:
            return self._read_many(names)
        except (OSError, ValueError, StoreError, CommandFailed) as e:
            self._child.close()  # a broken or confused session is never reused
            raise StoreError(f"cannot read from the Git repository: {e}") from e

    def _read_many(self, names: Sequence[str]) -> list[GitObject | None]:
        proc = self._child.get()
        assert proc.stdin is not None and proc.stdout is not None
        results: list[GitObject | None] = []
        start = 0
        while start < len(names):
            end, size = start, 0
            while end < len(names) and (end == start or size + len(names[end]) < CHUNK_BYTES):
                size += len(names[end]) + 1
                end += 1
            proc.stdin.write(("\n".join(names[start:end]) + "\n").encode())
            proc.stdin.flush()
            for _ in range(start, end):
                results.append(_answer(proc.stdout))
            start = end
        return results


def _answer(stream: IO[bytes]) -> GitObject | None:
    header = stream.readline()
    if not header:
        raise StoreError("git cat-file --batch exited")
    fields = header.decode(errors="replace").split()
    if len(fields) == 2 and fields[1] in ("missing", "ambiguous"):
        return None
    if len(fields) != 3:
        raise StoreError(f"unexpected cat-file answer {header!r}")
    sha, kind, size = fields[0], fields[1], int(fields[2])
    data = stream.read(size + 1)
    if len(data) != size + 1:
        raise StoreError("git cat-file --batch exited mid-object")
    return GitObject(sha, kind, data[:-1])
