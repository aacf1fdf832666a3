"""The plan's pure rules for a Swarm stack: each service of ``docker stack config``'s
merged descriptor against the service the swarm runs (``docker service inspect``).

What ``docker stack deploy`` would change, field by field, as the CLI converts a Compose
service into a service spec (cli/compose/convert): the task template (image, entrypoint
-> ``ContainerSpec.Command``, command -> ``Args``, environment -> ``Env``, labels ->
``ContainerSpec.Labels``, user, working_dir, hostname): a difference there makes Swarm
replace the service's tasks (``recreate``); the service's own labels (``deploy.labels``,
where the deployer keeps its record) are updated without touching a task (``update``);
``deploy.replicas`` scales (``scale``). Services of the stack the descriptor no longer
has are removed (``--prune``). Other fields (resources, placement, networks, healthcheck,
secrets, ...) are not compared: docs/deployer.md says so.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any

from deployer.plan.compare import label_changes
from deployer.plan.model import Reason, ServicePlan

NAMESPACE = "com.docker.stack.namespace"
STACK_IMAGE = "com.docker.stack.image"


def _words(value: Any) -> list[str] | None:
    """A command or entrypoint as the CLI passes it (a string is split shell-wise)."""
    if value is None:
        return None
    if isinstance(value, str):
        return shlex.split(value)
    return [str(v) for v in value]


def _env(value: Any) -> list[str]:
    """``environment`` (mapping or list) as sorted ``K=V`` (``K`` alone: unset, dropped)."""
    if isinstance(value, Mapping):
        items = [f"{k}={v}" for k, v in value.items() if v is not None]
    else:
        items = [str(v) for v in value or [] if "=" in str(v)]
    return sorted(items)


def _labels(value: Any) -> dict[str, str]:
    if isinstance(value, Mapping):
        return {str(k): "" if v is None else str(v) for k, v in value.items()}
    found: dict[str, str] = {}
    for item in value or []:
        key, _, val = str(item).partition("=")
        found[key] = val
    return found


def _without(labels: Mapping[str, str], *keys: str) -> dict[str, str]:
    return {k: v for k, v in labels.items() if k not in keys}


def _ref(image: str) -> str:
    """An image reference without the digest ``--resolve-image`` pinned to it."""
    return image.split("@", 1)[0]


def task_reasons(spec: Mapping[str, Any], doc: Mapping[str, Any]) -> tuple[Reason, ...]:
    """What of the task template differs (each a reason to replace the tasks)."""
    container = ((doc.get("Spec") or {}).get("TaskTemplate") or {}).get("ContainerSpec") or {}
    pairs: list[tuple[str, Any, Any]] = [
        ("image", _ref(str(container.get("Image") or "")), str(spec.get("image") or "")),
        ("entrypoint", container.get("Command"), _words(spec.get("entrypoint"))),
        ("command", container.get("Args"), _words(spec.get("command"))),
        ("environment", sorted(container.get("Env") or []), _env(spec.get("environment"))),
        ("user", container.get("User") or "", str(spec.get("user") or "")),
        ("working_dir", container.get("Dir") or "", str(spec.get("working_dir") or "")),
        ("hostname", container.get("Hostname") or "", str(spec.get("hostname") or "")),
    ]
    found = [
        Reason(kind, _said(before), _said(after))
        for kind, before, after in pairs
        if (before or None) != (after or None)
    ]
    ours = _without(dict(container.get("Labels") or {}), NAMESPACE)
    changed = label_changes(ours, _labels(spec.get("labels")))
    if changed:
        found.append(Reason("container_labels", labels=changed))
    return tuple(found)


def _said(value: Any) -> str | None:
    if value is None or value == [] or value == "":
        return None
    if isinstance(value, list):
        return " ".join(shlex.quote(str(v)) for v in value)
    return str(value)


def replicas(doc: Mapping[str, Any]) -> int | None:
    """The service's replicas (None: a global service)."""
    mode = (doc.get("Spec") or {}).get("Mode") or {}
    if "Global" in mode:
        return None
    return int((mode.get("Replicated") or {}).get("Replicas", 1))


def service_plan(
    name: str, spec: Mapping[str, Any], wanted_replicas: int | None, doc: Mapping[str, Any] | None
) -> ServicePlan:
    """One service of the stack: create, recreate (tasks replaced), scale, update (its
    labels only) or unchanged."""
    if doc is None:
        return ServicePlan(name, "create", count=(0, wanted_replicas or 0))
    now = replicas(doc)
    count = (now or 0, wanted_replicas or 0)
    why = task_reasons(spec, doc)
    own = _without(dict((doc.get("Spec") or {}).get("Labels") or {}), NAMESPACE, STACK_IMAGE)
    wanted_own = _labels((spec.get("deploy") or {}).get("labels"))
    relabel = label_changes(own, wanted_own)
    service = str((doc.get("Spec") or {}).get("Name") or name)
    if why:
        return ServicePlan(name, "recreate", why, (service,), count)
    if now != wanted_replicas:
        return ServicePlan(name, "scale", (), (service,), count)
    if relabel:
        note = "the service's labels only: no task is replaced"
        return ServicePlan(
            name, "update", (Reason("labels", labels=relabel),), (service,), count, note
        )
    return ServicePlan(name, "unchanged", (), (service,), count)


def plan_stack_services(
    model: Mapping[str, Mapping[str, Any]],
    wanted_replicas: Mapping[str, int | None],
    current: Mapping[str, Mapping[str, Any]],
) -> list[ServicePlan]:
    """Every service of the merged descriptor, then those ``--prune`` removes."""
    plans = [
        service_plan(name, spec, wanted_replicas.get(name, 1), current.get(name))
        for name, spec in model.items()
    ]
    for name in sorted(set(current) - set(model)):
        service = str((current[name].get("Spec") or {}).get("Name") or name)
        plans.append(
            ServicePlan(
                name, "remove", containers=(service,), count=(replicas(current[name]) or 0, 0),
                note="not in the descriptor (--prune)",
            )
        )  # fmt: skip
    return plans
