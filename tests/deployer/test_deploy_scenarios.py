"""Issue 3's deploy scenarios on the real engine: exact verdicts, exit codes, and
failures reported within a few seconds (generous bound) while --timeout is 120 s."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from consign.exit_codes import ExitCode
from tests.deployer.conftest import GitRegistry, scenario
from tests.deployer.helpers import containers, deploy, ids, recorded
from tests.serving import free_port

pytestmark = pytest.mark.docker

FAST = ("--timeout", "120", "--stable", "1")
#: A failure must be reported this soon (seconds) though the timeout is 120 s.
PROMPT = 15.0


def write(tmp_path: Path, name: str, **subs: object) -> str:
    path = tmp_path / name
    path.write_text(scenario(name, **subs))
    return str(path)


def test_healthy_web_data_container_and_plain_service_succeed(tmp_path: Path, project: str) -> None:
    path = write(tmp_path, "healthy.yml", port=free_port())
    r = deploy(tmp_path, "TLO GE", "Milestone", "7", "--file", path, "--project", project, *FAST)
    assert r.code == ExitCode.OK, r.output
    assert r.verdicts() == {"data": "completed", "web": "healthy", "worker": "running"}
    assert r.report["exit_code"] == 0 and r.report["rollback"] is None
    assert r.report["source"] == "file" and r.report["location"] == str(Path(path).resolve())
    found = containers(project)
    assert len(found) == 3
    at = recorded(project)  # the project record says what the project is at
    assert (at.application, at.release, at.version, at.source) == (
        "TLO GE",
        "Milestone",
        "7",
        "file",
    )
    assert not any("io.consignment.version" in c.labels for c in found)
    assert "completed" in r.output and "healthy" in r.output


def test_never_healthy_fails_fast_shows_logs_and_rolls_back(
    tmp_path: Path, project: str, git_registry: GitRegistry
) -> None:
    port = free_port()
    good = git_registry.publish("TLO GE", "Milestone", 1, scenario("healthy.yml", port=port))
    git_registry.publish("TLO GE", "Milestone", 2, scenario("unhealthy.yml", port=port))
    src = ("--git", str(git_registry.repo), "--project", project, *FAST)
    first = deploy(tmp_path, "TLO GE", "Milestone", "1", *src)
    assert first.code == ExitCode.OK, first.output
    assert first.report["commit"] == good

    r = deploy(tmp_path, "TLO GE", "Milestone", "latest", *src)
    assert r.code == ExitCode.FAILED, r.output
    assert r.report["version"] == "2"
    assert r.verdicts()["web"] == "unhealthy"
    assert r.report["verdicts"]["web"]["seconds"] < PROMPT
    assert "de-unhealthy-marker" in r.report["logs"]["web"]
    assert "de-unhealthy-marker" in r.output  # the last log lines are printed too
    assert r.report["exit_code"] == ExitCode.FAILED
    # one headline per phase: the deploy's FAILED with its cause, the rollback's OK
    assert r.output.count("FAILED") == 1, r.output
    assert f"deploy {project}: TLO GE/Milestone v2 FAILED: web unhealthy\n" in r.output
    assert f"rollback {project}: TLO GE/Milestone v1 OK\n" in r.output
    assert r.output.count("--- last log lines of web") == 1
    back = r.report["rollback"]
    assert back is not None and back["version"] == "1" and back["ok"] is True
    assert r.verdicts("rollback") == {"data": "completed", "web": "healthy", "worker": "running"}
    assert (recorded(project).version, recorded(project).commit) == ("1", good)


def test_a_failure_the_rollback_keeps_is_printed_once_per_phase_and_its_logs_once(
    tmp_path: Path, project: str, git_registry: GitRegistry
) -> None:
    """v2 changes only the worker: the unhealthy web is left alone by the deploy and by the
    rollback to v1, whose report then reads the same log tail: only new lines are printed."""
    port = free_port()
    v1 = scenario("unhealthy.yml", port=port)
    git_registry.publish("TLO GE", "Milestone", 1, v1)
    git_registry.publish("TLO GE", "Milestone", 2, v1.replace("worker up", "worker v2 up"))
    src = ("--git", str(git_registry.repo), "--project", project, *FAST)
    first = deploy(tmp_path, "TLO GE", "Milestone", "1", *src)
    assert first.code == ExitCode.FAILED and first.report["rollback"] is None, first.output
    assert first.output.count("FAILED") == 1, first.output

    r = deploy(tmp_path, "TLO GE", "Milestone", "2", *src)
    assert r.code == ExitCode.FAILED, r.output
    assert r.verdicts("rollback")["web"] == "unhealthy"  # the rollback did not mend it
    report = r.output[r.output.index(f"deploy {project}: TLO GE/Milestone v2 FAILED") :]
    assert report.count("FAILED") == 2, report  # once per phase
    assert report.count("FAILED: web unhealthy\n") == 2, report
    assert report.count("de-unhealthy-marker") == 1, report  # the tail's lines once
    assert report.count("--- last log lines of web ---") == 1, report
    rollback = report[report.index(f"rollback {project}: TLO GE/Milestone v1 FAILED") :]
    again = [line for line in rollback.splitlines() if line.startswith("--- last log lines")]
    assert len(again) == 1, rollback
    assert again[0] == "--- last log lines of web: the same as above ---" or again[0].startswith(
        "--- last log lines of web (after the "
    ), rollback


def test_restart_always_exit_1_is_crash_looping(tmp_path: Path, project: str) -> None:
    path = write(tmp_path, "crashloop.yml")
    r = deploy(tmp_path, "--file", path, "--project", project, *FAST)
    assert r.code == ExitCode.FAILED, r.output
    assert r.verdicts()["loop"] == "crash-looping"
    assert r.report["verdicts"]["loop"]["seconds"] < PROMPT
    assert "de-crash-marker" in r.report["logs"]["loop"]


def test_missing_image_is_not_created_with_composes_error(tmp_path: Path, project: str) -> None:
    path = write(tmp_path, "missing-image.yml", prefix=project)
    r = deploy(tmp_path, "--file", path, "--project", project, *FAST)
    assert r.code == ExitCode.FAILED, r.output
    # compose pulls before it creates anything, so a failed pull leaves every service
    # uncreated; the report says which service's error stopped it.
    assert r.verdicts() == {"ghost": "not created", "steady": "not created"}
    ghost = r.report["verdicts"]["ghost"]["detail"]
    assert ghost.startswith(f"image de-no-such-image-{project}:1 is not on the host"), ghost
    assert "could not be pulled" in ghost and "Error" in ghost, ghost
    assert "compose stopped at the error of ghost" in r.report["verdicts"]["steady"]["detail"]
    assert r.seconds < PROMPT
    assert r.report["error"] and "compose up failed" in r.report["error"]


def test_host_port_taken_is_not_created(tmp_path: Path, project: str) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        path = write(tmp_path, "port-taken.yml", port=port)
        r = deploy(tmp_path, "--file", path, "--project", project, *FAST)
    assert r.code == ExitCode.FAILED, r.output
    # the failure is acted on at once: steady shows what it was doing at that moment
    assert r.verdicts()["web"] == "not created"
    assert r.verdicts()["steady"] in ("pending", "running")
    detail = r.report["verdicts"]["web"]["detail"]
    assert "address already in use" in detail or "already allocated" in detail, detail
    assert r.seconds < PROMPT


def test_refers_to_missing_service_is_refused_and_nothing_starts(
    tmp_path: Path, project: str
) -> None:
    path = write(tmp_path, "dangling.yml")
    r = deploy(tmp_path, "--file", path, "--project", project, *FAST)
    assert r.code == ExitCode.INVALID_DESCRIPTOR, r.output
    assert "missing-data" in r.output
    assert r.report["exit_code"] == ExitCode.INVALID_DESCRIPTOR
    assert containers(project) == []


def test_deploying_the_same_version_again_changes_nothing(
    tmp_path: Path, project: str, git_registry: GitRegistry
) -> None:
    git_registry.publish("App", "R1", 1, scenario("healthy.yml", port=free_port()))
    args = ("App", "R1", "1", "--git", str(git_registry.repo), "--project", project, *FAST)
    assert deploy(tmp_path, *args).code == ExitCode.OK
    before = ids(project)
    again = deploy(tmp_path, *args)
    assert again.code == ExitCode.OK, again.output
    assert again.verdicts() == {"data": "completed", "web": "healthy", "worker": "running"}
    assert ids(project) == before
    assert again.report["rollback"] is None


def test_unsettled_service_times_out_with_its_own_exit_code(tmp_path: Path, project: str) -> None:
    path = write(tmp_path, "slow.yml")  # healthy only after ~4 s
    r = deploy(tmp_path, "--file", path, "--project", project, "--timeout", "1.5")
    assert r.code == ExitCode.TIMEOUT, r.output
    assert r.verdicts() == {"web": "timed out"}
    assert r.report["exit_code"] == ExitCode.TIMEOUT


def test_failed_upgrade_does_not_count_the_old_containers(
    tmp_path: Path, project: str, git_registry: GitRegistry
) -> None:
    """v2 adds services, one with an image that cannot be pulled: Compose stops before
    creating anything. The services v2 did not change keep their v1 containers, which are
    exactly what v2 asks for (judged after the sync point); v1 is rolled back to, and the
    rollback recreates nothing."""
    port = free_port()
    healthy = scenario("healthy.yml", port=port)
    ghost = scenario("missing-image.yml", prefix=project).split("services:\n", 1)[1]
    git_registry.publish("App", "Up", 1, healthy)
    git_registry.publish("App", "Up", 2, healthy + ghost)
    src = ("--git", str(git_registry.repo), "--project", project, *FAST)
    assert deploy(tmp_path, "App", "Up", "1", *src).code == ExitCode.OK
    before = ids(project)

    r = deploy(tmp_path, "App", "Up", "2", *src)
    assert r.code == ExitCode.FAILED, r.output
    assert r.verdicts() == {
        "data": "completed",
        "web": "healthy",
        "worker": "running",
        "ghost": "not created",
        "steady": "not created",
    }
    assert r.verdicts("rollback") == {"data": "completed", "web": "healthy", "worker": "running"}
    assert ids(project) == before  # the rollback found v1 as it was
    assert recorded(project).version == "1"


def test_replicas_are_all_judged_and_scale_zero_is_not_run(tmp_path: Path, project: str) -> None:
    path = write(tmp_path, "scaled.yml")
    r = deploy(tmp_path, "TLO GE", "Milestone", "1", "--file", path, "--project", project, *FAST)
    assert r.code == ExitCode.OK, r.output
    assert r.verdicts() == {"web": "healthy"}
    assert len(r.report["verdicts"]["web"]["containers"]) == 2
    assert sorted(c.labels["com.docker.compose.service"] for c in containers(project)) == [
        "web",
        "web",
    ]
