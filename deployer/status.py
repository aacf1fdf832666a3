"""`consign status`: what is deployed on a host, and is it well right now.

A one-shot observation: every container of every Compose project that carries
``io.consignment.*`` labels is inspected once and judged by the same verdict rules as a
deploy (with no stability window: running without a recent restart counts as running).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from deployer import labels as lb
from deployer.observe import engine_offset, parse_stamp, restart_count, state
from deployer.report import label
from deployer.verdicts import Observation, ServiceVerdict, Verdict, VerdictTracker

#: A container that restarted less than this many seconds ago is not "stable".
RECENT = 10.0


@dataclass
class ProjectStatus:
    deployed: lb.Deployed
    verdicts: dict[str, ServiceVerdict] = field(default_factory=dict)

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
                name: {"verdict": sv.verdict.value, "exit_code": sv.exit_code, "detail": sv.detail}
                for name, sv in self.verdicts.items()
            },
        }


def collect(client: Any, project: str | None = None) -> list[ProjectStatus]:
    """Status of every Consignment project on the target (or just ``project``)."""
    filters = [lb.VERSION] + ([f"{lb.PROJECT_LABEL}={project}"] if project else [])
    grouped: dict[str, list[Any]] = {}
    for c in client.containers.list(all=True, filters={"label": filters}):
        grouped.setdefault(c.labels.get(lb.PROJECT_LABEL, ""), []).append(c)
    offset = engine_offset(client) if grouped else 0.0
    return [_judge(name, cs, offset) for name, cs in sorted(grouped.items())]


def _judge(project: str, containers: list[Any], offset: float) -> ProjectStatus:
    deployed = lb.deployed_in(containers, project)
    assert deployed is not None  # every container here carries the version label
    services = sorted({c.labels.get(lb.SERVICE_LABEL, "") for c in containers})
    now, wall = time.monotonic(), time.time() + offset
    tracker = VerdictTracker(services, stable=0.0, started=now)
    for c in containers:
        service = c.labels.get(lb.SERVICE_LABEL, "")
        tracker.observe(Observation(c.id, service, now, c.attrs, wall=wall))
    verdicts = tracker.verdicts(now)
    for c in containers:
        service = c.labels.get(lb.SERVICE_LABEL, "")
        if _restarting(c.attrs, wall) and service in verdicts:
            sv = verdicts[service]
            sv.verdict = Verdict.CRASH_LOOPING
            sv.detail = f"restarted {restart_count(c.attrs)} times, last start very recent"
    return ProjectStatus(deployed, verdicts)


def _restarting(inspect: dict[str, Any], wall: float) -> bool:
    st = state(inspect)
    if st.get("Restarting"):
        return True
    started = parse_stamp(st.get("StartedAt"))
    recent = started is not None and wall - started < RECENT
    return restart_count(inspect) > 0 and recent


def as_text(found: list[ProjectStatus]) -> str:
    """The human form: one block per project, its builds, then one line per service."""
    lines: list[str] = []
    for p in found:
        d = p.deployed
        lines.append(
            f"{d.project}: {d.application}/{d.release} v{d.version} commit {d.commit or '-'}"
        )
        for component, build in sorted(d.builds.items()):
            info = build.items() if isinstance(build, dict) else []
            lines.append(f"  build {component}: " + " ".join(f"{k}={v}" for k, v in info))
        for name, sv in p.verdicts.items():
            lines.append(f"  {name:30} {label(sv):15} {sv.detail}")
    return "".join(line + "\n" for line in lines)
