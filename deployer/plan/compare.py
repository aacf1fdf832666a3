"""The plan's pure rules: what the engine runs against what the descriptor wants, as
Compose v2's ``up`` decides it (compose v2.40 ``convergence.go``: ``mustRecreate`` and
``ensureService``), with the reasons spelt out.

Compose recreates a container when its ``com.docker.compose.config-hash`` label differs
from the service's hash (the whole service definition: image reference, command,
environment, our labels, ...) or its ``com.docker.compose.image`` label (the image ID it
was created from) differs from the ID of the service's image on the engine now. The hash
says *that* something changed; the reasons name *what* where we can tell it (the image
reference, which of our ``io.consignment.*`` labels). Containers that are not recreated
are started when they are not running; a service with more containers than it wants
loses the extra ones (obsolete ones first, as Compose orders them), one with fewer gets
new ones; a container of a service the descriptor no longer has is an orphan, removed
(the deploy runs ``up --remove-orphans``), and so is an exited one-off container
(``compose run``) of any service: Compose's ``isOrphaned``. Containers without Compose's
config hash label are not the project's for Compose, hence not for the plan.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from deployer.plan.model import (
    ImagePlan,
    LabelChange,
    Reason,
    ResourcePlan,
    Seen,
    ServicePlan,
    Wanted,
)


def label_changes(before: Mapping[str, str], after: Mapping[str, str]) -> tuple[LabelChange, ...]:
    """Our labels that differ (added, removed or changed), sorted by key."""
    keys = sorted(set(before) | set(after))
    return tuple(
        LabelChange(k, before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)
    )


def reasons(wanted: Wanted, seen: Seen) -> tuple[Reason, ...]:
    """Why Compose recreates ``seen`` for ``wanted`` (empty: it does not)."""
    found: list[Reason] = []
    if seen.config_hash != wanted.config_hash:
        if seen.image != wanted.image:
            found.append(Reason("image", seen.image, wanted.image))
        changed = label_changes(seen.labels, wanted.labels)
        if changed:
            found.append(Reason("labels", labels=changed))
        found.append(Reason("config_hash", seen.config_hash or None, wanted.config_hash))
    if wanted.image and wanted.image_id is None:
        # the image is pulled first; its ID, hence Compose's decision, is known only then
        found.append(Reason("image_pull", seen.image_id or None, None))
    elif wanted.image_id is not None and seen.image_id != wanted.image_id:
        found.append(Reason("image_id", seen.image_id or None, wanted.image_id))
    return tuple(found)


def _compose_order(containers: Sequence[Seen], obsolete: set[str]) -> list[Seen]:
    """Compose's order in ``ensureService``: obsolete containers first, then the others by
    container number, highest first; the first ``replicas`` are kept, the rest removed."""
    return sorted(containers, key=lambda c: (c.id not in obsolete, -c.number))


def service_plan(wanted: Wanted, containers: Sequence[Seen]) -> ServicePlan:
    """One service's action."""
    names = tuple(sorted(c.name for c in containers))
    want = wanted.replicas
    if want == 0:
        if not containers:
            return ServicePlan(wanted.service, "unchanged", note="scaled to 0")
        return ServicePlan(
            wanted.service, "remove", containers=names, count=(len(containers), 0),
            note="scaled to 0",
        )  # fmt: skip
    if not containers:
        return ServicePlan(wanted.service, "create", count=(0, want))
    why = {c.id: reasons(wanted, c) for c in containers}
    obsolete = {cid for cid, r in why.items() if r}
    ordered = _compose_order(containers, obsolete)
    kept, extra = ordered[:want], ordered[want:]
    count = (len(containers), want)
    recreated = [c for c in kept if c.id in obsolete]
    if recreated:
        first = next(why[c.id] for c in recreated)
        return ServicePlan(
            wanted.service, "recreate", reasons=first,
            containers=tuple(sorted(c.name for c in recreated)), count=count,
            note=_scale_note(len(extra), want - len(kept)),
        )  # fmt: skip
    if extra or len(kept) < want:
        return ServicePlan(
            wanted.service, "scale", containers=names, count=count,
            note=_scale_note(len(extra), want - len(kept)),
        )  # fmt: skip
    stopped = [c for c in kept if c.state != "running"]
    if stopped:
        states = ", ".join(sorted(f"{c.name} {c.state}" for c in stopped))
        return ServicePlan(
            wanted.service, "start", containers=tuple(sorted(c.name for c in stopped)),
            count=count, note=f"not running: {states}",
        )  # fmt: skip
    return ServicePlan(wanted.service, "unchanged", containers=names, count=count)


