"""The rollback Swarm makes by itself of a failed update (``update_config.failure_action:
rollback``): noticed, waited for and judged like a deploy, so the ledger and the report say
what happened (the deploy failed, then Swarm rolled these services back, with its outcome)
instead of leaving the failed version on record as what runs.

Swarm rolls a service back when a task of its update fails within ``update_config.monitor``;
the watch may have judged the failure before Swarm's monitor saw it, so a failed service
whose update is still ``updating`` with ``failure_action: rollback`` is waited for until
Swarm starts its rollback: at most twice its ``monitor`` plus :data:`SLACK` seconds (a task
that never fails in Swarm's eyes, e.g. one waiting for a node, is never rolled back), and
never past the deploy's ``--timeout``. The rollback is then watched with the same rules,
its tasks being those of the spec Swarm went back to.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from deployer.deploy.outcome import Outcome
from deployer.engine.fields import parse_stamp
from deployer.swarm.watch import POLL, stack_services, watch_stack
from deployer.verdicts import ServiceVerdict

#: Seconds beyond twice ``update_config.monitor`` that Swarm is given to begin a rollback.
SLACK = 10.0
#: Swarm's default ``update_config.monitor`` (nanoseconds in the service spec).
DEFAULT_MONITOR = 5.0

#: What the ledger's and the report's per-service detail starts with.
BY_SWARM = "rolled back by Swarm (update_config.failure_action: rollback)"


def _update(doc: Mapping[str, Any], since: float) -> tuple[str, str]:
    """(state of this deploy's update or "", its failure action)."""
    update = doc.get("UpdateStatus") or {}
    ours = (parse_stamp(update.get("StartedAt")) or 0.0) >= since
    action = ((doc.get("Spec") or {}).get("UpdateConfig") or {}).get("FailureAction") or ""
    return (str(update.get("State", "")) if ours else ""), str(action)


def _monitor(doc: Mapping[str, Any]) -> float:
    monitor = ((doc.get("Spec") or {}).get("UpdateConfig") or {}).get("Monitor")
    return int(monitor) / 1e9 if isinstance(monitor, int) and monitor > 0 else DEFAULT_MONITOR


def rolling_back(
    verdicts: Mapping[str, ServiceVerdict], docs: Mapping[str, Mapping[str, Any]], since: float
) -> list[str]:
    """The failed services Swarm rolls back or will: their update (begun at or after
    ``since``, manager clock) is in a rollback state, or still updating with
    ``failure_action: rollback``."""
    found = []
    for name, sv in verdicts.items():
        if not sv.verdict.failed or name not in docs:
            continue
        state, action = _update(docs[name], since)
        if state.startswith("rollback") or (state == "updating" and action == "rollback"):
            found.append(name)
    return found


def watch_rollback(
    client: Any,
    stack: str,
    failed: Outcome,
    *,
    since: float,
    timeout: float,
    stable: float,
    into: Outcome,
    on_update: Callable[[dict[str, ServiceVerdict]], None] | None = None,
) -> Outcome | None:
    """``into`` (the version the stack was at, as a rollback outcome) with the verdicts of
    Swarm's own rollback of ``failed``'s services; None when Swarm rolls none back."""
    docs = stack_services(client, stack)
    names = rolling_back(failed.verdicts, docs, since)
    if not names:
        return None
    deadline = time.monotonic() + timeout
    begins = time.monotonic() + min(timeout, max(2 * _monitor(docs[n]) for n in names) + SLACK)
    while True:  # until Swarm has begun each rollback (its monitor may lag our verdict)
        waiting = [
            n for n in names if not _update(docs.get(n, {}), since)[0].startswith("rollback")
        ]
        if not waiting or time.monotonic() >= begins:
            break
        time.sleep(POLL)
        docs = stack_services(client, stack)
    begun = [n for n in names if n not in waiting]
    if not begun:
        return None
    into.rollback_started = time.time()
    into.verdicts = watch_stack(
        client,
        stack,
        begun,
        since=since,
        timeout=max(1.0, deadline - time.monotonic()),
        stable=stable,
        on_update=on_update,
        rollback=True,
    )
    for sv in into.verdicts.values():
        sv.detail = f"{BY_SWARM}: {sv.detail}" if sv.detail else BY_SWARM
    return into
