"""Small readers of Docker Engine data: timestamps, the engine's clock, inspect fields.

The engine stamps everything (``State.StartedAt``, health log ``End``, events) with its
own clock, which on a remote host (``ssh://``, ``tcp://``) need not match ours. The
watcher therefore records each inspect with an estimate of the engine's wall clock
(``time.time() + engine_offset``) so "running for `stable` seconds since it started" is
judged on one clock.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Any, Protocol

_STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$")


class _InfoClient(Protocol):
    def info(self) -> dict[str, Any]: ...


def parse_stamp(text: str | None) -> float | None:
    """Epoch seconds of a Docker RFC 3339 timestamp (nanosecond fractions allowed).

    Returns None for missing values and Go's zero time (``0001-01-01T00:00:00Z``),
    which Docker uses for "never".
    """
    if not text or text.startswith("0001-01-01"):
        return None
    m = _STAMP.match(text.strip())
    if m is None:
        return None
    base, frac, zone = m.groups()
    zone = "+00:00" if zone == "Z" else zone
    stamp = datetime.fromisoformat(base + zone).astimezone(UTC).timestamp()
    return stamp + (float("0." + frac) if frac else 0.0)


def engine_offset(client: _InfoClient) -> float:
    """Seconds to add to our ``time.time()`` to get the engine's clock (round-trip centred)."""
    before = time.time()
    info = client.info()
    after = time.time()
    system = parse_stamp(str(info.get("SystemTime", "")))
    if system is None:
        return 0.0
    return system - (before + after) / 2


def state(inspect: dict[str, Any]) -> dict[str, Any]:
    value = inspect.get("State")
    return value if isinstance(value, dict) else {}


def health(inspect: dict[str, Any]) -> dict[str, Any] | None:
    """``State.Health`` or None when the container has no healthcheck."""
    value = state(inspect).get("Health")
    return value if isinstance(value, dict) and value.get("Status") else None


def restart_policy(inspect: dict[str, Any]) -> tuple[str, int]:
    """(name, maximum retry count) with Docker's "" normalised to "no"."""
    policy = (inspect.get("HostConfig") or {}).get("RestartPolicy") or {}
    return str(policy.get("Name") or "no"), int(policy.get("MaximumRetryCount") or 0)


def restart_count(inspect: dict[str, Any]) -> int:
    return int(inspect.get("RestartCount") or 0)


def health_detail(inspect: dict[str, Any], limit: int = 500) -> str:
    """The last healthcheck's exit code and output, for the report."""
    h = health(inspect) or {}
    log = h.get("Log") or []
    streak = h.get("FailingStreak", 0)
    if not log:
        return f"healthcheck {h.get('Status', 'unknown')} (no check recorded yet)"
    last = log[-1]
    output = " ".join(str(last.get("Output", "")).split())
    if len(output) > limit:
        output = output[:limit] + "..."
    return (
        f"healthcheck {h.get('Status')}: failing streak {streak}, last check exited "
        f"{last.get('ExitCode')}" + (f": {output}" if output else " with no output")
    )


def last_health_check(inspect: dict[str, Any], limit: int = 2000) -> str | None:
    """``last healthcheck (exit 1): <output>`` or None without a recorded check."""
    log = (health(inspect) or {}).get("Log") or []
    if not log:
        return None
    last = log[-1]
    output = str(last.get("Output", "")).strip()
    if len(output) > limit:
        output = output[:limit] + "..."
    return f"last healthcheck (exit {last.get('ExitCode')}): {output or '(no output)'}"
