"""Verdict rules: a pure function from observed container states over time to verdicts.

The watcher feeds :class:`Observation` s (raw ``docker inspect`` JSON stamped with a
monotonic time) into a :class:`VerdictTracker`; nothing here talks to Docker, so every
rule is unit tested on saved inspect JSON. Per-container rules live in
:mod:`deployer.verdicts.container`; this module aggregates them per service (replicas: the worst
container wins, too few containers is not final), keeps failures sticky, settles
timeouts and records when each service reached its verdict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    ) -> None:
        self.services = list(dict.fromkeys(services))
        self.stable = stable
        self.started = started
        self.timeout = timeout
        self.replicas = dict(replicas or {})
        self.since_wall = since_wall
        self._containers: dict[str, dict[str, ContainerState]] = {s: {} for s in self.services}
        self._sticky: dict[str, ServiceVerdict] = {}
        self._current: dict[str, ServiceVerdict] = {}

    def observe(self, obs: Observation) -> None:
        if obs.service not in self._containers:
            return
        containers = self._containers[obs.service]
        state = containers.get(obs.container_id)
        if state is None:
            state = containers[obs.container_id] = ContainerState(obs, self.since_wall)
        state.update(obs, self.stable)
        self._settle(obs.service, obs.t)

    def forget(self, container_id: str, t: float) -> None:
        """The container is gone (destroyed); a failure it caused stays."""
        for service, containers in self._containers.items():
            if containers.pop(container_id, None) is not None:
                self._settle(service, t)

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
        new = self._aggregate(service, t)
        old = self._current.get(service)
        if old is not None and (old.verdict, old.exit_code) == (new.verdict, new.exit_code):
            old.detail, old.containers = new.detail, new.containers
            return
        self._current[service] = new
        if new.verdict.failed:
            self._sticky[service] = new

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
