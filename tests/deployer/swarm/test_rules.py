"""The Swarm verdict rules on service and task documents shaped as the Engine sends them
(fields as seen from Docker Engine 20.10: see deployer/swarm/rules.py)."""

from __future__ import annotations

from typing import Any

from deployer.swarm.rules import ServiceJudge, ServicePoll, desired_slots, same_spec
from deployer.verdicts import Verdict

SINCE = 1_000_000.0  # the manager's clock when the deploy began (epoch seconds)
STAMP = "1970-01-12T13:46:{:02d}.5Z"  # SINCE is 1970-01-12T13:46:40Z


def at(second: int) -> str:
    """An engine timestamp `second` seconds into minute 13:46 (40 is SINCE)."""
    return STAMP.format(second)


def template(**extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"ContainerSpec": {"Image": "busybox", "Args": ["sleep", "1"]}}
    spec.update(extra)
    return spec


def service(replicas: int | None = 1, tmpl: dict[str, Any] | None = None, **extra: Any) -> dict:
    mode: dict[str, Any] = (
        {"Global": {}} if replicas is None else {"Replicated": {"Replicas": replicas}}
    )
    doc = {
        "ID": "svc",
        "Spec": {"Name": "st_web", "TaskTemplate": tmpl or template(), "Mode": mode},
        "ServiceStatus": {"DesiredTasks": 2, "RunningTasks": 0},
    }
    doc.update(extra)
    return doc


def task(
    state: str, *, slot: int = 1, created: int = 41, tmpl: dict | None = None, **status: Any
) -> dict:
    desired = "shutdown" if state in ("complete", "failed", "rejected") else "running"
    return {
        "ID": f"t{slot}{state}{created}",
        "Slot": slot,
        "NodeID": "node1",
        "CreatedAt": at(created),
        "DesiredState": desired,
        "Spec": tmpl or template(),
        "Status": {"State": state, "Timestamp": at(created), **status},
    }


def judge(*snaps: tuple[dict, list[dict], float], stable: float = 1.0, timeout: float = 100.0):
    j = ServiceJudge("web", since=SINCE, started=0.0, stable=stable, timeout=timeout)
    sv = None
    for doc, tasks, now in snaps:
        sv = j.observe(ServicePoll(doc, tasks, SINCE + now), now)
    assert sv is not None
    return sv


def test_same_spec_ignores_defaults_only_the_service_carries() -> None:
    assert same_spec(template(), {**template(), "Runtime": "container"})
    assert not same_spec(template(), template(ContainerSpec={"Image": "other"}))


def test_desired_slots_replicated_and_global() -> None:
    assert desired_slots(service(3)) == 3
    assert desired_slots(service(None)) == 2  # from ServiceStatus.DesiredTasks


def test_running_with_healthcheck_is_healthy_at_once() -> None:
    tmpl = template(ContainerSpec={"Image": "b", "Healthcheck": {"Test": ["CMD", "true"]}})
    sv = judge(
        (
            service(2, tmpl),
            [task("running", slot=1, tmpl=tmpl), task("running", slot=2, tmpl=tmpl)],
            3,
        )
    )
    assert sv.verdict == Verdict.HEALTHY and sv.detail == "2 of 2 running"


def test_running_without_healthcheck_waits_for_stable_and_all_slots() -> None:
    one = [task("running", slot=1)]
    assert judge((service(2), one, 10)).verdict == Verdict.PENDING  # slot 2 missing
    both = [task("running", slot=1), task("running", slot=2, created=45)]
    # slot 2 started 5.5 s after SINCE: at 5.8 s it has not run `stable` (1 s) yet
    assert judge((service(2), both, 5.8)).verdict == Verdict.PENDING
    assert judge((service(2), both, 7)).verdict == Verdict.RUNNING


def test_global_service_needs_a_task_on_every_node() -> None:
    tasks = [task("running", slot=0)]
    tasks[0].pop("Slot")
    assert judge((service(None), tasks, 10)).verdict == Verdict.PENDING  # 1 of 2 nodes