def _scale_note(removed: int, created: int) -> str:
    parts = [f"{removed} removed" if removed else "", f"{created} created" if created else ""]
    return ", ".join(p for p in parts if p)


def plan_services(wanted: Sequence[Wanted], seen: Sequence[Seen]) -> list[ServicePlan]:
    """Every service's action, in the descriptor's order, then the orphans (by name)."""
    by_service: dict[str, list[Seen]] = {}
    for c in seen:
        if not c.oneoff:
            by_service.setdefault(c.service, []).append(c)
    plans = [service_plan(w, by_service.pop(w.service, [])) for w in wanted]
    runs = sorted((c for c in seen if c.oneoff and c.state in ("exited", "dead")), key=_name)
    if runs:
        plans.append(
            ServicePlan(
                "(compose run)", "remove", containers=tuple(c.name for c in runs),
                count=(len(runs), 0), note="exited one-off containers (--remove-orphans)",
            )
        )  # fmt: skip
    for service in sorted(by_service):
        gone = by_service[service]
        plans.append(
            ServicePlan(
                service, "remove", containers=tuple(sorted(c.name for c in gone)),
                count=(len(gone), 0), note="orphan: not in the descriptor (--remove-orphans)",
            )
        )  # fmt: skip
    return plans


def verification_plans(tests: Sequence[Wanted], verify: bool) -> list[ServicePlan]:
    """The verification services (Compose profile ``verify``): the deploy creates them once
    every other service is healthy, runs them and removes them (``--skip-verify``: not)."""
    note = "run after the deploy is healthy, then removed" if verify else "not run: --skip-verify"
    return [ServicePlan(t.service, "verify", count=(0, 0), note=note) for t in tests]


def _name(c: Seen) -> str:
    return c.name


def images_to_pull(wanted: Sequence[Wanted], pull: str) -> list[ImagePlan]:
    """The images ``up --pull <pull>`` pulls first (``always``: every one; ``missing``:
    those not on the engine), or that are missing with ``never`` (the deploy fails)."""
    by_image: dict[str, list[Wanted]] = {}
    for w in wanted:
        if w.image and w.replicas > 0:
            by_image.setdefault(w.image, []).append(w)
    found: list[ImagePlan] = []
    for image, users in by_image.items():
        services = tuple(w.service for w in users)
        absent = users[0].image_id is None
        if pull == "always":
            found.append(ImagePlan(image, "pull", services, "--pull always"))
        elif absent and pull == "never":
            found.append(ImagePlan(image, "missing", services, "--pull never: the deploy fails"))
        elif absent:
            found.append(ImagePlan(image, "pull", services, "not on the engine"))
    return found


def resources(
    kind: str,
    declared: Mapping[str, Mapping[str, Any]],
    existing: set[str],
    users: Mapping[str, Sequence[str]],
) -> list[ResourcePlan]:
    """Named volumes (or networks) of the resolved model against the engine's names."""
    found: list[ResourcePlan] = []
    for key, spec in declared.items():
        name = str(spec.get("name") or key)
        there = name in existing
        if spec.get("external"):
            action = "external" if there else "missing"
        else:
            action = "keep" if there else "create"
        found.append(ResourcePlan(kind, key, name, action, tuple(users.get(key, ()))))
    return found


def volume_users(model: Mapping[str, Mapping[str, Any]]) -> dict[str, list[str]]:
    """Named volume key -> the services mounting it (resolved model's long syntax)."""
    users: dict[str, list[str]] = {}
    for service, spec in model.items():
        for mount in spec.get("volumes") or []:
            if isinstance(mount, Mapping) and mount.get("type") == "volume" and mount.get("source"):
                users.setdefault(str(mount["source"]), []).append(service)
    return users


def network_users(model: Mapping[str, Mapping[str, Any]]) -> dict[str, list[str]]:
    """Network key -> the services attached to it."""
    users: dict[str, list[str]] = {}
    for service, spec in model.items():
        networks = spec.get("networks")
        for key in networks or {}:
            users.setdefault(str(key), []).append(service)
    return users
