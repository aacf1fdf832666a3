"""The gate's time rules, pure: how long a version has soaked in an environment, and whether
its verification passed there (a policy's ``soak`` and ``verified_in``; registry/gate.py).

Both read the ledger's records (``DeploymentRecord``'s shape, :class:`Recorded`) and never
the clock themselves: ``now`` is handed in, so the rule is the same under a test clock.

**Soak.** A version soaks in an environment from the moment the ledger last said it runs
there healthy, without a break since:

- a healthy record that leaves it running (a ``deploy`` ``ok``/``verified`` of it, a
  ``rollback`` ``ok`` to it, a ``verify`` ``verified`` of it, a ``drift`` check ``ok``)
  starts the soak when none runs; a healthy redeploy of the running version keeps it going;
- a record that leaves another version running, or nothing (a teardown, a move), is a
  replacement: the soak ends;
- a failed deploy that leaves it running (``failed``, ``timed_out``, ``interrupted``,
  ``verification_failed`` without a rollback), a failed ``verify`` of it and a ``drift``
  report end the soak: it starts again at the next healthy record of it;
- a deploy of another version that was rolled back to this one ends it too: the version's
  containers were replaced and recreated, so it did not run undisturbed; the rollback's own
  healthy record starts it again.

Records are read in the order the ledger applies them (finish time, then arrival), as
"what runs" is computed (registry/store/ledger.py ``newer``).

**Verified.** The newest verification verdict of the version in the environment decides
(a ``deploy`` or ``verify`` record of it with outcome ``verified`` or
``verification_failed``): a later failure withdraws an earlier pass, a later pass
re-qualifies the version after a failure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

HEALTHY = frozenset({"ok", "verified"})
GONE = frozenset({"torn_down", "moved"})  # registry/store/records.py GONE
VERDICTS = frozenset({"verified", "verification_failed"})
MAX_SOAK_MINUTES = 60 * 24 * 90  # 90 days


class Recorded(Protocol):
    """The fields of the ledger's ``DeploymentRecord`` these rules read."""

    @property
    def kind(self) -> str: ...
    @property
    def environment(self) -> str: ...
    @property
    def version(self) -> int | None: ...
    @property
    def outcome(self) -> str: ...
    @property
    def rolled_back_to(self) -> int | None: ...
    @property
    def finished(self) -> str: ...
    @property
    def seq(self) -> int: ...


@dataclass(frozen=True)
class Soak:
    """A policy's ``soak``: the source version has run in ``environment`` this long."""

    environment: str
    minutes: int

    def to_json(self) -> dict[str, Any]:
        return {"environment": self.environment, "minutes": self.minutes}

    @classmethod
    def from_json(cls, data: Any) -> Soak | None:
        if not isinstance(data, dict) or not data.get("environment"):
            return None
        return cls(str(data["environment"]), int(data.get("minutes") or 0))


