"""The one wrapper through which Consignment runs external programs (git, docker compose).

It logs the exact command line (``shlex.join``) and turns a non-zero exit into a
:class:`CommandFailed` that keeps the command, exit code, stdout and stderr, so callers
can re-raise it as their own domain error ``from`` it.

A command run with ``tied_to_caller=True`` (or started with :func:`tied`) never outlives the
process that started it, even when that process is SIGKILLed: it runs under a tiny
supervisor that the kernel signals when its parent dies (``PR_SET_PDEATHSIG``) and that then
ends the command's whole process group. ``git gc`` needs this: it forks ``git repack`` and ``git
pack-objects``, which a signal to ``git gc`` alone would leave running, outside the lock
its dead parent held.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

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


PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None, use_errno=True)
#: The supervisor of a tied command: the leader of the command's process group. SIGTERM
#: (sent by the kernel when its parent dies, or by :func:`run` on a timeout) is passed to
#: the whole group; the command's exit status is passed back.
_SUPERVISOR = """
import os, signal, subprocess, sys
def stop(*_):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    os.killpg(0, signal.SIGTERM)
    os._exit(143)
signal.signal(signal.SIGTERM, stop)
if os.getppid() != int(sys.argv[1]):
    stop()
code = subprocess.call(sys.argv[2:])
sys.exit(code if code >= 0 else 128 - code)
"""


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the parent (thread) dies."""
    _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def tied(argv: Sequence[str]) -> tuple[list[str], dict[str, Any]]:
    """``argv`` wrapped in the supervisor, and the Popen arguments that tie it to this
    process: it and everything it starts are ended when this process dies."""
    wrapped = [sys.executable, "-c", _SUPERVISOR, str(os.getpid()), *map(str, argv)]
    return wrapped, {"preexec_fn": _die_with_parent, "process_group": 0}


def end_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM a tied command's whole process group (no-op once it is gone)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)


def run(
    argv: Sequence[str],
    *,
    input: str | bytes | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    timeout: float | None = None,
    check: bool = True,
    tied_to_caller: bool = False,
) -> Completed:
    """Run ``argv`` and capture its output as text.

    ``env`` is added to the current environment. With ``check`` (the default) a
    non-zero exit raises :class:`CommandFailed`; a missing program raises it too,
    with exit code 127 as a shell would. ``tied_to_caller``: the command and its children
    end when this process dies (see :func:`tied`), and all of them on a timeout.
    """
    argv = [str(a) for a in argv]
    log.debug("run: %s", shlex.join(argv))
    full_env = None if env is None else {**os.environ, **env}
    data = input.encode() if isinstance(input, str) else input
    started = time.monotonic()
    if tied_to_caller and not shutil.which(argv[0], path=(full_env or os.environ).get("PATH")):
        raise CommandFailed(argv, 127, "", f"{argv[0]}: command not found")
    command, extra = tied(argv) if tied_to_caller else (argv, {})
    try:
        with subprocess.Popen(
            command,
            stdin=subprocess.PIPE if data is not None else None,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=full_env,
            cwd=cwd,
            **extra,
        ) as proc:
            try:
                stdout, stderr = proc.communicate(data, timeout=timeout)
            except subprocess.TimeoutExpired as e:
                if tied_to_caller:
                    end_group(proc)
                proc.kill()
                proc.communicate()
                raise CommandFailed(argv, 124, "", f"timed out after {timeout}s") from e
            except BaseException:
                if tied_to_caller:
                    end_group(proc)
                proc.kill()
                raise
    except FileNotFoundError as e:
        raise CommandFailed(argv, 127, "", f"{argv[0]}: command not found") from e
    done = Completed(
        argv,
        proc.returncode,
        stdout.decode("utf-8", "replace"),
        stderr.decode("utf-8", "replace"),
        time.monotonic() - started,
    )
    log.debug("exit %s after %.3fs: %s", done.returncode, done.seconds, shlex.join(argv))
    if check and done.returncode != 0:
        raise CommandFailed(argv, done.returncode, done.stdout, done.stderr)
    return done