def test_one_shot_completes_with_policy_none_but_exits_under_any() -> None:
    none = template(RestartPolicy={"Condition": "none"})
    sv = judge((service(1, none), [task("complete", tmpl=none)], 2))
    assert sv.verdict == Verdict.COMPLETED
    sv = judge((service(1), [task("complete")], 2))  # default condition: any
    assert sv.verdict == Verdict.EXITED and sv.exit_code == 0


def test_rejected_task_is_not_created_with_the_engines_words() -> None:
    t = task("rejected", Err="No such image: nope:latest")
    sv = judge((service(), [t], 1))
    assert sv.verdict == Verdict.NOT_CREATED and '"No such image: nope:latest"' in sv.detail


def test_failed_task_exit_code_unhealthy_and_crash_loop() -> None:
    code3 = {"ContainerStatus": {"ExitCode": 3}, "Err": "task: non-zero exit (3)"}
    sv = judge((service(), [task("failed", **code3)], 1))
    assert sv.verdict == Verdict.CRASH_LOOPING and sv.exit_code == 3
    none = template(RestartPolicy={"Condition": "none"})
    sv = judge((service(1, none), [task("failed", tmpl=none, **code3)], 1))
    assert sv.verdict == Verdict.EXITED and sv.exit_code == 3
    sick = {
        "ContainerStatus": {"ExitCode": 137},
        "Err": "task: non-zero exit (137): dockerexec: unhealthy container",
    }
    assert judge((service(), [task("failed", **sick)], 1)).verdict == Verdict.UNHEALTHY
    start = {"Err": "starting container failed: invalid mount config"}
    assert judge((service(), [task("failed", **start)], 1)).verdict == Verdict.NOT_CREATED


def test_failures_before_the_deploy_and_of_other_specs_do_not_count() -> None:
    old = task("failed", created=30, Err="task: non-zero exit (1)")  # before SINCE
    other = task(
        "failed", tmpl=template(ContainerSpec={"Image": "old"}), Err="task: non-zero exit (1)"
    )
    sv = judge((service(), [old, other, task("running", created=42)], 5))
    assert sv.verdict == Verdict.RUNNING


def test_failure_is_sticky() -> None:
    failed = task("failed", Err="task: non-zero exit (1)", ContainerStatus={"ExitCode": 1})
    j = ServiceJudge("web", since=SINCE, started=0.0, stable=1.0, timeout=100.0)
    j.observe(ServicePoll(service(), [failed], SINCE + 2), 2)
    later = j.observe(ServicePoll(service(), [task("running", created=43)], SINCE + 9), 9)
    assert later.verdict == Verdict.CRASH_LOOPING


def test_update_in_progress_holds_success_and_a_rolled_back_update_fails() -> None:
    updating = {"State": "updating", "StartedAt": at(41)}
    sv = judge((service(UpdateStatus=updating), [task("running", created=42)], 9))
    assert sv.verdict == Verdict.PENDING and "monitoring" in sv.detail
    rolled = {"State": "rollback_completed", "StartedAt": at(41), "Message": "rollback completed"}
    sv = judge((service(UpdateStatus=rolled), [task("running", created=42)], 9))
    assert sv.verdict.failed and "rolled the update back" in sv.detail
    paused = {"State": "paused", "StartedAt": at(41), "Message": "update paused due to failure"}
    sv = judge((service(UpdateStatus=paused), [task("running", created=42)], 9))
    assert sv.verdict.failed and "paused" in sv.detail
    earlier = {"State": "rollback_completed", "StartedAt": at(20)}  # a previous deploy's
    sv = judge((service(UpdateStatus=earlier), [task("running", created=42)], 9))
    assert sv.verdict == Verdict.RUNNING


def test_a_completed_one_shot_is_ok_though_swarm_paused_its_update() -> None:
    none = template(RestartPolicy={"Condition": "none"})
    paused = {
        "State": "paused",
        "StartedAt": at(41),
        "Message": "update paused due to failure or early termination of task x",
    }
    doc = service(1, none, UpdateStatus=paused)
    assert judge((doc, [task("complete", tmpl=none, created=42)], 9)).verdict == Verdict.COMPLETED
    updating = {"State": "updating", "StartedAt": at(41)}
    doc = service(1, none, UpdateStatus=updating)
    assert judge((doc, [task("complete", tmpl=none, created=42)], 9)).verdict == Verdict.COMPLETED
    rolled = {"State": "rollback_completed", "StartedAt": at(41)}
    doc = service(1, none, UpdateStatus=rolled)
    assert judge((doc, [task("complete", tmpl=none, created=42)], 9)).verdict.failed


