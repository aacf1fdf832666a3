"""The one wrapper through which Consignment runs external programs (git, docker compose).

It logs the exact command line (``shlex.join``) and turns a non-zero exit into a
:class:`CommandFailed` that keeps the command, exit code, stdout and stderr, so callers
can re-raise it as their own domain error ``from`` it.
"""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

log = logging.getLogger(__name__)


class CommandFailed(Exception):
    """An external command exited non-zero (or could not be started at all)."""

    def __init__(self, argv: Sequence[str], returncode: int, stdout: str, stderr: str) -> None:
        self.argv = list(argv)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        super().__init__(str(self))

    @property
    def command(self) -> str:
        return shlex.join(self.argv)

    def __str__(self) -> str:
        detail = (self.stderr or self.stdout).strip()
        return f"`{self.command}` exited {self.returncode}" + (f": {detail}" if detail else "")


@dataclass(frozen=True)
class Completed:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float


def run(
    argv: Sequence[str],
    *,
    input: str | bytes | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    timeout: float | None = None,
    check: bool = True,
) -> Completed:
    """Run ``argv`` and capture its output as text.

    ``env`` is added to the current environment. With ``check`` (the default) a
    non-zero exit raises :class:`CommandFailed`; a missing program raises it too,
    with exit code 127 as a shell would.
    """
    argv = [str(a) for a in argv]
    log.debug("run: %s", shlex.join(argv))
    full_env = None if env is None else {**os.environ, **env}
    data = input.encode() if isinstance(input, str) else input
    started = time.monotonic()
    try:
        proc = subprocess.run(
            argv,
            input=data,
            capture_output=True,
            env=full_env,
            cwd=cwd,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as e:
        raise CommandFailed(argv, 127, "", f"{argv[0]}: command not found") from e
    except subprocess.TimeoutExpired as e:
        raise CommandFailed(argv, 124, "", f"timed out after {timeout}s") from e
    done = Completed(
        argv,
        proc.returncode,
        proc.stdout.decode("utf-8", "replace"),
        proc.stderr.decode("utf-8", "replace"),
        time.monotonic() - started,
    )
    log.debug("exit %s after %.3fs: %s", done.returncode, done.seconds, shlex.join(argv))
    if check and done.returncode != 0:
        raise CommandFailed(argv, done.returncode, done.stdout, done.stderr)
    return done
