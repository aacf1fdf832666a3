"""Per-container verdict rules, from Docker's own semantics (daemon/monitor.go, restartmanager).

When a container's process exits, the engine decides *before* emitting ``die`` whether its
restart policy restarts it: if so it sets ``State.Restarting`` (with ``Running`` still
true), bumps ``RestartCount`` and keeps ``ExitCode``; otherwise the state is ``exited``.
Hence:

- ``no``: never restarted. Exit 0 -> completed, else exited(code).
- ``on-failure[:N]``: exit 0 stays exited -> completed. A non-zero exit is restarted
  (-> crash-looping) until N restarts are used up; exited non-zero and *not* restarting
  means the retries are exhausted or it was stopped -> exited(code), unless a restart was
  seen, which made it crash-looping already.
- ``always``/``unless-stopped``: every exit (even 0) is restarted -> crash-looping. Such a
  container exited and not restarting was stopped by someone (``docker stop``, daemon
  shutdown): it should be running -> exited(code).

A restart is certain as soon as one of these is seen: ``State.Restarting``; RestartCount or
StartedAt changing between two observations; RestartCount > 0 on a container created after
the deploy began. A failure, once seen, sticks to the container, unless the tracker
*excuses* it (:meth:`ContainerState.excuse`: the container last exited while a service it
needs was not back): then only exits after that point count (RestartCount above what it
was when excused).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from deployer.engine.fields import (
    health,
    health_detail,
    parse_stamp,
    restart_count,
    restart_policy,
    state,
)
from deployer.verdicts.vocabulary import Observation, Verdict


@dataclass(frozen=True)
class ContainerVerdict:
    verdict: Verdict
    exit_code: int | None
    detail: str


class ContainerState:
    """What one container has shown so far, and its verdict from that."""

    def __init__(self, first: Observation, since_wall: float | None) -> None:
        self.name = str(first.inspect.get("Name", first.container_id[:12])).lstrip("/")
        self.since_wall = since_wall
        self.restart_count = restart_count(first.inspect)
        self.started_at = state(first.inspect).get("StartedAt")
        self.run_since: float | None = None  # monotonic start of the current run
        self.last_exit: int | None = None
        self.restarted = False
        self.ever_started = parse_stamp(self.started_at) is not None
        self.confirm_at: float | None = None
        self.verdict = ContainerVerdict(Verdict.PENDING, None, "not inspected yet")
        created = parse_stamp(first.inspect.get("Created"))
        #: Created after the deploy began: its service is being (re)created by this deploy.
        self.new = created is not None and since_wall is not None and created >= since_wall
        started = parse_stamp(self.started_at)
        #: An older container that this deploy started (it was stopped: ``docker stop``, an
        #: interrupted deploy): its run began after the deploy did, with RestartCount 0 (a
        #: start by Compose or by hand resets it; the engine's own restarts bump it). Like a
        #: recreated one, it is away until it is ok, and ok only from then on.
        self.started_by_deploy = (
            not self.new
            and since_wall is not None
            and started is not None
            and started >= since_wall
            and self.restart_count == 0
        )
        #: Monotonic estimate of the last exit (``State.FinishedAt``), None: never exited.
        self.exit_at: float | None = None
        #: RestartCount when the restarts so far were excused; None: none were.
        self.baseline: int | None = None
        self.last: Observation = first

    def update(self, obs: Observation, stable: float) -> None:
        # a crash loop stays one (``restarted`` only turns true) but its history is kept
        # current, for :meth:`excuse`
        if self.verdict.verdict.failed and self.verdict.verdict is not Verdict.CRASH_LOOPING:
            return
        self._note_history(obs)
        self.last = obs
        self.confirm_at = None
        self.verdict = self._classify(obs, stable)

    def excuse(self, before: float, stable: float) -> bool:
        """Forgive the restarts seen so far when the last exit came before ``before`` (the
        monotonic time every service it needs was back): from now on only a later exit
        counts. True when a crash loop was forgiven (the verdict is judged again)."""
        if self.verdict.verdict is not Verdict.CRASH_LOOPING or not self.restarted:
            return False
        if self.exit_at is None or self.exit_at >= before:
            return False
        self.restarted = False
        self.baseline = self.restart_count
        self.confirm_at = None
        self.verdict = self._classify(self.last, stable)
        return True

    def _note_history(self, obs: Observation) -> None:
        inspect, st = obs.inspect, state(obs.inspect)
        count, started_at = restart_count(inspect), st.get("StartedAt")
        finished = parse_stamp(st.get("FinishedAt"))
        if finished is not None:
            self.exit_at = obs.t if obs.wall is None else obs.t - max(0.0, obs.wall - finished)
        if self.baseline is not None:  # excused: only an exit after that counts
            self.restarted = self.restarted or count > self.baseline
        else:
            self._restarted_by_rules(inspect, st, count, started_at)
        if parse_stamp(started_at) is not None:
            self.ever_started = True
        if started_at != self.started_at or self.run_since is None:
            self.run_since = self._run_start(obs)
        self.restart_count, self.started_at = count, started_at
        if obs.last_exit is not None:
            self.last_exit = obs.last_exit
        if st.get("Restarting") or st.get("Status") in ("exited", "dead"):
            self.last_exit = int(st.get("ExitCode") or 0)

    def _restarted_by_rules(
        self, inspect: dict[str, Any], st: dict[str, Any], count: int, started_at: Any
    ) -> None:
        if st.get("Restarting") or count > self.restart_count:
            self.restarted = True
        if parse_stamp(self.started_at) is not None and started_at != self.started_at:
            self.restarted = True
        created, since = parse_stamp(inspect.get("Created")), self.since_wall
        if count > 0 and created is not None and since is not None and created >= since:
            self.restarted = True

    @staticmethod
    def _run_start(obs: Observation) -> float:
        """Monotonic estimate of when the current run began (never after ``obs.t``)."""
        started = parse_stamp(state(obs.inspect).get("StartedAt"))
        if obs.wall is None or started is None:
            return obs.t
        return obs.t - max(0.0, obs.wall - started)

    def _classify(self, obs: Observation, stable: float) -> ContainerVerdict:
        st = state(obs.inspect)
        policy, retries = restart_policy(obs.inspect)
        status = str(st.get("Status", ""))
        error = str(st.get("Error") or "")
        if self.restarted:
            code = self.last_exit
            shown = "unknown" if code is None else str(code)
            return ContainerVerdict(
                Verdict.CRASH_LOOPING,
                code,
                f"restart policy {policy}: restarted {self.restart_count} time(s), "
                f"now {status}, last exit code {shown}" + (f"; {error}" if error else ""),
            )
        if status == "created":
            if error:
                return ContainerVerdict(Verdict.NOT_CREATED, None, f"could not start: {error}")
            return ContainerVerdict(Verdict.PENDING, None, "created, not started")
        if status in ("exited", "dead"):
            return self._stopped(st, policy, retries, status, error)
        if status == "running":
            return self._running(obs, stable)
        return ContainerVerdict(Verdict.PENDING, None, status or "unknown state")

    @staticmethod
    def _stopped(st: dict, policy: str, retries: int, status: str, error: str) -> ContainerVerdict:
        code = int(st.get("ExitCode") or 0)
        oom = " (OOM killed)" if st.get("OOMKilled") else ""
        extra = (f"; {error}" if error else "") + oom
        if status == "dead":
            return ContainerVerdict(Verdict.EXITED, code, f"container is dead{extra}")
        if policy in ("always", "unless-stopped"):
            return ContainerVerdict(
                Verdict.EXITED,
                code,
                f"stopped with exit code {code} though restart is {policy}{extra}",
            )
        if code == 0 and not oom:
            return ContainerVerdict(Verdict.COMPLETED, 0, "exited 0")
        why = f" (on-failure:{retries} exhausted)" if policy == "on-failure" else ""
        return ContainerVerdict(Verdict.EXITED, code, f"exited with code {code}{why}{extra}")

    def _running(self, obs: Observation, stable: float) -> ContainerVerdict:
        h = health(obs.inspect)
        if h is not None:
            status = h.get("Status")
            if status == "healthy":
                return ContainerVerdict(Verdict.HEALTHY, None, "healthcheck passes")
            if status == "unhealthy":
                return ContainerVerdict(Verdict.UNHEALTHY, None, health_detail(obs.inspect))
            return ContainerVerdict(Verdict.PENDING, None, health_detail(obs.inspect))
        run_since = obs.t if self.run_since is None else self.run_since
        up = obs.t - run_since
        if up >= stable:
            return ContainerVerdict(Verdict.RUNNING, None, f"running, no restart for {up:.1f}s")
        self.confirm_at = run_since + stable
        return ContainerVerdict(
            Verdict.PENDING, None, f"running for {up:.1f}s of a {stable:g}s stability window"
        )
