"""One deploy per environment at a time, through the registry's environment lock.

:func:`acquire` asks the registry; while another deploy holds the lock it polls until
``wait`` seconds have passed, then raises :class:`LockRefused` naming the holder (who,
which version, since when, which process on which host). The held lock is renewed in the
background every third of its ``ttl``; if the deployer is killed, renewals stop and the
lock expires after ``ttl`` seconds, when the next deploy takes it over.

The rules of the wait (:class:`Acquisition`, unit-tested on recorded answers):

- Waiting never becomes skipping. Each request is already retried by the client's
  urllib3 ``Retry``; a poll that still fails (the registry went away while we wait) is
  one failed poll: the wait goes on until its deadline and ends in :class:`LockRefused`,
  never in going on without the lock.
- Only when the registry could not be asked at all from the first request on (no answer,
  a 5xx, a refused token) is the lock :class:`LockUnavailable`: the caller decides
  (``--require-lock``) whether to go on without it.
- A 409 naming this very attempt (a POST retried after its answer was lost, that had in
  fact taken the lock) is this deploy's lock: it is kept, not waited for.
- A holder on this host whose process is gone (:func:`deployer.ledger.holder.gone`) is
  replaced at once (``replace``: atomic in the registry, only that very lock), and
  ``took_over`` says so.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from deployer.ledger import holder as holders
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
    """The registry could not be asked from the start (unreachable, a 5xx, refused the
    token): no lock taken."""


class HeldLock:
    """A lock this process holds; renewed in a daemon thread until :meth:`release`."""

    def __init__(self, client: LedgerClient, environment: str, body: dict[str, Any]) -> None:
        self.client = client
        self.environment = environment
        self.id: str = body["id"]
        self.ttl: int = int(body["ttl"])
        self.took_over: dict[str, Any] | None = body.get("took_over")
        #: the holder's process was gone (set by :class:`Acquisition` when it replaced it)
        self.holder_gone = False
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


class Acquisition:
    """One deploy's wait for an environment's lock (the rules: see the module).

    Injected: the client, ``gone`` (is a holder's process certainly gone), ``sleep`` and
    ``clock``, ``waiting`` (told once, with the holder's description, when this deploy
    has to wait).
    """

    def __init__(
        self,
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
        gone: Callable[[dict[str, Any]], bool] = holders.gone,
    ) -> None:
        self.client = client
        self.environment = environment
        #: ``attempt`` tells this deploy's own lock from another's in a 409
        self.holder = {"attempt": uuid.uuid4().hex, **holder}
        self.wait, self.ttl, self.poll = wait, ttl, poll
        self.sleep, self.clock, self.waiting, self.gone = sleep, clock, waiting, gone
        self.answered = False  # the registry answered at least once
        self.told = False
        self.replace: str | None = None  # the id of a lock whose holder is gone
        self.own = False  # ``replace`` is this deploy's own lock
        self.problem = ""  # why the last poll got no answer
        self.message = ""  # the holder's description, from the last 409
        self.held_by: dict[str, Any] = {}

    def run(self) -> HeldLock:
        deadline = self.clock() + self.wait
        while True:
            held = self._try()
            if held is not None:
                return held
            if self.replace is not None:
                continue  # replace the dead holder's lock at once
            left = deadline - self.clock()
            if left <= 0:
                raise LockRefused(self._refusal(), self.held_by)
            if self.waiting is not None and not self.told and self.message:
                self.waiting(self.message)
                self.told = True
            self.sleep(min(self.poll, left))

    def _try(self) -> HeldLock | None:
        replace, self.replace = self.replace, None
        try:
            body = self.client.acquire_lock(self.environment, self.holder, self.ttl, replace)
        except LedgerError as e:
            self._refused(e)
            return None
        held = HeldLock(self.client, self.environment, body)
        if self.own:
            held.took_over = None  # it was ours all along
        held.holder_gone = replace is not None and not self.own
        return held

    def _refused(self, e: LedgerError) -> None:
        if e.status != 409:
            if not self.answered:
                raise LockUnavailable(f"cannot lock {self.environment}: {e.message}") from e
            self.problem = e.message  # one failed poll: the wait goes on
            return
        self.answered = True
        self.problem = ""
        lock = dict(e.body.get("lock") or {})
        self.held_by = dict(lock.get("holder") or {})
        self.message = str(e.body.get("message") or e.message)
        lock_id = lock.get("id")
        if not isinstance(lock_id, str):
            return
        self.own = self.held_by.get("attempt") == self.holder["attempt"]
        if self.own or self.gone(self.held_by):
            self.replace = lock_id  # ours (a retried POST that had taken it), or orphaned

    def _refusal(self) -> str:
        if self.problem:
            return (
                f"{self.message or f'{self.environment} is locked'}; then the registry "
                f"stopped answering while this deploy waited ({self.problem})"
            )
        return self.message


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
    gone: Callable[[dict[str, Any]], bool] = holders.gone,
) -> HeldLock:
    """Take ``environment``'s lock, waiting at most ``wait`` seconds for another deploy
    (see :class:`Acquisition`). Raises LockRefused when still held after ``wait`` (or the
    registry stopped answering while waiting), LockUnavailable when the registry could
    not be asked from the start."""
    return Acquisition(
        client, environment, holder, wait=wait, ttl=ttl, poll=poll, sleep=sleep, clock=clock,
        waiting=waiting, gone=gone,
    ).run()  # fmt: skip