@dataclass(frozen=True)
class Soaking:
    """How long a version has soaked: ``since`` None when it is not soaking now, with
    ``why`` saying what ended (or never started) it."""

    environment: str
    number: int
    since: datetime | None
    why: str
    soaked_seconds: float

    def minutes(self) -> int:
        return int(self.soaked_seconds // 60)

    def to_json(self, required: int) -> dict[str, Any]:
        left = max(0.0, required * 60 - self.soaked_seconds)
        return {
            "environment": self.environment,
            "minutes": required,
            "soaked_minutes": self.minutes(),
            "left_minutes": -(-int(left) // 60),
            "since": _stamp(self.since) if self.since else None,
            "why": self.why or None,
            "met": left <= 0,
        }


def _parse(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return moment.astimezone(UTC) if moment.tzinfo else None


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _at(text: str) -> str:
    moment = _parse(text)
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else text


def _leaves(record: Recorded) -> int | None:
    """The version a record leaves running (DeploymentRecord.deployed_version, with the
    verification contract's rolled back ``verification_failed``)."""
    if record.outcome in GONE:
        return None
    if record.rolled_back_to is not None and record.outcome in (
        "rolled_back",
        "verification_failed",
    ):
        return record.rolled_back_to
    return record.version


def applied_order(records: Sequence[Recorded]) -> list[Recorded]:
    return sorted(records, key=lambda r: (r.finished, r.seq))


def soaking(environment: str, number: int, records: Sequence[Recorded], now: datetime) -> Soaking:
    """How long ``number`` has soaked in ``environment`` at ``now``; ``records`` are every
    record of its application/release there, in any order."""
    running: int | None = None
    since: datetime | None = None
    why = f"version {number} was never deployed to {environment}"
    for r in applied_order(records):
        at = _at(r.finished)
        if r.kind == "unlock":
            continue
        if r.kind == "drift":
            if running != number:
                continue
            if r.outcome == "drift":
                since, why = None, f"drift was reported at {at}"
            elif since is None:
                since = _parse(r.finished)
            continue
        if r.kind == "verify":
            if running != number or r.version != number:
                continue
            if r.outcome == "verified":
                since = since or _parse(r.finished)
            else:
                since, why = None, f"its verification failed at {at}"
            continue
        leaves = _leaves(r)
        if leaves != number:
            if running == number or since is not None:
                what = "torn down" if leaves is None else f"replaced by version {leaves}"
                why = f"it was {what} at {at}"
            elif leaves is None and r.version == number:
                why = f"it was torn down at {at}"
            elif r.version == number:  # its own deploy failed and left another version
                outcome = r.outcome.replace("_", " ")
                why = f"its deploy at {at} ended {outcome} and left version {leaves} running"
            running, since = leaves, None
            continue
        running = number
        if r.outcome in HEALTHY:
            since = since or _parse(r.finished)
        elif r.version != number:
            since = None
            why = f"a deploy of version {r.version} failed at {at} and was rolled back to it"
        else:
            since = None
            why = f"a deploy of it {r.outcome.replace('_', ' ')} at {at}"
    if since is None:
        return Soaking(environment, number, None, why, 0.0)
    seconds = max(0.0, (now - since).total_seconds())
    return Soaking(environment, number, since, "", seconds)


def soak_unmet(soak: Soak, number: int, records: Sequence[Recorded], now: datetime) -> str | None:
    """None when ``number`` soaked long enough; else the reason and how long is left:
    "version 41 soaked 41 of 120 minutes in qa-1 (since ...): 79 minutes left"."""
    state = soaking(soak.environment, number, records, now)
    if state.soaked_seconds >= soak.minutes * 60 and state.since is not None:
        return None
    if state.since is None:
        again = "" if "never" in state.why else "; the soak starts again at its next healthy deploy"
        return (
            f"version {number} soaked 0 of {_minutes(soak.minutes)} in {soak.environment}: "
            f"{state.why}{again}"
        )
    left = state.to_json(soak.minutes)["left_minutes"]
    return (
        f"version {number} soaked {state.minutes()} of {_minutes(soak.minutes)} in "
        f"{soak.environment} (running since {_at(_stamp(state.since))}): {_minutes(left)} left"
    )


def _minutes(count: int) -> str:
    return f"{count} minute{'' if count == 1 else 's'}"


def verification_unmet(
    environment: str, number: int, deployments: Sequence[Recorded]
) -> str | None:
    """None when the newest verification verdict of ``number`` in ``environment`` is
    ``verified``; else why not (``deployments``: the version's records, any order)."""
    here = [d for d in deployments if d.environment == environment and d.version == number]
    verdicts = [
        d for d in applied_order(here) if d.kind in ("deploy", "verify") and d.outcome in VERDICTS
    ]
    if verdicts and verdicts[-1].outcome == "verified":
        return None
    if verdicts:
        last = verdicts[-1]
        return (
            f"version {number}'s verification failed in {environment} at {_at(last.finished)} "
            f"({'deploy' if last.kind == 'deploy' else 'consign verify'}); "
            "it needs a passing verification there"
        )
    if not here:
        return f"version {number} was never deployed to {environment}, so never verified there"
    return (
        f"version {number} was never verified in {environment}: no deploy or verify record "
        "of it there carries a passing verification"
    )