class Running:
    """An external command started with :func:`start`: wait for it, or interrupt it first.

    It runs in its own session, so a Ctrl-C on the terminal reaches only us: we decide
    whether and when the child is interrupted (and wait until it has stopped).
    """

    def __init__(self, argv: list[str], proc: subprocess.Popen[bytes]) -> None:
        self.argv = argv
        self.proc = proc
        self.started = time.monotonic()
        self._done: Completed | None = None
        self._lock = threading.Lock()

    def interrupt(self) -> None:
        """Ask the command to stop as Ctrl-C would (SIGINT); :meth:`wait` reaps it."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGINT)

    def wait(self, timeout: float | None = None) -> Completed:
        """Wait for the end and return its output (never raises for a non-zero exit)."""
        with self._lock:
            if self._done is None:
                out, err = self.proc.communicate(timeout=timeout)
                self._done = Completed(
                    self.argv,
                    self.proc.returncode,
                    out.decode("utf-8", "replace"),
                    err.decode("utf-8", "replace"),
                    time.monotonic() - self.started,
                )
                log.debug("exit %s: %s", self.proc.returncode, shlex.join(self.argv))
            return self._done


def start(argv: Sequence[str], *, env: Mapping[str, str] | None = None) -> Running:
    """Start ``argv`` with captured output; a missing program raises CommandFailed (127)."""
    argv = [str(a) for a in argv]
    log.debug("start: %s", shlex.join(argv))
    full_env = None if env is None else {**os.environ, **env}
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=full_env,
            start_new_session=True,
        )
    except FileNotFoundError as e:
        raise CommandFailed(argv, 127, "", f"{argv[0]}: command not found") from e
    return Running(argv, proc)


def stop(proc: subprocess.Popen[bytes], *, terminate: bool = False, timeout: float = 10) -> None:
    """End a long-lived child and reap it, so it never outlives its use.

    Closing its stdin is the polite way (git's ``--batch``/``--stdin`` modes and
    ``docker system dial-stdio`` exit on end-of-file); ``terminate`` also sends SIGTERM. A
    child still there after ``timeout`` seconds is killed. Our ends of its pipes are closed.
    """
    if proc.stdin is not None:
        with contextlib.suppress(OSError, ValueError):
            proc.stdin.close()
    if terminate and proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            with contextlib.suppress(OSError, ValueError):
                stream.close()


class PerProcess:
    """One long-lived child (e.g. ``git cat-file --batch``) for each process id.

    A gunicorn worker forked from a parent that already had one never shares its parent's
    pipes: it starts its own. Children are reaped by :meth:`close`, or when this object is
    collected.
    """

    def __init__(self, argv: Sequence[str], *, keep_stderr: bool = False) -> None:
        self.argv = [str(a) for a in argv]
        self._stderr = subprocess.PIPE if keep_stderr else subprocess.DEVNULL
        self._children: dict[int, subprocess.Popen[bytes]] = {}
        weakref.finalize(self, _stop_current, self._children)

    def get(self) -> subprocess.Popen[bytes]:
        """This process's child, started (again) if it is missing or has exited."""
        proc = self._children.get(os.getpid())
        if proc is None or proc.poll() is not None:
            self.close()
            log.debug("start: %s", shlex.join(self.argv))
            try:
                proc = subprocess.Popen(
                    self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr
                )
            except OSError as e:
                raise CommandFailed(self.argv, 127, "", f"cannot start: {e}") from e
            self._children[os.getpid()] = proc
        return proc

    def detach(self) -> subprocess.Popen[bytes] | None:
        """Forget this process's child without stopping it (the caller stops it)."""
        return self._children.pop(os.getpid(), None)

    def close(self) -> None:
        _stop_current(self._children)


def _stop_current(children: dict[int, subprocess.Popen[bytes]]) -> None:
    proc = children.pop(os.getpid(), None)
    if proc is not None:
        stop(proc)
