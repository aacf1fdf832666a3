"""What one deploy attempt (the requested one or the rollback) came to: the deploy room's
record of it, which :mod:`deployer.report` presents and :mod:`deployer.ledger.outcomes`
records.

Its error is set in one place, :meth:`Outcome.fail`: the first failure said is the cause,
and what follows from it (a pin check after a failed ``up``) does not replace it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from deployer.verdicts import ServiceVerdict
from deployer.verification.rules import Verification


def describe(application: str | None, release: str | None, version: str | None, where: str) -> str:
    """``TLO GE/Milestone v3``, or the file's path when no names were given."""
    if application or release:
        return f"{application or '?'}/{release or '?'} v{version or '?'}"
    return where


@dataclass
class Outcome:
    """One deploy attempt (the requested one or the rollback) and what came of it."""

    application: str | None
    release: str | None
    version: str | None
    source: str
    location: str
    commit: str | None
    project: str
    verdicts: dict[str, ServiceVerdict] = field(default_factory=dict)
    logs: dict[str, str] = field(default_factory=dict)
    #: Why the attempt failed beyond its verdicts (set through :meth:`fail`).
    error: str | None = None
    #: Epoch seconds the first failure was certain / the rollback started (None: not so).
    failure_certain: float | None = None
    rollback_started: float | None = None
    #: service -> why, for each pinned service running another image than the version
    #: recorded (``consign publish --pin-images``).
    image_mismatches: dict[str, str] = field(default_factory=dict)
    #: The verification services' verdicts (None: none declared, or not run: the
    #: services were not all ok, or this is a rollback); ``skipped`` with --skip-verify.
    verification: Verification | None = None
    _reading: threading.Thread | None = field(default=None, repr=False, compare=False)

    def fail(self, error: str) -> None:
        """Record why the attempt failed; the first cause stays (later ones follow from it)."""
        if self.error is None:
            self.error = error

    def read_logs(self, read: Callable[[], dict[str, str]]) -> None:
        """Read logs on a thread (the rollback need not wait); :meth:`wait_logs` joins it."""

        def run() -> None:
            try:
                self.logs.update(read())
            except Exception as e:  # the verdicts stand without their logs
                self.logs.setdefault("(logs)", f"could not read the logs: {e}")

        self._reading = threading.Thread(target=run, name="consign-logs", daemon=True)
        self._reading.start()

    def wait_logs(self) -> None:
        if self._reading is not None:
            self._reading.join()
            self._reading = None

    @property
    def what(self) -> str:
        return describe(self.application, self.release, self.version, self.location)

    @property
    def ok(self) -> bool:
        """Every service ok, every test passed (a failed verification is also an error)."""
        return self.error is None and all(sv.verdict.ok for sv in self.verdicts.values())
