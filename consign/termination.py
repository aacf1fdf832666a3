"""SIGTERM handled as Ctrl-C is: what `docker stop` (the Rundeck deployer's container, a
service manager) sends a command to end it.

:class:`TerminateAsInterrupt` raises :class:`Terminated`, a ``KeyboardInterrupt``, in the
main thread at the first SIGTERM, so every place that handles Ctrl-C (Compose stopped and
waited for, never-started containers removed, an ``interrupted`` record, locks released)
handles it the same; the command then exits 143 (128 + SIGTERM) instead of 130. Later
SIGTERMs while that cleanup runs are noted and ignored: the cleanup is bounded, and the
sender's SIGKILL comes after its grace period anyway.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType, TracebackType
from typing import Any


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C would be."""


class TerminateAsInterrupt:
    """A context: while inside, SIGTERM raises :class:`Terminated` (once); ``received``
    says whether one came. Outside the main thread (where Python cannot take signals) it
    does nothing. The previous handler is put back on exit."""

    def __init__(self) -> None:
        self.received = False
        self._previous: Any = None
        self._installed = False

    def __enter__(self) -> TerminateAsInterrupt:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGTERM, self._on_term)
            self._installed = True
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._installed:
            signal.signal(signal.SIGTERM, self._previous)
            self._installed = False

    def _on_term(self, signum: int, frame: FrameType | None) -> None:
        if self.received:
            return
        self.received = True
        raise Terminated("SIGTERM")


def signal_word(error: BaseException) -> str:
    """``SIGTERM`` when ``error`` was caused (anywhere in its chain) by :class:`Terminated`,
    else ``Ctrl-C``: what a message or a record names as the interruption."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, Terminated):
            return "SIGTERM"
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return "Ctrl-C"
