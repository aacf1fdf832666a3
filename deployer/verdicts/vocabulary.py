"""The verdict vocabulary: what a service's outcome can be, and what is observed.

Import these names from :mod:`deployer.verdicts`, the package that re-exports them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Verdict(StrEnum):
    PENDING = "pending"
    HEALTHY = "healthy"
    RUNNING = "running"
    COMPLETED = "completed"
    UNHEALTHY = "unhealthy"
    EXITED = "exited"
    CRASH_LOOPING = "crash-looping"
    NOT_CREATED = "not created"
    #: Never started because a service it depends on failed: a failure, not the cause.
    BLOCKED = "blocked"
    TIMED_OUT = "timed out"

    @property
    def ok(self) -> bool:
        return self in _OK

    @property
    def final(self) -> bool:
        return self is not Verdict.PENDING

    @property
    def failed(self) -> bool:
        return self.final and not self.ok

    @property
    def cause(self) -> bool:
        """A failure of the service itself (not one inherited from a dependency)."""
        return self.failed and self is not Verdict.BLOCKED


_OK = frozenset({Verdict.HEALTHY, Verdict.RUNNING, Verdict.COMPLETED})
#: Worst first: the verdict a service with several containers gets.
SEVERITY: tuple[Verdict, ...] = (
    Verdict.NOT_CREATED,
    Verdict.CRASH_LOOPING,
    Verdict.EXITED,
    Verdict.UNHEALTHY,
    Verdict.BLOCKED,
    Verdict.TIMED_OUT,
    Verdict.PENDING,
    Verdict.RUNNING,
    Verdict.HEALTHY,
    Verdict.COMPLETED,
)


@dataclass(frozen=True)
class Observation:
    """One container as inspected at monotonic time ``t``.

    ``wall`` (optional) is the engine's clock at that moment (epoch seconds), which lets
    the rules read ``State.StartedAt``/``Created``; ``last_exit`` (optional) is the exit
    code of a ``die`` event, kept because a quickly restarted container's inspect no
    longer shows it.
    """

    container_id: str
    service: str
    t: float
    inspect: dict[str, Any]
    wall: float | None = None
    last_exit: int | None = None


@dataclass
class ServiceVerdict:
    service: str
    verdict: Verdict
    exit_code: int | None
    detail: str
    seconds: float
    containers: list[str]
