"""The rules of a stack's verification run as one-shot services (deployer/swarm/oneshot.py,
deployer/swarm/deploy.py's verification_model), on recorded `docker stack config` models and task
documents as the Engine (API 1.41) returns them; the real swarm is test_stack_verification.py's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from deployer.swarm.deploy import load, verification_model, without_tests
from deployer.swarm.oneshot import look, network_names, one_shot, task_end, unsupported
from deployer.swarm.stack import StackInvalid
from deployer.verification import rules
from deployer.verification.rules import LookAtTest, Status, Verification

#: `docker stack config` of a smoke test (CLI 28): command split, env_file read.
MERGED = """version: "3.13"
services:
  smoke:
    command: [sh, -c, "wget -qO- http://api:8080/"]
    entrypoint: [/bin/env]
    environment: {TARGET: "http://api:8080", EMPTY: null}
    env_file: [smoke.env]
    extra_hosts: ["gateway:10.0.0.1"]
    image: busybox:latest
    networks: {back: null, default: null}
    stop_grace_period: 1m30s
    deploy:
      placement: {constraints: ["node.role == manager"]}
networks:
  back: {}
  shared: {external: true, name: corp-net}
"""


def task(
    state: str, *, code: int | None = None, err: str = "", created: str = "1"
) -> dict[str, Any]:
    status: dict[str, Any] = {"State": state, "Message": state}
    if code is not None:
        status["ContainerStatus"] = {"ExitCode": code}
    if err:
        status["Err"] = err
    return {"ID": f"t{created}", "ServiceID": "s1", "CreatedAt": created, "Status": status}


def test_the_one_shot_service_carries_the_merged_model() -> None:
    model = load(MERGED)
    shot = one_shot("shop", "smoke", model["services"]["smoke"], model["networks"], {"x": "1"})
    assert shot.name == "shop_smoke"
    template = shot.task_template()
    container = template["ContainerSpec"]
    assert container["Image"] == "busybox:latest"
    assert container["Command"] == ["/bin/env"]  # Compose's entrypoint
    assert container["Args"] == ["sh", "-c", "wget -qO- http://api:8080/"]
    assert sorted(container["Env"]) == ["EMPTY=", "TARGET=http://api:8080"]
    assert container["Hosts"] == ["10.0.0.1 gateway"]
    assert container["StopGracePeriod"] == 90 * 10**9
    assert template["RestartPolicy"]["Condition"] == "none"  # a test runs once
    assert template["Networks"] == [{"Target": "shop_back"}, {"Target": "shop_default"}]
    assert template["Placement"] == {"Constraints": ["node.role == manager"]}
    for labels in (shot.labels, container["Labels"]):  # stack rm / prune / status see it
        assert labels["com.docker.stack.namespace"] == "shop"
        assert labels["io.consignment.verification"] == "true"
    assert shot.labels["x"] == "1"


def test_network_names_follow_stack_deploys_naming() -> None:
    declared = {"back": {}, "named": {"name": "fixed"}, "shared": {"external": True},
                "old": {"external": {"name": "legacy-net"}}}  # fmt: skip
    spec = {"networks": ["back", "named", "shared", "old"]}
    assert network_names("s", spec, declared) == ["s_back", "fixed", "shared", "legacy-net"]
    assert network_names("s", {}, declared) == ["s_default"]  # none named: the default


def test_task_states_give_the_tests_end() -> None:
    assert task_end([]) is None  # not scheduled yet
    for state in ("new", "pending", "assigned", "preparing", "starting", "running"):
        assert task_end([task(state)]) is None
    assert task_end([task("complete", code=0)]).exit_code == 0  # type: ignore[union-attr]
    assert task_end([task("failed", code=3)]).exit_code == 3  # type: ignore[union-attr]
    rejected = task_end([task("rejected", err="No such image: nope:1")])
    assert rejected is not None and rejected.exit_code is None
    assert "rejected: No such image: nope:1" in rejected.detail
    gone = task_end([task("shutdown")])
    assert gone is not None and gone.exit_code is None and "shutdown" in gone.detail
    # the newest task is the one that counts
    assert task_end([task("failed", code=2, created="1"), task("running", created="2")]) is None


def test_verdicts_from_a_recorded_run_of_three_tests() -> None:
    """passed / failed(3) / timed out, observed as the runner observes them."""
    watch = rules.TestsWatch(["ok", "bad", "slow"], started=0.0, timeout=10.0)
    polls = {
        1.0: {"ok": [task("running")], "bad": [task("pending")], "slow": [task("running")]},
        2.0: {
            "ok": [task("complete", code=0)],
            "bad": [task("failed", code=3)],
            "slow": [task("running")],
        },
        11.0: {"slow": [task("running")]},
    }
    for t, seen in polls.items():
        for name in watch.pending():
            watch.observe(look(name, task_end(seen[name]), t))
        due = watch.overdue(t)
        watch.timed_out(due, t)
    assert watch.finished
    found = Verification.of(watch.result(n, "") for n in ("ok", "bad", "slow"))
    assert [t.label for t in found.tests] == ["passed", "failed(3)", "timed out"]
    assert found.status is Status.FAILED and found.outcome == "verification_failed"
    # a test whose task never ran is observed as gone: failed without an exit code
    never = rules.TestsWatch(["smoke"], started=0.0, timeout=10.0)
    never.observe(LookAtTest("smoke", (), 1.0))
    assert never.result("smoke", "").verdict is rules.TestVerdict.FAILED
    assert never.result("smoke", "").exit_code is None


def test_tests_are_left_out_of_the_stack_and_checked_for_what_a_one_shot_honours(
    tmp_path: Path,
) -> None:
    text = (
        "services:\n  api:\n    image: busybox\n"
        "  smoke:\n    image: busybox\n    profiles: [verify]\n    env_file: [t.env]\n"
        "networks:\n  back: {}\n"
    )
    full = load(text)
    model, tests = without_tests(full)
    assert tests == ["smoke"] and list(model["services"]) == ["api"]
    specs = verification_model(full, tests, tmp_path)
    assert list(specs["services"]) == ["smoke"] and "profiles" not in specs["services"]["smoke"]
    assert specs["services"]["smoke"]["env_file"] == [str(tmp_path / "t.env")]
    assert specs["networks"] == {"back": {}}
    assert without_tests(load("services:\n  api:\n    image: busybox\n"))[1] == []
    bad = load(
        "services:\n  smoke:\n    image: busybox\n    profiles: [verify]\n"
        "    volumes: [/data:/data]\n    ports: ['80:80']\n    deploy: {replicas: 2}\n"
    )
    assert unsupported(bad["services"]["smoke"]) == ["ports", "volumes"]
    with pytest.raises(
        StackInvalid, match=r"smoke: ports, volumes, deploy.replicas .*--skip-verify"
    ):
        verification_model(bad, ["smoke"], None)