def test_unschedulable_after_grace_and_timeout() -> None:
    pending = task(
        "pending", Err="no suitable node (scheduling constraints not satisfied on 1 node)"
    )
    j = ServiceJudge("web", since=SINCE, started=0.0, stable=1.0, timeout=100.0, grace=2.0)
    assert j.observe(ServicePoll(service(), [pending], SINCE + 1), 1).verdict == Verdict.PENDING
    sv = j.observe(ServicePoll(service(), [pending], SINCE + 3.5), 3.5)
    assert sv.verdict == Verdict.NOT_CREATED and "no suitable node" in sv.detail
    sv = judge((service(), [task("preparing")], 101), timeout=100.0)
    assert sv.verdict == Verdict.TIMED_OUT and "1 preparing of 1" in sv.detail


def judge_rollback(doc: dict, tasks: list[dict], now: float) -> Any:
    j = ServiceJudge("web", since=SINCE, started=0.0, stable=1.0, timeout=100.0, rollback=True)
    return j.observe(ServicePoll(doc, tasks, SINCE + now), now)


def test_swarms_own_rollback_is_judged_as_a_deploy_of_the_spec_it_went_back_to() -> None:
    old, new = template(), template(ContainerSpec={"Image": "busybox", "Args": ["exit", "3"]})
    broken = task("failed", slot=1, created=42, tmpl=new, Err="task: non-zero exit (3)")
    back = task("running", slot=1, created=44, tmpl=old)
    # Spec is the old one again; the rollback still runs: success is held back
    started = {"State": "rollback_started", "StartedAt": at(41), "Message": "rolling back"}
    sv = judge_rollback(service(1, old, UpdateStatus=started), [broken, back], 9)
    assert sv.verdict == Verdict.PENDING, sv
    completed = {**started, "State": "rollback_completed"}
    sv = judge_rollback(service(1, old, UpdateStatus=completed), [broken, back], 9)
    assert sv.verdict == Verdict.RUNNING, sv  # the new spec's failure is the deploy's, not its
    # a task of the old spec failing after the deploy began is the rollback's failure
    again = task("failed", slot=1, created=45, tmpl=old, Err="task: non-zero exit (1)")
    sv = judge_rollback(service(1, old, UpdateStatus=completed), [broken, again], 9)
    assert sv.verdict.failed, sv
    paused = {**started, "State": "rollback_paused", "Message": "rollback paused"}
    sv = judge_rollback(service(1, old, UpdateStatus=paused), [broken], 9)
    assert sv.verdict.failed and "paused its rollback" in sv.detail, sv


def test_which_failed_services_swarm_rolls_back() -> None:
    from deployer.swarm.autorollback import rolling_back
    from deployer.verdicts import ServiceVerdict

    def sv(verdict: Verdict) -> ServiceVerdict:
        return ServiceVerdict("x", verdict, None, "", 0.0, [])

    rollback = {"UpdateConfig": {"FailureAction": "rollback"}}
    docs = {
        "a": {"Spec": rollback, "UpdateStatus": {"State": "updating", "StartedAt": at(41)}},
        "b": {"Spec": {}, "UpdateStatus": {"State": "rollback_started", "StartedAt": at(41)}},
        "c": {"Spec": {}, "UpdateStatus": {"State": "updating", "StartedAt": at(41)}},  # pause
        "d": {
            "Spec": rollback,
            "UpdateStatus": {"State": "rollback_completed", "StartedAt": at(9)},
        },
        "e": {"Spec": rollback, "UpdateStatus": {"State": "updating", "StartedAt": at(41)}},
    }
    verdicts = {
        "a": sv(Verdict.CRASH_LOOPING),
        "b": sv(Verdict.EXITED),
        "c": sv(Verdict.CRASH_LOOPING),
        "d": sv(Verdict.UNHEALTHY),  # an earlier deploy's rollback
        "e": sv(Verdict.RUNNING),  # not failed
    }
    assert rolling_back(verdicts, docs, SINCE) == ["a", "b"]
