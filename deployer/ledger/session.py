"""The ledger's part in one ``consign deploy`` or ``consign down``: the project's and the
environment's locks around the Compose calls, and the records sent afterwards.

Decisions (README, "The deployment ledger"; docs/ledger.md, "Locks"):

- First the project's lock on its engine (:mod:`.projectlock`, no registry needed): one
  command per project on an engine, whatever environment each names. Under it, the
  environment the project is recorded under (:mod:`.projectenv`) is read: without
  ``--environment`` the command uses it; naming another one is refused (exit 2) unless
  ``--move-environment``, so the ledger never holds one project under two names.
- Then the environment's lock through the registry given with ``--registry``. Another
  deploy holding either lock is waited for up to ``--lock-wait`` seconds in all, then the
  command exits 8 (LOCKED) naming who, which version, since when and which process,
  before any Compose call. A holder on this host whose process is gone is taken over,
  and a line says so.
- A registry that cannot be asked for the lock from the start (down, a 5xx, refusing the
  token) does not stop a deploy unless ``--require-lock``: one loud line says the
  environment is *not* locked, and the deploy goes on (the registry being down must not
  stop a fix from going out; its record is spooled). With ``--require-lock`` it is exit 8.
  A registry lost *while waiting* never lets the deploy go on (:mod:`.lock`).
- Both locks are released in a ``finally`` (also after Ctrl-C); a killed deployer's
  environment lock expires after its ttl, its project lock is taken over by the next
  command on the same host (or removed by ``consign unlock --project``).
- Reporting never changes the exit code and never hangs: :func:`spool.deliver` is bounded
  and never raises; its one line is printed.
- Without ``--registry`` (``--git`` alone) or with ``--file`` there is nothing to lock or
  report to: one line says so.
"""

from __future__ import annotations

