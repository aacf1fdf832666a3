"""Deploys that did not end by themselves, as the ledger records them: outcome
``interrupted``, naming what was left running.

- **Ctrl-C**: the deployer stops Compose, removes what it created but never started
  (:mod:`deployer.deploy.leftovers`) and records the attempt it stopped
  (:meth:`deployer.ledger.outcomes.Observer.interrupt`).
- **Killed** (SIGKILL, a lost machine): nothing runs after the kill, so the *next* deploy
  of the project finds it: the project record still says a deploy is in progress
  (:mod:`deployer.deploy.record`) and that deployer is gone (its process no longer exists
  on this host, or it ran on another host and we now hold the lock). :func:`killed` says
  so; :func:`killed_record` is its ledger record, ``finished`` the last change the engine
  shows of the project (:func:`ended_at`), not the moment it was found.

What was left running is read from the engine (:func:`left_running`): per service its
verdict in the deploy's vocabulary (one look, judged as `consign status` judges), its
containers and their raw states, image ID and config hash, and where it came from.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from consign.textclip import clip_utf8
from deployer import label_keys as keys
from deployer.deploy.labels import service_origin
from deployer.deploy.record import Deployed, killed
from deployer.engine.fields import engine_offset, parse_stamp
from deployer.verdicts import Observation
from deployer.verdicts.snapshot import judge_once, never_started

__all__ = ["INTERRUPTED", "killed", "killed_line", "killed_record", "left_running"]
from deployer.engine.inspect import inspect_all
from deployer.ledger import record

INTERRUPTED = "interrupted"


def state_word(inspect: Mapping[str, Any]) -> str:
    """A container's state in one word: ``running``, ``created``, ``exited(1)``, ..."""
    st = inspect.get("State") or {}
    status = str(st.get("Status") or "unknown")
    if status in ("exited", "dead"):
        return f"{status}({st.get('ExitCode')})"
    return status


def left_running(client: Any, project: str) -> list[dict[str, Any]]:
    """The ``services`` entries of an interrupted record: what the project's containers
    are now, per service, judged as `consign status` judges them (:func:`services_left`)."""
    return services_left(project_inspects(client, project), time.time() + engine_offset(client))


def project_inspects(client: Any, project: str) -> list[dict[str, Any]]:
    rows = client.api.containers(all=True, filters={"label": f"{keys.PROJECT}={project}"})
    ids = [r["Id"] for r in rows if keys.VERIFICATION not in (r.get("Labels") or {})]
    return list(inspect_all(client, ids).values())


def ended_at(started: str, inspects: Sequence[Mapping[str, Any]], offset: float, now: float) -> str:
    """Pure: the best known time a killed deploy ended (its record's ``finished``): the
    last change the engine shows of the project's containers (created, started, exited;
    ``offset`` turns the engine's clock into ours), not before the deploy ``started`` nor
    after ``now``; not when the next deploy happened to find it."""
    begun = parse_stamp(started)
    changes = [
        stamp - offset
        for i in inspects
        for text in _stamps(i)
        if (stamp := parse_stamp(text)) is not None
    ]
    if begun is None:
        return record.utc_stamp(now)
    return record.utc_stamp(min(now, max([begun, *changes])))


def services_left(inspects: Sequence[Mapping[str, Any]], wall: float) -> list[dict[str, Any]]:
    """Pure: per service, the verdict of its containers' one inspect (the verdict
    vocabulary: a finished one-shot is ``completed``, a restarting one ``crash-looping``,
    one created and never started ``not created``), and the raw states in ``detail``."""
    by_service: dict[str, list[Mapping[str, Any]]] = {}
    for inspect in inspects:
        labels = (inspect.get("Config") or {}).get("Labels") or {}
        if labels.get(keys.ONEOFF) != "True" and labels.get(keys.SERVICE):
            by_service.setdefault(labels[keys.SERVICE], []).append(inspect)
    now = time.monotonic()
    seen = [
        Observation(str(i["Id"]), service, now, dict(i), wall=wall)
        for service, group in by_service.items()
        for i in group
    ]
    verdicts = judge_once(seen)
    out = []
    for service, group in sorted(by_service.items()):
        sv = never_started(verdicts[service], seen)
        images = sorted({str(i.get("Image")) for i in group if i.get("Image")})
        hashes = sorted(
            {
                str(h)
                for i in group
                if (h := ((i.get("Config") or {}).get("Labels") or {}).get(record.CONFIG_HASH))
            }
        )
        origin = service_origin((group[0].get("Config") or {}).get("Labels") or {}) or {}
        states = ", ".join(f"{str(i.get('Name', '')).lstrip('/')} {state_word(i)}" for i in group)
        out.append(
            {
                "service": service,
                "verdict": sv.verdict.value,
                "detail": clip_utf8(
                    f"left so when the deploy was interrupted: {sv.detail} ({states})", 4000
                ),
                "containers": sorted(str(i["Id"]) for i in group),
                "image": images[0] if len(images) == 1 else (",".join(images) or None),
                "config_hash": hashes[0] if len(hashes) == 1 else None,
                "component": origin.get("component"),
                "build": origin.get("build") or {},
            }
        )
    return out


def _stamps(inspect: Mapping[str, Any]) -> tuple[Any, ...]:
    st = inspect.get("State") or {}
    return inspect.get("Created"), st.get("StartedAt"), st.get("FinishedAt")


def number(version: str | None) -> int | None:
    return int(version) if version and version.isdigit() else None


def killed_record(
    client: Any, previous: Deployed, *, environment: str, by: str, engine: dict[str, Any]
) -> dict[str, Any]:
    """The ``interrupted`` record of the deploy the project record says was in progress."""
    progress = previous.in_progress
    inspects = project_inspects(client, previous.project)
    offset = engine_offset(client)
    started = str(progress.get("started") or record.utc_now())
    return record.build(
        kind="deploy",
        environment=environment,
        application=previous.application,
        release=previous.release,
        version=number(previous.version),
        commit=previous.commit or None,
        outcome=INTERRUPTED,
        started=started,
        finished=ended_at(started, inspects, offset, time.time()),
        by=str(progress.get("by") or by),
        engine=engine,
        source=previous.registry or None,
        service_entries=services_left(inspects, time.time() + offset),
    )


def killed_line(previous: Deployed) -> str:
    """What the deployer says when it finds a killed deploy."""
    p = previous.in_progress
    who = f"by {p['by']} " if p.get("by") else ""
    return (
        f"ledger: the deploy of {previous.application}/{previous.release} v{previous.version} "
        f"{who}(pid {p.get('pid')} on {p.get('host')}, started {p.get('started')}) never "
        "ended: its deployer was killed; recorded as interrupted with what it left running"
    )
