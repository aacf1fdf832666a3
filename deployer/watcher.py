"""Watch a Compose project's containers until every service has a verdict.

The engine's event stream is opened *before* the containers are listed, so no state
change between listing and subscribing can be missed. A container is inspected once at
the start and again only when an event about it arrives; a short tick settles "running"
after the stability window (one confirming inspect per container) and notices the
timeout. That keeps a 50-service project cheap: no polling of every container.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

import docker
from docker.errors import APIError, NotFound

from deployer.events import EventFeed, event_exit_code
from deployer.observe import engine_offset
from deployer.verdicts import Observation, ServiceVerdict, VerdictTracker

PROJECT = "com.docker.compose.project"
SERVICE = "com.docker.compose.service"
ONEOFF = "com.docker.compose.oneoff"
#: Seconds between ticks (stability settling, timeout); events wake the loop at once.
TICK = 0.25

Update = Callable[[dict[str, ServiceVerdict]], None]


def watch(
    client: docker.DockerClient,
    project: str,
    services: Sequence[str],
    *,
    timeout: float,
    stable: float,
    on_update: Update | None = None,
    not_created: Mapping[str, str] | None = None,
    replicas: Mapping[str, int] | None = None,
    since: float | None = None,
) -> dict[str, ServiceVerdict]:
    """Verdicts for ``services`` of ``project``: returns once all are final.

    Failures are final the moment they are certain; pending services become TIMED_OUT
    after ``timeout`` seconds. ``replicas`` gives expected containers per service (default
    1). ``since`` is the engine time (epoch seconds) the deploy began, e.g. ``time.time()``
    before ``compose up`` on a local engine: a container created after it that has
    already restarted is crash-looping even when it looks running.
    """
    started = time.monotonic()
    offset = engine_offset(client)
    tracker = VerdictTracker(
        services,
        stable=stable,
        started=started,
        timeout=timeout,
        replicas=replicas,
        since_wall=since,
    )
    for service, detail in (not_created or {}).items():
        tracker.mark_not_created(service, detail)
    wanted = set(services)
    label = f"{PROJECT}={project}"
    known: dict[str, str] = {}  # container id -> service

    def inspect(cid: str, last_exit: int | None = None) -> None:
        try:
            data = client.api.inspect_container(cid)
        except NotFound:
            known.pop(cid, None)
            tracker.forget(cid, time.monotonic())
            return
        now = time.monotonic()
        obs = Observation(cid, known[cid], now, data, time.time() + offset, last_exit)
        tracker.observe(obs)

    feed = EventFeed(client, label, since=time.time() + offset - 2.0)
    try:
        for c in client.api.containers(all=True, filters={"label": label}):
            labels = c.get("Labels") or {}
            if labels.get(SERVICE) in wanted and labels.get(ONEOFF) != "True":
                known[c["Id"]] = labels[SERVICE]
                inspect(c["Id"])
        shown: dict[str, tuple[str, int | None, str]] = {}
        while True:
            now = time.monotonic()
            verdicts = tracker.verdicts(now)
            snapshot = {s: (v.verdict.value, v.exit_code, v.detail) for s, v in verdicts.items()}
            if on_update is not None and snapshot != shown:
                on_update(verdicts)
            shown = snapshot
            if all(v.verdict.final for v in verdicts.values()):
                return verdicts
            wait = min(TICK, max(0.0, started + timeout - now) + 0.01)
            touched: dict[str, int | None] = {}  # one inspect per container per wake-up
            for event in feed.drain(wait):
                attrs = (event.get("Actor") or {}).get("Attributes") or {}
                cid = str((event.get("Actor") or {}).get("ID") or event.get("id") or "")
                if attrs.get(SERVICE) not in wanted or attrs.get(ONEOFF) == "True" or not cid:
                    continue
                known[cid] = attrs[SERVICE]
                code = event_exit_code(event)
                touched[cid] = code if code is not None else touched.get(cid)
            for cid, code in touched.items():
                inspect(cid, code)
            # Without events (stream lost) fall back to inspecting everything each tick.
            due = list(known) if not feed.alive else tracker.confirm_due(time.monotonic())
            for cid in due:
                if cid in known and cid not in touched:
                    inspect(cid)
    finally:
        feed.close()


def service_logs(client: docker.DockerClient, project: str, service: str, tail: int = 50) -> str:
    """The last ``tail`` log lines of each container of ``service`` (for the report)."""
    filters = {"label": [f"{PROJECT}={project}", f"{SERVICE}={service}"]}
    parts: list[str] = []
    containers = client.api.containers(all=True, filters=filters)
    for c in sorted(containers, key=lambda c: str((c.get("Names") or [""])[0])):
        try:
            raw = client.api.logs(c["Id"], stdout=True, stderr=True, tail=tail)
        except NotFound:
            continue
        except APIError as e:  # e.g. a logging driver that cannot be read back
            raw = f"(logs unavailable: {e.explanation or e})"
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        if len(containers) > 1:
            name = str((c.get("Names") or [c["Id"][:12]])[0]).lstrip("/")
            text = f"== {name} ==\n{text}"
        parts.append(text.rstrip("\n"))
    return "\n".join(parts)
