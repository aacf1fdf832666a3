"""The Swarm plan's rules on recorded data (tests/data/plan: a stack ``planxs`` deployed
by docker CLI 28.2 from the descriptor whose ``docker stack config`` is
stack_config.yml, and its service as ``docker service inspect`` gave it)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from deployer.plan.stackcompare import plan_stack_services, task_reasons
from deployer.swarm.deploy import load

DATA = Path(__file__).resolve().parent.parent / "data" / "plan"


def _model() -> dict[str, Any]:
    services: dict[str, Any] = load((DATA / "stack_config.yml").read_text())["services"]
    return services


def _current() -> dict[str, Any]:
    (doc,) = json.loads((DATA / "stack_services.json").read_text())
    return {"web": doc}


def _actions(model: dict[str, Any], current: dict[str, Any]) -> dict[str, str]:
    wanted = {n: int((s.get("deploy") or {}).get("replicas", 1)) for n, s in model.items()}
    return {p.service: p.action for p in plan_stack_services(model, wanted, current)}


def test_the_deployed_descriptor_plans_no_change() -> None:
    assert _actions(_model(), _current()) == {"web": "unchanged"}


def test_task_template_changes_are_recreates_with_their_fields() -> None:
    model = _model()
    model["web"]["environment"] = {"A": "2"}
    model["web"]["command"] = "sleep 2000"  # a string is split as the CLI splits it
    model["web"]["image"] = "busybox:1.36"
    kinds = [(r.kind, r.before, r.after) for r in task_reasons(model["web"], _current()["web"])]
    assert kinds == [
        ("image", "busybox:latest", "busybox:1.36"),
        ("command", "sleep 1000", "sleep 2000"),
        ("environment", "A=1", "A=2"),
    ]
    assert _actions(model, _current()) == {"web": "recreate"}
    model = _model()
    model["web"]["labels"] = {"x": "z"}
    (why,) = task_reasons(model["web"], _current()["web"])
    assert why.kind == "container_labels" and why.labels[0].after == "z"


def test_service_labels_update_scale_create_and_prune() -> None:
    model = _model()
    model["web"]["deploy"]["labels"]["io.consignment.version"] = "4"
    plans = plan_stack_services(model, {"web": 1}, _current())
    assert [(p.action, p.reasons[0].labels[0].after) for p in plans] == [("update", "4")]
    model = _model()
    model["web"]["deploy"]["replicas"] = 3
    model["api"] = copy.deepcopy(model["web"])
    assert _actions(model, _current()) == {"web": "scale", "api": "create"}
    assert _actions({}, _current()) == {"web": "remove"}
    digest = copy.deepcopy(_current())
    spec = digest["web"]["Spec"]["TaskTemplate"]["ContainerSpec"]
    spec["Image"] = "busybox:latest@sha256:" + "0" * 64  # --resolve-image pinned it
    assert _actions(_model(), digest) == {"web": "unchanged"}
