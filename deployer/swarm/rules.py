"""Verdicts of Swarm services from their service and task documents: a pure function.

The watcher polls each service (``GET /services/{id}?status=1`` style documents) and its
tasks, stamps the poll with the manager's clock, and feeds it to a :class:`ServiceJudge`.
Nothing here talks to Docker, so every rule is unit tested on saved JSON.

Which tasks count: those whose spec is the one this deploy asked for (the service's
``Spec.TaskTemplate`` when first seen after ``docker stack deploy``); a failure counts only
when its task was created after the deploy began (``since``, manager clock), so history
from earlier versions never blames this one. A slot is a replica number (replicated
services) or a node (global services).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from deployer.engine.fields import parse_stamp
from deployer.verdicts import SEVERITY, ServiceVerdict, Verdict

FAILED = frozenset({"failed", "rejected"})
#: Update states after which the requested spec is not what runs.
GAVE_UP = frozenset({"paused", "rollback_started", "rollback_paused", "rollback_completed"})
#: The same for a rollback Swarm did by itself (``update_config.failure_action: rollback``),
#: judged as a deploy of the spec it went back to.
ROLLBACK_GAVE_UP = frozenset({"rollback_paused"})
UNSCHEDULABLE = re.compile(r"no suitable node|insufficient resources", re.IGNORECASE)
#: Seconds a task may wait for a node before "no suitable node" counts as certain.
UNSCHEDULABLE_GRACE = 2.0


@dataclass(frozen=True)
class ServicePoll:
    """One poll of a service: its document (with ``ServiceStatus``), its tasks, and the
    manager's wall clock at the poll (epoch seconds)."""

    service: dict[str, Any]
    tasks: list[dict[str, Any]]
    wall: float


def restart_condition(template: dict[str, Any]) -> str:
    """``none``, ``on-failure`` or ``any`` (Swarm's default)."""
    return str((template.get("RestartPolicy") or {}).get("Condition") or "any")


def has_healthcheck(template: dict[str, Any]) -> bool:
    test = ((template.get("ContainerSpec") or {}).get("Healthcheck") or {}).get("Test") or []
    return bool(test) and test[0] != "NONE"


def desired_slots(service: dict[str, Any]) -> int | None:
    """Replicas of a replicated service; for a global one, the nodes it should run on
    (``ServiceStatus.DesiredTasks``, None when the engine did not say)."""
    mode = (service.get("Spec") or {}).get("Mode") or {}
    if "Replicated" in mode:
        return int((mode["Replicated"] or {}).get("Replicas", 1))
    status = service.get("ServiceStatus") or {}
    return int(status["DesiredTasks"]) if "DesiredTasks" in status else None


def same_spec(task_spec: dict[str, Any], template: dict[str, Any]) -> bool:
    """Is this task of that task template? Keys present on both sides must agree (the
    service document carries defaults, e.g. ``Runtime``, that tasks leave out)."""
    common = set(task_spec) & set(template)
    return bool(common) and all(task_spec[k] == template[k] for k in common)


def _slot(task: dict[str, Any]) -> str:
    slot = task.get("Slot")
    return str(slot) if slot else f"node {str(task.get('NodeID', ''))[:12]}"


def _state(task: dict[str, Any]) -> str:
    return str((task.get("Status") or {}).get("State", ""))


def _err(task: dict[str, Any]) -> str:
    status = task.get("Status") or {}
    return str(status.get("Err") or status.get("Message") or "")


def _exit_code(task: dict[str, Any]) -> int | None:
    status = (task.get("Status") or {}).get("ContainerStatus") or {}
    code = status.get("ExitCode")
    return int(code) if isinstance(code, int) else None


def _created(task: dict[str, Any]) -> float:
    return parse_stamp(task.get("CreatedAt")) or 0.0


def _worst(verdicts: Iterable[ServiceVerdict]) -> ServiceVerdict | None:
    ranked = sorted(verdicts, key=lambda sv: SEVERITY.index(sv.verdict))
    return ranked[0] if ranked else None


