"""consign/termination.py: SIGTERM raised as Ctrl-C would be, once, in the main thread
only, and the previous handler put back (a real signal to this process)."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from consign.errors import Interrupted
from consign.termination import TerminateAsInterrupt, Terminated, signal_word


def test_sigterm_raises_once_and_the_previous_handler_is_put_back() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with TerminateAsInterrupt() as term:
        with pytest.raises(Terminated):
            os.kill(os.getpid(), signal.SIGTERM)
            signal.sigtimedwait([], 0)  # gives the handler its turn, should it be late
        assert term.received
        os.kill(os.getpid(), signal.SIGTERM)  # a second one, during cleanup: ignored
    assert isinstance(Terminated(), KeyboardInterrupt)  # every Ctrl-C path handles it
    assert signal.getsignal(signal.SIGTERM) is before


def test_outside_the_main_thread_it_changes_nothing() -> None:
    before = signal.getsignal(signal.SIGTERM)
    seen: list[object] = []

    def enter() -> None:
        with TerminateAsInterrupt():
            seen.append(signal.getsignal(signal.SIGTERM))

    worker = threading.Thread(target=enter)
    worker.start()
    worker.join()
    assert seen == [before]


def test_the_interruption_is_named_by_what_caused_it() -> None:
    def raised(cause: BaseException) -> BaseException:
        try:
            try:
                raise cause
            except KeyboardInterrupt as e:
                raise Interrupted("stopped") from e
        except Interrupted as e:
            return e

    assert signal_word(raised(Terminated("SIGTERM"))) == "SIGTERM"
    assert signal_word(raised(KeyboardInterrupt())) == "Ctrl-C"
