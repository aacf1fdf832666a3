"""Drift: what the engine runs now vs. the deployment the ledger records for the project.

:func:`compute` is pure (a recorded deployment and the ``docker inspect`` JSON of every
container labelled for the project): a recorded container missing or no longer running,
one crash-looping (restarting, or restarted again while watched: as `consign status`
judges it), a container nobody recorded (``docker run`` with the project's labels, a
manual ``compose up``), a different image ID, a changed ``com.docker.compose.config-hash``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from consign.textclip import clip_utf8
from deployer.label_keys import VERIFICATION
from deployer.ledger.record import CONFIG_HASH, PROJECT, SERVICE

MISSING, STOPPED, EXTRA, IMAGE, CONFIG = "missing", "stopped", "extra", "image", "config"
#: The engine is restarting it, or it restarted again while watched (as `consign status`
#: judges: :mod:`deployer.verdicts.snapshot`).
CRASH_LOOPING = "crash-looping"


@dataclass(frozen=True)
class Difference:
    service: str
    kind: str  # missing | stopped | crash-looping | extra | image | config
    container: str  # the container ID (12 characters)
    detail: str

    @property
    def line(self) -> str:
        return f"{self.service}: {self.kind} {self.container}: {self.detail}"


def _labels(inspect: Mapping[str, Any]) -> dict[str, str]:
    return dict((inspect.get("Config") or {}).get("Labels") or {})


def _name(inspect: Mapping[str, Any]) -> str:
    return str(inspect.get("Name") or "").lstrip("/")


def compute(
    recorded: Mapping[str, Any],
    containers: Sequence[Mapping[str, Any]],
    again: Collection[str] = (),
) -> list[Difference]:
    """Differences between a recorded deployment (a ledger record's JSON) and ``containers``
    (inspect JSON of every container of the project), in service order; ``again``: IDs of
    the containers seen restarting again while watched (``deployer.status.RecentRestarts``)."""
    current = {  # a verification's containers are the deployer's to run and remove
        str(c.get("Id", "")): c for c in containers if VERIFICATION not in _labels(c)
    }
    seen: set[str] = set()
    found: list[Difference] = []
    for service in recorded.get("services") or []:
        name = service["service"]
        for cid in service.get("containers") or []:
            match = next((full for full in current if full.startswith(cid)), None)
            if match is None:
                found.append(Difference(name, MISSING, cid[:12], "recorded container is gone"))
                continue
            seen.add(match)
            found += _compare(name, service, current[match], match in again)
    for cid, inspect in current.items():
        if cid not in seen:
            service = _labels(inspect).get(SERVICE, "?")
            detail = f"not part of the recorded deployment ({_name(inspect)})"
            found.append(Difference(service, EXTRA, cid[:12], detail))
    order = {s["service"]: i for i, s in enumerate(recorded.get("services") or [])}
    return sorted(found, key=lambda d: (order.get(d.service, len(order)), d.service))


def _compare(
    name: str, service: Mapping[str, Any], inspect: Mapping[str, Any], again: bool
) -> list[Difference]:
    cid = str(inspect.get("Id", ""))[:12]
    out = []
    state = inspect.get("State") or {}
    if state.get("Restarting") or again:
        doing = "restarted again while watched" if again else "restarting now"
        detail = (
            f"restarted {inspect.get('RestartCount', 0)} times, {doing}, "
            f"last exit code {state.get('ExitCode')}"
        )
        out.append(Difference(name, CRASH_LOOPING, cid, detail))
    elif not state.get("Running") and service.get("verdict") != "completed":
        status = state.get("Status", "not running")
        out.append(Difference(name, STOPPED, cid, f"{status} (exit code {state.get('ExitCode')})"))
    image = service.get("image")
    if image and inspect.get("Image") and inspect["Image"] != image:
        out.append(Difference(name, IMAGE, cid, f"runs {inspect['Image']}, recorded {image}"))
    recorded_hash = service.get("config_hash")
    now = _labels(inspect).get(CONFIG_HASH)
    if recorded_hash and now != recorded_hash:
        out.append(Difference(name, CONFIG, cid, f"config hash {now}, recorded {recorded_hash}"))
    return out


def project_containers(client: Any, project: str) -> list[dict[str, Any]]:
    """Inspect JSON of every container (running or not) labelled for ``project``."""
    return [c.attrs for c in watched_containers(client, project)[0]]


def watched_containers(client: Any, project: str) -> tuple[list[Any], set[str]]:
    """Every container labelled for ``project`` (SDK objects), and the IDs of those that
    restarted again while the recently restarted ones were watched, as `consign status`
    watches them (:class:`deployer.status.RecentRestarts`): one answer for one state."""
    from deployer.engine.fields import engine_offset
    from deployer.status import RecentRestarts

    listed = list(
        client.containers.list(
            all=True, filters={"label": f"{PROJECT}={project}"}, ignore_removed=True
        )
    )
    if not listed:
        return listed, set()
    restarts = RecentRestarts(listed, engine_offset(client))
    restarts.settle()
    return listed, restarts.again


def services_of(
    differences: Sequence[Difference], containers: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The ``services`` of a drift record: per service, "drift" and what differs."""
    by_service: dict[str, list[Difference]] = {}
    for d in differences:
        by_service.setdefault(d.service, []).append(d)
    out: list[dict[str, Any]] = []
    for name, found in by_service.items():
        ids = sorted(
            str(c.get("Id")) for c in containers if _labels(c).get(SERVICE) == name and c.get("Id")
        )
        images = sorted(
            {str(c.get("Image")) for c in containers if _labels(c).get(SERVICE) == name}
        )
        out.append(
            {
                "service": name,
                "verdict": "drift",
                "detail": clip_utf8(
                    "; ".join(f"{d.kind} {d.container}: {d.detail}" for d in found), 4000
                ),
                "containers": ids,
                "image": images[0] if len(images) == 1 else None,
                "component": None,
                "build": {},
            }
        )
    return out
