"""The ledger's part in one ``consign deploy`` or ``consign down``: the environment lock
around the Compose calls, and the records sent afterwards.

Decisions (README, "The deployment ledger"; docs/deployer.md):

- The lock is taken through the registry given with ``--registry``. Another deploy holding
  it is waited for up to ``--lock-wait`` seconds, then the command exits 8 (LOCKED) naming
  who, which version and since when, before any Compose call.
- A registry that cannot be asked for the lock (down, refusing the token) does not stop a
  deploy: one line says the environment is *not* locked, and the deploy goes on (the
  registry being down must not stop a fix from going out; its record is spooled).
- The lock is released in a ``finally`` (also after Ctrl-C); a killed deployer's lock
  expires after its ttl.
- Reporting never changes the exit code and never hangs: :func:`spool.deliver` is bounded
  and never raises; its one line is printed.
- Without ``--registry`` (``--git`` alone) or with ``--file`` there is nothing to lock or
  report to: one line says so.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import socket
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from consign.errors import EnvironmentLocked
from deployer.ledger import lock, record
from deployer.ledger.client import LedgerClient
from deployer.ledger.spool import Delivery, Spool, default_directory, deliver


def user() -> str:
    """The default ``--by``: the user running the deployer."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in a bare container
        return "unknown"


@dataclass
class Ledger:
    """Where and as whom one command locks and reports; ``client`` None: not recorded."""

    client: LedgerClient | None
    environment: str
    by: str
    spool: Path
    lock_wait: float
    why_not: str = ""  # why nothing is locked or reported (one line), when client is None

    @contextlib.contextmanager
    def locked(self, holder: Mapping[str, Any]) -> Iterator[None]:
        """Hold the environment's lock for the block (see the module's decisions)."""
        if self.client is None:
            click.echo(f"ledger: {self.environment} not locked and not recorded: {self.why_not}")
            yield
            return
        body = {"by": self.by, "host": socket.gethostname(), "pid": os.getpid(), **holder}
        held: lock.HeldLock | None = None
        try:
            held = lock.acquire(
                self.client,
                self.environment,
                body,
                wait=self.lock_wait,
                waiting=lambda m: click.echo(f"waiting up to {self.lock_wait:g}s: {m}"),
            )
        except lock.LockRefused as e:
            raise EnvironmentLocked(f"{e.message}; nothing was changed") from e
        except lock.LockUnavailable as e:
            click.echo(f"ledger: {e}; going on WITHOUT the environment lock")
        if held is not None and held.took_over:
            click.echo(f"ledger: took over an expired lock of {self.environment}")
        try:
            yield
        finally:
            if held is not None:
                held.release()

    def report(self, records: list[dict[str, Any]]) -> None:
        """Send ``records`` (and whatever the spool keeps); print the one line. Never raises."""
        if self.client is None:
            return
        box = Spool(self.spool)
        total = Delivery()
        for r in records:
            one = deliver(self.client, r, box)
            # a record kept by one delivery is tried again by the next: the last one's
            # ``kept`` is what stays in the spool
            total.delivered += [i for i in one.delivered if i not in total.delivered]
            total.kept = one.kept
            total.rejected += one.rejected
            total.lost += one.lost
            total.problem = total.problem or one.problem
        if records:
            click.echo(total.line)


def ledger_for(
    *,
    registry: str | None,
    token: str | None,
    environment: str | None,
    by: str | None,
    spool: Path | None,
    lock_wait: float,
    engine_name: str,
    project: str,
    why_not: str = "",
) -> Ledger:
    """The command's :class:`Ledger`; ``why_not`` non-empty (or no registry): not recorded."""
    name = environment or record.default_environment(engine_name, project)
    if not registry and not why_not:
        why_not = "no --registry to record it in"
    client = LedgerClient(registry, token) if registry and not why_not else None
    return Ledger(client, name, by or user(), spool or default_directory(), lock_wait, why_not)
