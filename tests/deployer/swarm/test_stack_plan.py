"""`consign deploy --orchestrator swarm --plan` on a real single-node swarm: a change of
one service's task template is that service's `recreate`, the others' new record labels
an `update`; the deploy then replaces exactly that service's task; a pruned service is a
`remove`; no change is exit 0."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from consign.exit_codes import ExitCode
from consign.process import run
from tests.deployer.helpers import consign
from tests.deployer.swarm.conftest import FAST, stack_deploy

pytestmark = pytest.mark.docker


def _write(path: Path, services: dict[str, str]) -> str:
    body = "services:\n" + "".join(
        f"""  {name}:
    image: busybox:latest
    command: ["sleep", "{sleep}"]
    stop_grace_period: 1s
"""
        for name, sleep in services.items()
    )
    path.write_text(body)
    return str(path)


def _plan(stack: str, path: str) -> tuple[int, dict[str, Any]]:
    code, out = consign(
        "deploy", "--orchestrator", "swarm", "--file", path, "--project", stack, "--plan",
        "--json", "--resolve-image", "never",
    )  # fmt: skip
    return code, json.loads(out[out.index("{") :])


def _tasks(stack: str) -> dict[str, set[str]]:
    """Service -> the IDs of its running tasks."""
    found: dict[str, set[str]] = {}
    rows = run(
        ["docker", "stack", "ps", stack, "--filter", "desired-state=running", "--format",
         "{{.ID}} {{.Name}}"],
    ).stdout.split("\n")  # fmt: skip
    for row in filter(None, rows):
        task, name = row.split()
        found.setdefault(name.removeprefix(f"{stack}_").split(".")[0], set()).add(task)
    return found


def test_stack_plan_agrees_with_the_deploy(tmp_path: Path, stack: str) -> None:
    path = _write(tmp_path / "stack.yml", {"a": "100001", "b": "100002", "c": "100003"})
    assert stack_deploy(tmp_path, "--file", path, "--project", stack, *FAST).code == 0
    code, doc = _plan(stack, path)
    assert code == ExitCode.OK, doc
    assert {s["action"] for s in doc["services"]} == {"unchanged"}

    path = _write(tmp_path / "stack.yml", {"a": "100001", "b": "100009"})  # b changed, c gone
    code, doc = _plan(stack, path)
    assert code == ExitCode.PLAN_CHANGES
    actions = {s["service"]: s["action"] for s in doc["services"]}
    assert actions == {"a": "unchanged", "b": "recreate", "c": "remove"}, doc
    (b,) = [s for s in doc["services"] if s["service"] == "b"]
    assert [(r["kind"], r["before"], r["after"]) for r in b["reasons"]] == [
        ("command", "sleep 100002", "sleep 100009")
    ]
    before = _tasks(stack)
    r = stack_deploy(tmp_path, "--file", path, "--project", stack, *FAST)
    assert r.code == ExitCode.OK, r.output
    after = _tasks(stack)
    assert sorted(after) == ["a", "b"]
    assert after["a"] == before["a"] and after["b"] != before["b"]  # as planned
    assert _plan(stack, path)[0] == ExitCode.OK
