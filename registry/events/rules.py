"""The delivery rules, pure (clock and results are handed in; tests/events/test_rules.py).

- 2xx: delivered.
- 5xx, 408, 429, a timeout or a connection error: retried after a backoff that doubles
  from ``first_delay`` up to ``max_delay`` (a ``Retry-After`` longer than that wins, within
  ``max_delay``), until ``retry_for`` seconds after the event was queued: then given up.
- any other status (4xx, a redirect, which is never followed) or an address the
  subscription may not reach: refused at once, not retried.
- an event id already queued or settled for a subscription is not queued again (an outbox
  entry read twice after a crash is delivered once, as far as the process remembers).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field, replace
from enum import StrEnum

from registry.events.catalog import Event

#: Statuses retried beside 5xx: Request Timeout and Too Many Requests.
RETRIED_4XX = frozenset({408, 429})


class Settlement(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    GAVE_UP = "gave_up"
    REFUSED = "refused"

    @property
    def final(self) -> bool:
        return self is not Settlement.RETRY


@dataclass(frozen=True)
class Result:
    """One attempt: the receiver's status, or the error that kept one from coming."""

    status: int | None = None
    error: str | None = None  # "timeout: ...", "connection: ...", "refused: ..."
    retry_after: float | None = None
    refused: bool = False  # an address the subscription may not reach, a bad URL

    def describe(self) -> str:
        return f"HTTP {self.status}" if self.status is not None else (self.error or "no answer")


@dataclass(frozen=True)
class Job:
    """One event for one subscription, as queued (and kept on disk between attempts)."""

    event: Event
    queued: float  # wall-clock seconds when it was queued
    attempts: int = 0
    next_at: float = 0.0
    last: str = ""

    def to_json(self) -> dict[str, object]:
        return {
            "event": self.event.to_json(),
            "queued": self.queued,
            "attempts": self.attempts,
            "next_at": self.next_at,
            "last": self.last,
        }

    @classmethod
    def from_json(cls, body: dict[str, object]) -> Job:
        event = body["event"]
        assert isinstance(event, dict)
        return cls(
            Event.from_json(event),
            float(body["queued"]),  # type: ignore[arg-type]
            int(body.get("attempts", 0)),  # type: ignore[call-overload]
            float(body.get("next_at", 0.0)),  # type: ignore[arg-type]
            str(body.get("last", "")),
        )


@dataclass(frozen=True)
class RetryRules:
    retry_for: float = 3600.0
    first_delay: float = 1.0
    max_delay: float = 300.0

    def delay(self, attempts: int, retry_after: float | None = None) -> float:
        """The wait after ``attempts`` failed attempts."""
        backoff = min(self.max_delay, self.first_delay * 2 ** max(0, attempts - 1))
        if retry_after is not None:
            backoff = max(backoff, min(retry_after, self.max_delay))
        return backoff

    def settle(self, job: Job, result: Result, now: float) -> tuple[Settlement, Job]:
        """What the attempt ``result`` made of ``job``: the settlement and the job updated
        (attempts counted, the next attempt's time when retried)."""
        done = replace(job, attempts=job.attempts + 1, last=result.describe())
        if result.status is not None and 200 <= result.status < 300:
            return Settlement.DELIVERED, done
        retried = not result.refused and (
            result.status is None or result.status >= 500 or result.status in RETRIED_4XX
        )
        if not retried:
            return Settlement.REFUSED, done
        next_at = now + self.delay(done.attempts, result.retry_after)
        if next_at - job.queued > self.retry_for:
            return Settlement.GAVE_UP, done
        return Settlement.RETRY, replace(done, next_at=next_at)


@dataclass
class SeenIds:
    """The event ids a subscription already queued or settled, the newest ``limit``."""

    limit: int = 10000
    _ids: OrderedDict[str, None] = field(default_factory=OrderedDict)

    def add(self, event_id: str) -> bool:
        """True when ``event_id`` is new (and now remembered), False for a duplicate."""
        if event_id in self._ids:
            return False
        self._ids[event_id] = None
        while len(self._ids) > self.limit:
            self._ids.popitem(last=False)
        return True


@dataclass
class LaneQueue:
    """One subscription's jobs: the due one first, in the order they were queued."""

    jobs: dict[str, Job] = field(default_factory=dict)  # key: the job's file name
    seen: SeenIds = field(default_factory=SeenIds)

    def add(self, key: str, job: Job) -> bool:
        if not self.seen.add(job.event.id):
            return False
        self.jobs[key] = job
        return True

    def due(self, now: float) -> tuple[str, Job] | None:
        ready = [(job.next_at, key) for key, job in self.jobs.items() if job.next_at <= now]
        if not ready:
            return None
        _, key = min(ready)
        return key, self.jobs[key]

    def wait(self, now: float, longest: float) -> float:
        """Seconds until the next job is due (``longest`` when none is queued)."""
        if not self.jobs:
            return longest
        return max(0.0, min(min(j.next_at for j in self.jobs.values()) - now, longest))

    def settle(self, key: str, settlement: Settlement, job: Job) -> None:
        if settlement.final:
            self.jobs.pop(key, None)
        else:
            self.jobs[key] = job