import contextlib
import getpass
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from consign.errors import EnvironmentLocked, EnvironmentMismatch
from deployer.deploy.record import Deployed
from deployer.ledger import holder as holders
from deployer.ledger import lock, outcomes, projectenv, projectlock, record
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
    #: --environment was given (else ``environment`` is the default, and the project's
    #: recorded environment wins)
    named: bool = False
    require_lock: bool = False
    move_environment: bool = False
    lock_poll: float = lock.POLL
    #: what the records say of the engine (``engine`` of a record)
    engine_info: dict[str, Any] = field(default_factory=dict)
    #: the environment the project was moved away from by this command (--move-environment)
    moved_from: str | None = None
    #: the environment's lock, already held by this process for a longer task (``consign
    #: bisect``): used as it is, neither taken again nor released here
    held: lock.HeldLock | None = None

    @contextlib.contextmanager
    def locked(
        self,
        holder: Mapping[str, Any],
        engine: Any,
        project: str,
        deployed: Callable[[Any, str], Deployed | None] | None = None,
    ) -> Iterator[None]:
        """Hold the project's lock on ``engine`` (the Docker SDK client) and the
        environment's lock for the block (see the module's decisions). ``deployed`` (the
        orchestrator's) says what the project runs, for the record a move leaves in the
        environment it leaves."""
        clock = time.monotonic
        deadline = clock() + self.lock_wait
        me = holders.here(engine)
        body = {**me, "by": self.by, **holder}
        alive = holders.Liveness(me, engine)
        try:
            on_engine = projectlock.ProjectAcquisition(
                engine, project, {**body, "environment": self.environment},
                wait=self.lock_wait, poll=self.lock_poll, waiting=self._waiting, gone=alive,
            ).run()  # fmt: skip
        except projectlock.ProjectLocked as e:
            raise EnvironmentLocked(f"{e.message}; nothing was changed") from e
        try:
            if on_engine.took_over is not None:
                gone = holders.describe(on_engine.took_over)
                click.echo(
                    f"ledger: took over the lock of project {project}: its holder ({gone}) is gone"
                )
            self._settle_environment(engine, project)
            with self._environment_lock(body, max(0.0, deadline - clock()), alive):
                if self.client is not None:
                    if self.moved_from is not None and deployed is not None:
                        self._left(self.moved_from, deployed(engine, project))
                    projectenv.write(engine, project, self.environment)
                yield
        finally:
            on_engine.release()

    def _waiting(self, message: str) -> None:
        click.echo(f"waiting up to {self.lock_wait:g}s: {message}")

    def _settle_environment(self, engine: Any, project: str) -> None:
        """Use (or check against) the environment the project is recorded under."""
        if self.client is None:
            return  # not recorded: the name does not matter
        recorded = projectenv.read(engine, project)
        if recorded is None or recorded == self.environment:
            return
        if not self.named:
            click.echo(f"ledger: {project} is recorded as environment {recorded}; using it")
            self.environment = recorded
            return
        if not self.move_environment:
            raise EnvironmentMismatch(
                f"{project} on this engine is recorded as environment {recorded}, not "
                f"{self.environment}: use --environment {recorded}, or --move-environment "
                f"to record it as {self.environment} from now on; nothing was changed"
            )
        click.echo(f"ledger: moving {project} from environment {recorded} to {self.environment}")
        self.moved_from = recorded

    def _left(self, environment: str, was: Deployed | None) -> None:
        """Record in ``environment``'s ledger that what the project ran there left it
        (a ``teardown`` with outcome ``moved``): one project, one environment."""
        if was is None or not (was.application and was.release):
            return
        moved = outcomes.teardown_record(
            application=was.application, release=was.release, version=was.version,
            commit=was.commit, source=was.registry, started=record.utc_now(),
            environment=environment, by=self.by,
            engine={**self.engine_info, "moved_to": self.environment}, outcome="moved",
        )  # fmt: skip
        self.report([moved])

    @contextlib.contextmanager
    def _environment_lock(
        self, body: dict[str, Any], wait: float, alive: holders.Liveness
    ) -> Iterator[None]:
        if self.client is None:
            click.echo(f"ledger: {self.environment} not locked and not recorded: {self.why_not}")
            yield
            return
        if self.held is not None:
            if self.held.environment != self.environment:
                raise EnvironmentMismatch(
                    f"the lock held is {self.held.environment}'s, but this deploy is recorded "
                    f"under {self.environment}; nothing was changed"
                )
            if self.held.lost:
                raise EnvironmentLocked(
                    f"the lock of {self.environment} held for this task was lost "
                    f"({self.held.lost}); nothing was changed"
                )
            yield
            return
        held: lock.HeldLock | None = None
        try:
            held = lock.acquire(
                self.client, self.environment, body, gone=alive,
                wait=wait, poll=self.lock_poll, waiting=self._waiting,
            )  # fmt: skip
        except lock.LockRefused as e:
            raise EnvironmentLocked(f"{e.message}; nothing was changed") from e
        except lock.LockUnavailable as e:
            if self.require_lock:
                raise EnvironmentLocked(
                    f"{e}; --require-lock: not going on without the environment lock; "
                    "nothing was changed"
                ) from e
            click.echo(
                f"ledger: WARNING: {e}; going on WITHOUT the environment lock "
                "(--require-lock would stop here)"
            )
        if held is not None and held.holder_gone and held.took_over:
            gone = holders.describe(held.took_over.get("holder") or {})
            click.echo(
                f"ledger: took over the lock of {self.environment}: its holder ({gone}) is gone"
            )
        elif held is not None and held.took_over:
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
    require_lock: bool = False,
    move_environment: bool = False,
    lock_poll: float = lock.POLL,
    ca_file: str | None = None,
    held: lock.HeldLock | None = None,
) -> Ledger:
    """The command's :class:`Ledger`; ``why_not`` non-empty (or no registry): not recorded."""
    name = environment or record.default_environment(engine_name, project)
    if not registry and not why_not:
        why_not = "no --registry to record it in"
    client = LedgerClient(registry, token, ca_file=ca_file) if registry and not why_not else None
    return Ledger(
        client, name, by or user(), spool or default_directory(), lock_wait, why_not,
        named=bool(environment), require_lock=require_lock,
        move_environment=move_environment, lock_poll=lock_poll, held=held,
    )  # fmt: skip
