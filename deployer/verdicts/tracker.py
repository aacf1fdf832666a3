"""Verdict rules: a pure function from observed container states over time to verdicts.

The watcher feeds :class:`Observation` s (raw ``docker inspect`` JSON stamped with a
monotonic time) into a :class:`VerdictTracker`; nothing here talks to Docker, so every
rule is unit tested on saved inspect JSON. Per-container rules live in
:mod:`deployer.verdicts.container`; this module aggregates them per service (replicas: the worst
container wins, too few containers is not final), keeps failures sticky, settles
timeouts and records when each service reached its verdict.

**A crash loop is certain only once what the service needs is back.** A service restarts
on its own when a service it needs is away: its ``depends_on`` (``dependencies``), or any
service this same deploy is recreating (a container created after ``since_wall``) or
starting again (a stopped one it started: ``started_by_deploy``) that
does not itself depend on it and that it may have needed before (``existed``: the
services that had containers when the deploy began; a service the deploy *adds* cannot
be what an older one needs, so a crash loop beside a new, slow service stays certain at
once). While one of those is not yet ok, its restarts make it
*pending* ("restarted while web was not back"), not crash-looping; once all are ok, the
restarts whose exit came before that moment are excused and it is judged on what happens
next (:meth:`~deployer.verdicts.container.ContainerState.excuse`). When a ``depends_on``
dependency fails, the restarting service is BLOCKED by it (the dependency is the cause).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from deployer.verdicts.container import ContainerState, ContainerVerdict
from deployer.verdicts.vocabulary import SEVERITY, Observation, ServiceVerdict, Verdict


class VerdictTracker:
    """Accumulates observations; answers one verdict per service.

    ``timeout`` (optional, seconds after ``started``) turns still-pending services into
    TIMED_OUT; ``replicas`` gives the expected container count per service (default 1);
    ``since_wall`` is the engine time the deploy began: a container created after it with
    a non-zero RestartCount has restarted during this deploy, i.e. is crash-looping.
    """

    def __init__(
        self,
        services: Sequence[str],
        *,
        stable: float,
        started: float,
        timeout: float | None = None,
        replicas: Mapping[str, int] | None = None,
        since_wall: float | None = None,
        dependencies: Mapping[str, Iterable[str]] | None = None,
        existed: Iterable[str] | None = None,
    ) -> None:
        self.services = list(dict.fromkeys(services))
        self.stable = stable
        self.started = started
        self.timeout = timeout
        self.replicas = dict(replicas or {})
        self.since_wall = since_wall
        known = set(self.services)
        #: service -> the services its ``depends_on`` names (those this tracker judges)
        self.dependencies = {
            s: {d for d in (dependencies or {}).get(s, ()) if d in known and d != s}
            for s in self.services
        }
        self._needed_by = _dependents(self.dependencies)
        #: services that had containers before the deploy (None: not known, all count)
        self.existed = None if existed is None else set(existed)
        self._containers: dict[str, dict[str, ContainerState]] = {s: {} for s in self.services}
        self._sticky: dict[str, ServiceVerdict] = {}
        self._current: dict[str, ServiceVerdict] = {}
        #: service -> monotonic time it became ok (-inf: ok from its first verdict, unchanged)
        self._ok_since: dict[str, float] = {}
        #: services whose restarts wait for what they need to be back
        self._held: set[str] = set()
        #: services this deploy is creating a container for (not inspected yet)
        self._coming: set[str] = set()

    def observe(self, obs: Observation) -> None:
        if obs.service not in self._containers:
            return
        containers = self._containers[obs.service]
        state = containers.get(obs.container_id)
        if state is None:
            state = containers[obs.container_id] = ContainerState(obs, self.since_wall)
        state.update(obs, self.stable)
        self._settle(obs.service, obs.t)
        self._settle_held(obs.t)

    def coming(self, service: str) -> None:
        """This deploy creates a container of ``service`` (Compose's ``create`` event, before
        any inspect): it counts as recreated, so what needs it waits for it."""
        if service in self._containers:
            self._coming.add(service)

    def forget(self, container_id: str, t: float) -> None:
        """The container is gone (destroyed); a failure it caused stays."""
        for service, containers in self._containers.items():
            if containers.pop(container_id, None) is not None:
                self._settle(service, t)
        self._settle_held(t)

    def mark(self, service: str, verdict: Verdict, detail: str, t: float) -> None:
        """A verdict from outside the containers (NOT_CREATED, BLOCKED: Compose's account).

        An observed failure is a fact and stays: the mark applies only to a service whose
        containers have shown no failure.
        """
        if service not in self._containers:
            return
        observed = self._sticky.get(service) or self._aggregate(service, t)
        if observed.verdict.failed and observed.verdict not in (Verdict.TIMED_OUT,):
            return
        names = sorted(s.name for s in self._containers[service].values())
        seconds = max(0.0, t - self.started)
        self._sticky[service] = ServiceVerdict(service, verdict, None, detail, seconds, names)

    def mark_not_created(self, service: str, detail: str, t: float | None = None) -> None:
        self.mark(service, Verdict.NOT_CREATED, detail, self.started if t is None else t)

    def never_started(self, service: str) -> bool:
        """No container of ``service`` has ever run (none seen, or all still "created")."""
        return all(not s.ever_started for s in self._containers.get(service, {}).values())

    def confirm_due(self, now: float) -> list[str]:
        """Containers whose stability window has passed and need one confirming inspect."""
        return [
            cid
            for containers in self._containers.values()
            for cid, state in containers.items()
            if state.confirm_at is not None and state.confirm_at <= now
        ]

    def verdicts(self, now: float) -> dict[str, ServiceVerdict]:
        """One verdict per service (copies: callers may change them freely)."""
        self._settle_held(now)
        return {s: replace(self._final_or_timeout(s, now)) for s in self.services}

    def _final_or_timeout(self, service: str, now: float) -> ServiceVerdict:
        current = (
            self._sticky.get(service) or self._current.get(service) or self._aggregate(service, now)
        )
        if current.verdict.final or self.timeout is None or now - self.started < self.timeout:
            return current
        return ServiceVerdict(
            service,
            Verdict.TIMED_OUT,
            current.exit_code,
            f"not settled after {self.timeout:g}s: {current.detail}",
            self.timeout,
            current.containers,
        )

    def _settle(self, service: str, t: float) -> None:
        if service in self._sticky:
            return
        new, held = self._judge(service, t, {}, frozenset())
        if held:
            self._held.add(service)
        else:
            self._held.discard(service)
        old = self._current.get(service)
        self._note_ok(service, new, first=old is None, t=t)
        if old is not None and (old.verdict, old.exit_code) == (new.verdict, new.exit_code):
            old.detail, old.containers = new.detail, new.containers
            return
        self._current[service] = new
        if new.verdict.failed:
            self._sticky[service] = new

    def _settle_held(self, t: float) -> None:
        """Judge again the services held by what they need (which may be back now)."""
        for service in sorted(self._held):
            self._settle(service, t)

    def _note_ok(self, service: str, sv: ServiceVerdict, *, first: bool, t: float) -> None:
        if not sv.verdict.ok:
            self._ok_since.pop(service, None)
        elif service not in self._ok_since:
            unchanged = not any(_renewed(c) for c in self._containers[service].values())
            self._ok_since[service] = -math.inf if first and unchanged else t

    def _needs(self, service: str) -> set[str]:
        """What ``service``'s restarts wait for: its ``depends_on``, and every service this
        deploy recreates (that existed before it) that does not itself (transitively)
        depend on it."""
        recreated = {s for s, cs in self._containers.items() if any(map(_renewed, cs.values()))}
        recreated |= self._coming
        if self.existed is not None:
            recreated &= self.existed
        return (self.dependencies[service] | recreated) - self._needed_by[service] - {service}

    def _judge(
        self, service: str, t: float, memo: dict[str, ServiceVerdict], visiting: frozenset[str]
    ) -> tuple[ServiceVerdict, bool]:
        """The service's verdict with the dependency rule (module doc) applied, and whether
        it is held by what it needs (``visiting``: the services whose judgement asks)."""
        raw = self._aggregate(service, t)
        needs = self._needs(service) - visiting
        if raw.verdict is not Verdict.CRASH_LOOPING or not needs:
            return raw, False
        states: dict[str, ServiceVerdict] = {}
        for dep in sorted(needs):
            found = self._sticky.get(dep) or memo.get(dep)
            if found is None:
                found = memo[dep] = self._judge(dep, t, memo, visiting | {service})[0]
            states[dep] = found
        away = [d for d, sv in states.items() if not sv.verdict.final]
        if away:
            detail = (
                f"restarted while {', '.join(away)} (which it needs) {_is(away)} not back yet; "
            )
            held = replace(
                raw, verdict=Verdict.PENDING, detail=detail + raw.detail, seconds=t - self.started
            )
            return held, True
        failed = [
            (d, sv)
            for d, sv in states.items()
            if sv.verdict.failed and d in self.dependencies[service]
        ]
        if failed:
            dep, sv = failed[0]
            code = f" (exit {sv.exit_code})" if sv.exit_code not in (None, 0) else ""
            detail = f"restarts while {dep}, which it depends on, is {sv.verdict.value}{code}"
            return replace(raw, verdict=Verdict.BLOCKED, detail=detail), False
        back = max(
            (self._ok_since.get(d, t) for d, sv in states.items() if sv.verdict.ok),
            default=-math.inf,
        )
        excused = [c.excuse(back, self.stable) for c in self._containers[service].values()]
        return (self._aggregate(service, t) if any(excused) else raw), False

    def _aggregate(self, service: str, t: float) -> ServiceVerdict:
        states = self._containers.get(service, {})
        names = sorted(s.name for s in states.values())
        per: list[ContainerVerdict] = [s.verdict for s in states.values()]
        expected = max(1, self.replicas.get(service, 1))
        seconds = max(0.0, t - self.started)
        worst = min(per, key=lambda v: SEVERITY.index(v.verdict), default=None)
        if worst is not None and worst.verdict.failed:
            return ServiceVerdict(
                service, worst.verdict, worst.exit_code, worst.detail, seconds, names
            )
        if len(per) < expected:
            detail = f"{len(per)} of {expected} container(s) seen"
            return ServiceVerdict(service, Verdict.PENDING, None, detail, seconds, names)
        assert worst is not None
        if len(per) > 1 and worst.verdict.final:
            detail = f"{len(per)} containers {worst.verdict}"
        else:
            detail = worst.detail
        return ServiceVerdict(service, worst.verdict, worst.exit_code, detail, seconds, names)


def _renewed(state: ContainerState) -> bool:
    """Created or started by this deploy: not ok all along, and what others may wait for."""
    return state.new or state.started_by_deploy


def _is(names: Sequence[str]) -> str:
    return "is" if len(names) == 1 else "are"


def _dependents(dependencies: Mapping[str, set[str]]) -> dict[str, set[str]]:
    """service -> every service that depends on it, directly or through others."""
    found: dict[str, set[str]] = {s: set() for s in dependencies}
    for service in dependencies:
        stack, seen = list(dependencies[service]), set()
        while stack:
            dep = stack.pop()
            if dep in seen:
                continue
            seen.add(dep)
            found.setdefault(dep, set()).add(service)
            stack.extend(dependencies.get(dep, ()))
    return found