class ServiceJudge:
    """One service's verdict over successive snapshots; a failure, once certain, stays.

    ``since`` is the manager's clock when the deploy began, ``started`` our monotonic
    clock then; ``stable`` is how long a task without a healthcheck must run to count.

    ``rollback``: judge the rollback Swarm made of this deploy's update instead (the
    service's spec is the previous one again): its tasks are those of that spec created
    since the deploy began, it is in progress while ``rollback_started`` and over at
    ``rollback_completed``; ``rollback_paused`` means Swarm gave up on it too.
    """

    def __init__(
        self,
        name: str,
        *,
        since: float,
        started: float,
        stable: float,
        timeout: float | None = None,
        grace: float = UNSCHEDULABLE_GRACE,
        rollback: bool = False,
    ) -> None:
        self.name = name
        self.rollback = rollback
        self.since = since
        #: Updates that began before this are not this deploy's (status looks at any).
        self.since_update = since
        self.started = started
        self.stable = stable
        self.timeout = timeout
        self.grace = grace
        self.target: dict[str, Any] | None = None
        self.verdict = ServiceVerdict(name, Verdict.PENDING, None, "waiting for tasks", 0.0, [])
        self._waiting: dict[str, float] = {}  # task id -> when first seen unschedulable

    def observe(self, snap: ServicePoll, now: float) -> ServiceVerdict:
        """Judge one poll at monotonic ``now``; returns (and keeps) the verdict."""
        if self.verdict.verdict.final:
            return self.verdict
        service = snap.service
        spec = service.get("Spec") or {}
        update = service.get("UpdateStatus") or {}
        this_update = (parse_stamp(update.get("StartedAt")) or 0.0) >= self.since_update
        if self.target is None:
            previous = (service.get("PreviousSpec") or {}).get("TaskTemplate")
            rolled = this_update and str(update.get("State", "")).startswith("rollback")
            rolled = rolled and not self.rollback
            self.target = previous if rolled and previous else spec.get("TaskTemplate") or {}
        target = self.target
        mine = [t for t in snap.tasks if same_spec(t.get("Spec") or {}, target)]
        failed = self._failure(mine, target, snap.wall)
        up = None if failed else self._up(mine, target, snap.wall, desired_slots(service))
        state = update.get("State") if this_update else None
        # Swarm's updater pauses an update whose new task exits, even with exit 0 under
        # restart_policy none/on-failure: for a one-shot that ran to completion that is
        # its nature, not a failure (a rollback, though, re-ran the old spec: a failure).
        done = up is not None and up.verdict == Verdict.COMPLETED
        gave_up = ROLLBACK_GAVE_UP if self.rollback else GAVE_UP
        if state in gave_up and not (done and state == "paused"):
            failed = self._gave_up(update, failed)
        if failed is not None:
            return self._settle(failed, now)
        running = "rollback_started" if self.rollback else "updating"
        if up is not None and state == running and not done:
            up = None  # Swarm may still roll it back: not yet a success
            detail = "tasks up; Swarm's update is still monitoring them"
        else:
            detail = self._progress(mine, desired_slots(service))
        if up is not None:
            return self._settle(up, now)
        if self.timeout is not None and now - self.started >= self.timeout:
            return self._settle(
                ServiceVerdict(self.name, Verdict.TIMED_OUT, None, detail, 0.0, []), now
            )
        self.verdict = ServiceVerdict(
            self.name, Verdict.PENDING, None, detail, now - self.started, _ids(mine)
        )
        return self.verdict

    def _settle(self, sv: ServiceVerdict, now: float) -> ServiceVerdict:
        sv.seconds = now - self.started
        self.verdict = sv
        return sv

    def _task(self, verdict: Verdict, code: int | None, detail: str, task: Any) -> ServiceVerdict:
        return ServiceVerdict(self.name, verdict, code, detail, 0.0, [str(task.get("ID", ""))])

    def _failure(
        self, mine: list[dict[str, Any]], target: dict[str, Any], wall: float
    ) -> ServiceVerdict | None:
        """The worst certain failure among this deploy's tasks, or None."""
        condition = restart_condition(target)
        fresh = [t for t in mine if _created(t) >= self.since]
        failed = [t for t in fresh if _state(t) in FAILED]
        found = [self._failed_task(task, condition, len(failed)) for task in failed]
        for task in fresh:
            if _state(task) == "complete" and condition == "any":
                why = "exited 0 but restart_policy `any` restarts it: it should keep running"
                found.append(self._task(Verdict.EXITED, _exit_code(task) or 0, why, task))
            if _state(task) == "pending" and UNSCHEDULABLE.search(_err(task)):
                first = self._waiting.setdefault(str(task.get("ID")), wall)
                if wall - first >= self.grace:
                    why = f"task {self.name}.{_slot(task)} cannot be scheduled: {_err(task)}"
                    found.append(self._task(Verdict.NOT_CREATED, None, why, task))
        return _worst(found)

    def _failed_task(self, task: dict[str, Any], condition: str, count: int) -> ServiceVerdict:
        err, code = _err(task), _exit_code(task)
        where = f"task {self.name}.{_slot(task)}"
        if _state(task) == "rejected" or ("non-zero exit" not in err and "unhealthy" not in err):
            return self._task(Verdict.NOT_CREATED, None, f'{where} {_state(task)}: "{err}"', task)
        if "unhealthy" in err:
            why = f'{where} failed its healthcheck: "{err}"'
            return self._task(Verdict.UNHEALTHY, code, why, task)
        if condition == "none":
            return self._task(Verdict.EXITED, code, f'{where}: "{err}"', task)
        why = f'{where}: "{err}"; {count} failed task(s), Swarm restarts them ({condition})'
        return self._task(Verdict.CRASH_LOOPING, code, why, task)

    def _gave_up(self, update: dict[str, Any], failed: ServiceVerdict | None) -> ServiceVerdict:
        state = str(update.get("State"))
        what = "paused the update" if "paused" in state else "rolled the update back"
        if self.rollback:
            what = "paused its rollback"
        note = f"Swarm {what} ({state}: {update.get('Message', '')})"
        if failed is None:
            return ServiceVerdict(self.name, Verdict.EXITED, None, note, 0.0, [])
        failed.detail = f"{note}; {failed.detail}"
        return failed

    def _up(
        self, mine: list[dict[str, Any]], target: dict[str, Any], wall: float, desired: int | None
    ) -> ServiceVerdict | None:
        """An ok verdict when every desired slot's current task is up, else None."""
        if not desired:
            return None
        condition = restart_condition(target)
        healthcheck = has_healthcheck(target)
        up: list[ServiceVerdict] = []
        for task in _current(mine).values():
            state = _state(task)
            ids = [str(task.get("ID", ""))]
            if state == "complete" and condition != "any":
                up.append(self._task(Verdict.COMPLETED, 0, "exited 0", task))
            elif state == "running" and healthcheck:
                up.append(ServiceVerdict(self.name, Verdict.HEALTHY, None, "", 0.0, ids))
            elif state == "running":
                since = parse_stamp((task.get("Status") or {}).get("Timestamp")) or wall
                if wall - since >= self.stable:
                    up.append(ServiceVerdict(self.name, Verdict.RUNNING, None, "", 0.0, ids))
        if len(up) < desired:
            return None
        worst = _worst(up)
        assert worst is not None
        worst.containers = [i for sv in up for i in sv.containers]
        running = sum(sv.verdict != Verdict.COMPLETED for sv in up)
        worst.detail = f"{running} of {desired} running" if running else worst.detail
        return worst

    def _progress(self, mine: list[dict[str, Any]], desired: int | None) -> str:
        current = _current(mine)
        states: dict[str, int] = {}
        for task in current.values():
            states[_state(task)] = states.get(_state(task), 0) + 1
        seen = ", ".join(f"{n} {s}" for s, n in sorted(states.items())) or "no task yet"
        errors = {str((t.get("Status") or {}).get("Err") or "") for t in current.values()}
        notes = sorted(errors - {""})
        return f"{seen} of {desired if desired is not None else '?'}" + (
            f" ({'; '.join(notes)})" if notes else ""
        )


def _current(mine: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Slot -> its newest task that is meant to be up (or finished its one shot)."""
    out: dict[str, dict[str, Any]] = {}
    for task in sorted(mine, key=_created):
        wanted = str(task.get("DesiredState", "")) not in ("shutdown", "remove", "orphaned")
        if wanted or _state(task) == "complete":
            out[_slot(task)] = task
    return out


def _ids(tasks: list[dict[str, Any]]) -> list[str]:
    return [str(t.get("ID", "")) for t in _current(tasks).values()]
