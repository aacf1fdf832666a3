"""`consign status`: what is deployed on a host, and is it well right now.

A one-shot observation. The projects are those with a project record on the engine
(:mod:`deployer.deploy.record`: version, commit, source, builds; nothing is asked of the
registry, so it works on a host that never saw it). Every container of each is inspected
once and judged by the same verdict rules as a deploy (with no stability window: running
without a recent restart counts as running); its own labels say which component and build
it came from.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from deployer import label_keys as keys
from deployer.deploy import record
from deployer.deploy.labels import service_origin
from deployer.engine.fields import engine_offset, parse_stamp, restart_count, state
from deployer.verdicts import Observation, ServiceVerdict, Verdict, VerdictTracker

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
        return bool(self.verdicts) and all(sv.verdict.ok for sv in self.verdicts.values())

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
            for c in client.containers.list(all=True, filters=filters)
            if c.labels.get(keys.ONEOFF) != "True"
        ]
        if offset is None:
            offset = engine_offset(client)
        found.append(_judge(deployed, containers, offset))
    return found


def _judge(deployed: record.Deployed, containers: list[Any], offset: float) -> ProjectStatus:
    services = sorted({c.labels.get(keys.SERVICE, "") for c in containers})
    now, wall = time.monotonic(), time.time() + offset
    tracker = VerdictTracker(services, stable=0.0, started=now)
    origins: dict[str, dict[str, Any]] = {}
    for c in containers:
        service = c.labels.get(keys.SERVICE, "")
        tracker.observe(Observation(c.id, service, now, c.attrs, wall=wall))
        origin = service_origin(c.labels)
        if origin is not None:
            origins[service] = origin
    verdicts = tracker.verdicts(now)
    for c in containers:
        service = c.labels.get(keys.SERVICE, "")
        if _restarting(c.attrs, wall) and service in verdicts:
            sv = verdicts[service]
            sv.verdict = Verdict.CRASH_LOOPING
            sv.detail = f"restarted {restart_count(c.attrs)} times, last start very recent"
    return ProjectStatus(deployed, verdicts, origins)


def _restarting(inspect: dict[str, Any], wall: float) -> bool:
    st = state(inspect)
    if st.get("Restarting"):
        return True
    started = parse_stamp(st.get("StartedAt"))
    recent = started is not None and wall - started < RECENT
    return restart_count(inspect) > 0 and recent
