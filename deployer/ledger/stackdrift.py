"""Drift of a Swarm stack: what its services run now vs. the ledger's record of it.

A stack has no per-container record to compare (its tasks come and go by Swarm's will),
so the unit is the service. :func:`compute` is pure, on the services' documents (with
``ServiceStatus``), what their running tasks run (:func:`deployer.swarm.tasks.inspect_tasks`,
the way the record was made) and the replicas the recorded version's descriptor asks for:

- ``missing``: a recorded service the stack no longer has;
- ``extra``: a service of the stack the record does not name;
- ``image``: a running task runs another image than the one recorded;
- ``replicas``: the service is scaled to another number than the recorded version's
  ``deploy.replicas`` (``docker service scale``), or a replicated/global service runs
  fewer tasks than it wants (``stopped``);
- ``labels``: the service's ``io.consignment.component``/``.build`` labels name another
  component or build than the record (a deploy by hand, ``docker service update``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from deployer.deploy.labels import service_origin
from deployer.ledger.drift import EXTRA, IMAGE, MISSING, STOPPED, Difference
from deployer.swarm.labels import labels_of
from deployer.swarm.rules import desired_slots

REPLICAS, LABELS = "replicas", "labels"


def _sid(doc: Mapping[str, Any]) -> str:
    return str(doc.get("ID", ""))[:12]


def compute(
    recorded: Mapping[str, Any],
    docs: Mapping[str, Mapping[str, Any]],
    images: Mapping[str, Sequence[str]],
    replicas: Mapping[str, int | None] | None,
) -> list[Difference]:
    """Differences between a recorded stack deployment and the stack's services now.

    ``docs``: service name -> service document; ``images``: service name -> the images its
    running tasks run; ``replicas``: service name -> the recorded version's replicas (None:
    global), or None when the version's descriptor could not be read (then only running vs
    wanted is compared)."""
    found: list[Difference] = []
    named = [s for s in recorded.get("services") or [] if s.get("service")]
    for service in named:
        name = str(service["service"])
        doc = docs.get(name)
        if doc is None:
            found.append(Difference(name, MISSING, "", "the stack has no such service now"))
            continue
        found += _compare(name, service, doc, images.get(name, ()), replicas)
    recorded_names = {str(s["service"]) for s in named}
    for name, doc in docs.items():
        if name not in recorded_names:
            detail = "a service of the stack the recorded deployment does not name"
            found.append(Difference(name, EXTRA, _sid(doc), detail))
    order = {str(s["service"]): i for i, s in enumerate(named)}
    return sorted(found, key=lambda d: (order.get(d.service, len(order)), d.service))


def _compare(
    name: str,
    service: Mapping[str, Any],
    doc: Mapping[str, Any],
    images: Sequence[str],
    replicas: Mapping[str, int | None] | None,
) -> list[Difference]:
    sid, out = _sid(doc), []
    image = service.get("image")
    other = sorted({i for i in images if i and i != image})
    if image and other:
        out.append(Difference(name, IMAGE, sid, f"runs {', '.join(other)}, recorded {image}"))
    desired = desired_slots(dict(doc))
    if replicas is not None and name in replicas and replicas[name] is not None:
        wanted = replicas[name]
        if desired != wanted:
            detail = f"scaled to {desired}, the recorded version deploys {wanted}"
            out.append(Difference(name, REPLICAS, sid, detail))
    status = doc.get("ServiceStatus") or {}
    running, want = status.get("RunningTasks"), status.get("DesiredTasks")
    done = service.get("verdict") == "completed"
    if not done and isinstance(running, int) and isinstance(want, int) and running < want:
        out.append(Difference(name, STOPPED, sid, f"{running} of {want} task(s) running"))
    origin = service_origin(labels_of(doc)) or {"component": None, "build": {}}
    now = (origin["component"], origin["build"] or {})
    then = (service.get("component"), service.get("build") or {})
    if (service.get("component") or service.get("build")) and now != then:
        detail = f"labels name component {now[0]} build {now[1]}, recorded {then[0]} {then[1]}"
        out.append(Difference(name, LABELS, sid, detail))
    return out


def running_images(client: Any, docs: Mapping[str, Mapping[str, Any]]) -> dict[str, list[str]]:
    """Service name -> the images its running tasks run (container image ID where this
    manager has the container, else the task spec's image: as the record was made)."""
    from deployer.swarm.tasks import inspect_tasks

    by_id = {str(doc.get("ID")): name for name, doc in docs.items()}
    out: dict[str, list[str]] = {name: [] for name in docs}
    if not by_id:
        return out
    tasks = client.api.tasks(filters={"service": list(by_id), "desired-state": "running"})
    running = {str(t["ID"]): by_id.get(str(t.get("ServiceID")), "") for t in tasks}
    for tid, inspect in inspect_tasks(client, running).items():
        if running.get(tid) and inspect.get("Image"):
            out[running[tid]].append(str(inspect["Image"]))
    return out
