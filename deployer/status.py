"""`consign status`: what is deployed on a host, and is it well right now.

A one-shot observation. The projects are those with a project record on the engine
(:mod:`deployer.deploy.record`: version, commit, source, builds; nothing is asked of the
registry, so it works on a host that never saw it). Every container of each is inspected
once and judged by the same verdict rules as a deploy (with no stability window: running
without a recent restart counts as running); its own labels say which component and build
it came from.

A container that restarted and started again less than ``RECENT`` seconds ago may be
between two crashes or may have recovered (a dependent whose dependency a deploy
replaced): it is not guessed at but watched (:class:`RecentRestarts`) until it has run
``RECENT`` seconds: restarted again, it is crash-looping, else it runs. So ``status``
right after a deploy gives the deploy's answer, not a guess.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import docker.errors

from deployer import label_keys as keys
from deployer.deploy import record
from deployer.deploy.labels import service_origin
from deployer.deploy.record import killed
from deployer.engine.fields import engine_offset, parse_stamp, restart_count, state
from deployer.verdicts import Observation, ServiceVerdict
from deployer.verdicts.snapshot import judge_once

#: A container that restarted less than this many seconds ago is not "stable".
RECENT = 10.0


@dataclass
class ProjectStatus:
    deployed: record.Deployed
    verdicts: dict[str, ServiceVerdict] = field(default_factory=dict)
    #: service -> {"component", "build", "fragment"} from its containers' labels
    origins: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        if self.ending:  # partly at the version: not what anyone asked for
            return False
        if self.deployed.verification_failed:  # runs, but its tests said no
            return False
        return self.services_ok

    @property
    def services_ok(self) -> bool:
        """Every service is healthy, running or completed (whatever its verification)."""
        return bool(self.verdicts) and all(sv.verdict.ok for sv in self.verdicts.values())

    @property
    def ending(self) -> str:
        """How the last deploy did not end by itself ("" when it did): interrupted by
        Ctrl-C, in progress, or its deployer gone (the project record says so)."""
        d = self.deployed
        if d.interrupted:
            return f"deploy interrupted ({d.interrupted})"
        p = d.in_progress
        if not p:
            return ""
        who = f"pid {p.get('pid')} on {p.get('host')}, by {p.get('by') or '?'}"
        if p.get("host") != socket.gethostname():  # its process cannot be seen from here
            return (
                f"deploy in progress, or its deployer was killed ({who}, since {p.get('started')})"
            )
        if killed(d):
            return f"deploy interrupted: its deployer ({who}) is gone since {p.get('started')}"
        return f"deploy in progress ({who}, since {p.get('started')})"

    def as_json(self) -> dict[str, Any]:
        d = self.deployed
        return {
            "project": d.project,
            "application": d.application,
            "release": d.release,
            "version": d.version,
            "commit": d.commit,
            "source": d.source,
            "registry": d.registry,
            "builds": d.builds,
            "ok": self.ok,
            "ending": self.ending or None,
            "verification": self.deployed.verification or None,
            "services": {
                name: {
                    "verdict": sv.verdict.value,
                    "exit_code": sv.exit_code,
                    "detail": sv.detail,
                    **(self.origins.get(name) or {}),
                }
                for name, sv in self.verdicts.items()
            },
        }


def collect(client: Any, project: str | None = None) -> list[ProjectStatus]:
    """Status of every Consignment project on the target (or just ``project``)."""
    names = [project] if project else record.projects(client)
    found: list[ProjectStatus] = []
    offset: float | None = None
    for name in names:
        deployed = record.read(client, name)
        if deployed is None:
            continue
        filters = {"label": f"{keys.PROJECT}={name}"}
        containers = [
            c
            for c in client.containers.list(all=True, filters=filters, ignore_removed=True)
            if c.labels.get(keys.ONEOFF) != "True" and keys.VERIFICATION not in c.labels
        ]
        if offset is None:
            offset = engine_offset(client)
        restarts = RecentRestarts(containers, offset)
        restarts.settle()
        found.append(_judge(deployed, containers, offset, restarts.again))
    return found


class RecentRestarts:
    """The containers that restarted and started less than ``RECENT`` seconds ago, watched
    until they have run that long (one wait for all, then one inspect each); ``again``
    holds the IDs of those that restarted meanwhile. ``sleep``/``clock`` are injected
    (the clock is ours; ``offset`` turns it into the engine's)."""

    def __init__(
        self,
        containers: list[Any],
        offset: float,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.offset = offset
        self.clock = clock
        self.sleep = sleep
        wall = clock() + offset
        self.recent = [c for c in containers if _recently_restarted(c.attrs, wall)]
        self.again: set[str] = set()

    def settle(self) -> None:
        if not self.recent:
            return
        starts = {c.id: state(c.attrs).get("StartedAt") for c in self.recent}
        latest = max(parse_stamp(s) or 0.0 for s in starts.values())
        self.sleep(max(0.0, latest + RECENT - (self.clock() + self.offset)))
        for c in self.recent:
            try:
                c.reload()
            except docker.errors.NotFound:  # removed meanwhile: not settled either
                self.again.add(c.id)
                continue
            st = state(c.attrs)
            if st.get("Restarting") or not st.get("Running") or st.get("StartedAt") != starts[c.id]:
                self.again.add(c.id)


def _judge(
    deployed: record.Deployed, containers: list[Any], offset: float, again: set[str]
) -> ProjectStatus:
    now, wall = time.monotonic(), time.time() + offset
    seen = [
        Observation(c.id, c.labels.get(keys.SERVICE, ""), now, c.attrs, wall=wall)
        for c in containers
    ]
    origins: dict[str, dict[str, Any]] = {}
    for c in containers:
        origin = service_origin(c.labels)
        if origin is not None:
            origins[c.labels.get(keys.SERVICE, "")] = origin
    return ProjectStatus(deployed, judge_once(seen, again), origins)


def _recently_restarted(inspect: dict[str, Any], wall: float) -> bool:
    """Running again after a restart, started less than ``RECENT`` seconds ago."""
    st = state(inspect)
    if st.get("Restarting") or not st.get("Running"):
        return False
    started = parse_stamp(st.get("StartedAt"))
    recent = started is not None and wall - started < RECENT
    return restart_count(inspect) > 0 and recent
