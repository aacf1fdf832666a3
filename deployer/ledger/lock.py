"""One deploy per environment at a time, through the registry's environment lock.

:func:`acquire` asks the registry; while another deploy holds the lock it polls until
``wait`` seconds have passed, then raises :class:`LockRefused` naming the holder (who,
which version, since when). The held lock is renewed in the background every third of its
``ttl``; if the deployer is killed, renewals stop and the lock expires after ``ttl``
seconds, when the next deploy takes it over.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

from deployer.ledger.client import LedgerClient, LedgerError

DEFAULT_TTL = 120
DEFAULT_WAIT = 300.0
POLL = 2.0


class LockRefused(Exception):
    """Another deploy holds the environment (``message`` names it) after waiting."""

    def __init__(self, message: str, holder: dict[str, Any]) -> None:
        super().__init__(message)
        self.message = message
        self.holder = holder


class LockUnavailable(Exception):
    """The registry could not be asked (unreachable, refused the token): no lock taken."""


class HeldLock:
    """A lock this process holds; renewed in a daemon thread until :meth:`release`."""

    def __init__(self, client: LedgerClient, environment: str, body: dict[str, Any]) -> None:
        self.client = client
        self.environment = environment
        self.id: str = body["id"]
        self.ttl: int = int(body["ttl"])
        self.took_over: dict[str, Any] | None = body.get("took_over")
        self.lost = ""  # why renewing stopped working, if it did
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew, daemon=True, name="consign-lock")
        self._thread.start()

    def _renew(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            try:
                self.client.renew_lock(self.environment, self.id, self.ttl)
            except LedgerError as e:
                if not e.transient:  # 404: expired and taken over; stop pretending
                    self.lost = e.message
                    return

    def release(self) -> None:
        """Stop renewing and give the lock back (an unreachable registry lets it expire)."""
        self._stop.set()
        self._thread.join(timeout=1)
        with contextlib.suppress(LedgerError):
            self.client.release_lock(self.environment, self.id)

    def __enter__(self) -> HeldLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def acquire(
    client: LedgerClient,
    environment: str,
    holder: dict[str, Any],
    *,
    wait: float = DEFAULT_WAIT,
    ttl: int = DEFAULT_TTL,
    poll: float = POLL,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    waiting: Callable[[str], None] | None = None,
) -> HeldLock:
    """Take ``environment``'s lock, waiting at most ``wait`` seconds for another deploy.

    ``waiting`` is told once (the holder's description) when this deploy has to wait.
    Raises LockRefused when still held after ``wait``, LockUnavailable when the registry
    cannot be asked.
    """
    deadline = clock() + wait
    told = False
    while True:
        try:
            return HeldLock(client, environment, client.acquire_lock(environment, holder, ttl))
        except LedgerError as e:
            if e.status != 409:
                raise LockUnavailable(f"cannot lock {environment}: {e.message}") from e
            message = str(e.body.get("message") or e.message)
            held_by = dict((e.body.get("lock") or {}).get("holder") or {})
            left = deadline - clock()
            if left <= 0:
                raise LockRefused(message, held_by) from e
            if waiting is not None and not told:
                waiting(message)
                told = True
            sleep(min(poll, left))
