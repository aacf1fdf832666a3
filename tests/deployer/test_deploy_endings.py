"""How deploys end, on the real engine and a real registry under gunicorn (issue 19, items
3 and 4): a dependent that restarts while the service it needs is replaced does not fail
a rollback; one that keeps crashing once it is back does; `status --project`, `status
--environment` and `drift` give one answer for one state."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import docker
import pytest
import requests

from consign.exit_codes import ExitCode
from tests.deployer.conftest import GitRegistry
from tests.deployer.helpers import consign, deploy, ids
from tests.e2e.serve import publish
from tests.serving import CONSIGN, ROOT, ServedRegistry, serving, stop_process

pytestmark = pytest.mark.docker

#: Listens 5 s after it starts (an application warming up): whatever needs it restarts
#: meanwhile, after `up` has returned.
WEB_OK = """    command:
      - sh
      - -c
      - mkdir -p /www; echo ok > /www/index.html; sleep 5; exec httpd -f -p 8080 -h /www
    healthcheck:
      test: ["CMD", "sh", "-c", "nc -w 1 127.0.0.1 8080 </dev/null"]
      interval: 1s
      retries: 30
"""
WEB_BROKEN = """    restart: always
    command: ["sh", "-c", "echo 'FATAL: broken build'; exit 1"]
"""
#: Needs web (no depends_on: it is needed because the deploy replaces it): waits for web
#: the first time it starts, then exits 3 whenever it cannot reach web, restarted by the
#: engine. (The static busybox resolves names with its own nslookup only.)
WORKER_NEEDS_WEB = """    restart: always
    command:
      - sh
      - -c
      - |
        at() { nslookup web 127.0.0.11 2>/dev/null | sed -n 's/^Address: //p' | tail -1; }
        reach() { ip=$$(at) && [ -n "$$ip" ] && nc -w 2 "$$ip" 8080 </dev/null; }
        if [ ! -f /started ]; then until reach; do sleep 0.5; done; touch /started; fi
        while reach; do sleep 0.5; done
        echo web away; exit 3
"""
WORKER_CRASHES = """    restart: always
    command: ["sh", "-c", "sleep 1; echo FATAL; exit 3"]
"""


def fragment(folder: Path, service: str, text: str) -> Path:
    path = folder / f"{service}-{secrets.token_hex(3)}.yml"
    head = f"services:\n  {service}:\n    image: busybox:latest\n    stop_grace_period: 1s\n"
    path.write_text(head + text)
    return path


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedRegistry]:
    """One registry for the module's tests (a start and a stop of gunicorn cost seconds):
    each test publishes its own application (``app()``) to its own environment."""
    folder = tmp_path_factory.mktemp("endings-registry")
    with serving(ServedRegistry(folder / "registry.git", folder / "serve.log", workers=2)) as s:
        yield s


def app(name: str) -> str:
    """An application name no other test of the shared registry uses."""
    return f"{name}-{secrets.token_hex(3)}"


def drift(registry: ServedRegistry, env: str, spool: Path) -> subprocess.CompletedProcess[str]:
    argv = [*CONSIGN, "drift", "--environment", env, "--registry", registry.url, "--no-record"]
    environ = {**os.environ, "CONSIGN_SPOOL": str(spool)}
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120, env=environ)


def test_a_rollback_whose_unchanged_dependent_restarts_while_web_is_replaced_is_ok_and_the_three_views_agree(  # noqa: E501
    tmp_path: Path, project: str, registry: ServedRegistry
) -> None:
    env, spool = f"qa-{secrets.token_hex(4)}", tmp_path / "spool"
    # two components: v1 = web + worker; v2 changes web only (the worker is left as it is)
    publish(registry.url, fragment(tmp_path, "web", WEB_OK), "Shop", "Dev", component="web")
    worker = fragment(tmp_path, "worker", WORKER_NEEDS_WEB)
    publish(registry.url, worker, "Shop", "Dev", component="worker")
    publish(registry.url, fragment(tmp_path, "web", WEB_BROKEN), "Shop", "Dev", component="web")
    args = [
        "--registry", registry.url, "--project", project, "--environment", env,
        "--spool", str(spool), "--stable", "3", "--timeout", "120",
    ]  # fmt: skip

    first = deploy(tmp_path, "Shop", "Dev", "2", *args)
    assert first.code == ExitCode.OK, first.output
    worker_id = ids(project)[f"{project}-worker-1"]
    second = deploy(tmp_path, "Shop", "Dev", "3", *args)
    assert second.code == ExitCode.FAILED, second.output
    assert second.verdicts()["web"] == "crash-looping", second.output
    assert ids(project)[f"{project}-worker-1"] == worker_id  # unchanged: kept by Compose
    # the worker lost web during the failed deploy and restarted: not the rollback's failure
    assert second.verdicts("rollback") == {"web": "healthy", "worker": "running"}, second.output
    assert "rollback" in second.output and "OK" in second.output.split("rollback")[-1]

    local = consign("status", "--project", project)
    ledger = consign("status", "--environment", env, "--registry", registry.url)
    compared = drift(registry, env, spool)
    assert (local[0], ledger[0], compared.returncode) == (0, 0, 0), (
        local[1] + ledger[1] + compared.stdout + compared.stderr
    )
    assert "Shop/Dev v2" in local[1] and "Shop/Dev v2" in ledger[1]
    assert "no drift" in compared.stdout


def test_a_dependent_that_keeps_crashing_once_web_is_back_is_crash_looping(
    tmp_path: Path, project: str
) -> None:
    first = fragment(tmp_path, "web", WEB_OK)
    args = ("--project", project, "--stable", "3", "--timeout", "120")
    assert deploy(tmp_path, "--file", str(first), *args).code == ExitCode.OK
    # web changed (so replaced) and a worker that crashes whether web is there or not
    path = tmp_path / "d.yml"
    web = fragment(tmp_path, "web", WEB_OK + "    environment: {BUILD: '2'}\n")
    worker = fragment(tmp_path, "worker", WORKER_CRASHES)
    path.write_text(web.read_text() + worker.read_text().removeprefix("services:\n"))
    r = deploy(tmp_path, "--file", str(path), *args)
    assert r.code == ExitCode.FAILED, r.output
    assert r.verdicts() == {"web": "healthy", "worker": "crash-looping"}, r.output
    verdicts = r.report["verdicts"]
    assert verdicts["worker"]["exit_code"] == 3
    # judged on what it did once web was back, not before
    assert verdicts["worker"]["seconds"] >= verdicts["web"]["seconds"], verdicts


def restart_count(name: str) -> int:
    client = docker.from_env()
    try:
        return int(client.api.inspect_container(name).get("RestartCount") or 0)
    finally:
        client.close()


def test_a_deploy_that_starts_a_stopped_dependency_waits_for_it_before_judging_its_dependent(
    tmp_path: Path, project: str, registry: ServedRegistry
) -> None:
    """The tester's trial (issue 19): web stopped by hand, the worker (unless-stopped,
    depends_on web healthy) crash-looping for want of it; deploying the same version again
    starts web: the worker is held until web is back, then runs; the three views agree."""
    env, spool = f"qa-{secrets.token_hex(4)}", tmp_path / "spool"
    worker = WORKER_NEEDS_WEB.replace("restart: always", "restart: unless-stopped")
    worker += "    depends_on:\n      web:\n        condition: service_healthy\n"
    publish(registry.url, fragment(tmp_path, "web", WEB_OK), "Trial", "Dev", component="web")
    publish(registry.url, fragment(tmp_path, "worker", worker), "Trial", "Dev", component="worker")
    args = [
        "--registry", registry.url, "--project", project, "--environment", env,
        "--spool", str(spool), "--stable", "3", "--timeout", "120",
    ]  # fmt: skip
    assert (first := deploy(tmp_path, "Trial", "Dev", "2", *args)).code == ExitCode.OK, first.output
    subprocess.run(["docker", "stop", "-t", "1", f"{project}-web-1"], check=True, timeout=60,
                   capture_output=True)  # fmt: skip
    until("the worker crash-looping", lambda: restart_count(f"{project}-worker-1") >= 3)

    again = deploy(tmp_path, "Trial", "Dev", "2", *args)
    assert again.code == ExitCode.OK, again.output
    assert again.verdicts() == {"web": "healthy", "worker": "running"}, again.output
    local = consign("status", "--project", project)
    ledger = consign("status", "--environment", env, "--registry", registry.url)
    compared = drift(registry, env, spool)
    assert (local[0], ledger[0], compared.returncode) == (0, 0, 0), (
        local[1] + ledger[1] + compared.stdout + compared.stderr
    )


def test_a_crash_looping_container_is_drift_as_status_says(
    tmp_path: Path, project: str, registry: ServedRegistry
) -> None:
    """Trial item 4 (issue 19): web stopped by hand, the worker crash-loops for want of it:
    `status --project` and `drift` both name the worker crash-looping."""
    env, spool = f"qa-{secrets.token_hex(4)}", tmp_path / "spool"
    publish(registry.url, fragment(tmp_path, "web", WEB_OK), "Loop", "Dev", component="web")
    worker = fragment(tmp_path, "worker", WORKER_NEEDS_WEB)
    publish(registry.url, worker, "Loop", "Dev", component="worker")
    args = [
        "--registry", registry.url, "--project", project, "--environment", env,
        "--spool", str(spool), "--stable", "2", "--timeout", "120",
    ]  # fmt: skip
    assert (first := deploy(tmp_path, "Loop", "Dev", "2", *args)).code == ExitCode.OK, first.output
    subprocess.run(["docker", "stop", "-t", "1", f"{project}-web-1"], check=True, timeout=60,
                   capture_output=True)  # fmt: skip
    until("the worker crash-looping", lambda: restart_count(f"{project}-worker-1") >= 3)

    code, text = consign("status", "--project", project)
    assert code == ExitCode.FAILED and "crash-looping" in text, text
    compared = drift(registry, env, spool)
    assert compared.returncode == ExitCode.FAILED, compared.stdout + compared.stderr
    assert "worker: crash-looping " in compared.stdout, compared.stdout
    assert "web: stopped " in compared.stdout, compared.stdout


def gated(folder: Path, gate: Path) -> Path:
    """``slow`` becomes healthy once ``gate/ok`` exists (the test decides when); ``after``
    waits for it, so Compose has created ``after`` and not started it while it waits."""
    gate.mkdir(exist_ok=True)
    os.chmod(gate, 0o777)
    path = folder / f"gated-{secrets.token_hex(3)}.yml"
    path.write_text(f"""services:
  slow:
    image: busybox:latest
    stop_grace_period: 1s
    command: ["sleep", "100000"]
    volumes: ["{gate}:/gate"]
    healthcheck:
      test: ["CMD", "test", "-f", "/gate/ok"]
      interval: 1s
      retries: 600
  after:
    image: busybox:latest
    stop_grace_period: 1s
    command: ["sleep", "100000"]
    depends_on:
      slow:
        condition: service_healthy
""")  # fmt: skip
    return path


def states(project: str) -> dict[str, str]:
    """service -> the state of its container(s), as the engine lists them now (one list,
    no inspect: a container may go between the two while Compose works)."""
    client = docker.from_env()
    try:
        rows = client.api.containers(
            all=True, filters={"label": f"com.docker.compose.project={project}"}
        )
    finally:
        client.close()
    found: dict[str, set[str]] = {}
    for row in rows:
        service = (row.get("Labels") or {}).get("com.docker.compose.service", "")
        found.setdefault(service, set()).add(str(row.get("State")))
    return {service: ",".join(sorted(s)) for service, s in found.items()}


def until(what: str, check: Callable[[], bool], timeout: float = 120) -> None:
    """Poll ``check`` (a condition, not a delay) until it holds."""
    end = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.2)


def history(registry: ServedRegistry, env: str) -> list[dict[str, Any]]:
    r = requests.get(f"{registry.url}/api/environments/{env}/deployments", timeout=10)
    assert r.status_code == 200, r.text
    found: list[dict[str, Any]] = r.json()["deployments"]
    return found


def start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONSIGN_")}
    with log.open("wb") as out:
        return subprocess.Popen([*CONSIGN, *args], stdout=out, stderr=subprocess.STDOUT, env=env)


def ledger_args(registry: ServedRegistry, project: str, env: str, spool: Path) -> list[str]:
    return [
        "--registry", registry.url, "--project", project, "--environment", env,
        "--by", "tester", "--spool", str(spool), "--stable", "1", "--timeout", "120",
    ]  # fmt: skip


def waiting_for_slow(project: str) -> bool:
    now = states(project)
    return now.get("slow") == "running" and now.get("after") == "created"


def lock_container(project: str) -> list[str]:
    client = docker.from_env()
    try:
        listed = client.containers.list(all=True, filters={"name": project}, ignore_removed=True)
        return [c.name for c in listed if c.name == f"consign-lock.{project}"]
    finally:
        client.close()


@pytest.mark.parametrize(
    ("sig", "code"),
    [(signal.SIGINT, ExitCode.INTERRUPTED), (signal.SIGTERM, ExitCode.TERMINATED)],
    ids=["ctrl-c", "sigterm"],
)
def test_ctrl_c_or_sigterm_during_up_is_recorded_as_interrupted_and_leaves_no_created_container(
    tmp_path: Path, project: str, registry: ServedRegistry, sig: signal.Signals, code: ExitCode
) -> None:
    """SIGTERM (what `docker stop` sends the Rundeck deployer's container) is handled as
    Ctrl-C is (trial item 6), and exits 143."""
    env, spool, gate = f"qa-{secrets.token_hex(4)}", tmp_path / "spool", tmp_path / "gate"
    name = app("Int")
    publish(registry.url, gated(tmp_path, gate), name, "R", component="app")
    log = tmp_path / "deploy.log"
    proc = start(["deploy", name, "R", "1", *ledger_args(registry, project, env, spool)], log)
    try:
        until("after created, waiting for slow", lambda: waiting_for_slow(project))
        proc.send_signal(sig)
        assert proc.wait(timeout=120) == code, log.read_text()
    finally:
        stop_process(proc, 10)
    output = log.read_text()
    # both locks released: the registry's and the project's on the engine
    lock = requests.get(f"{registry.url}/api/environments/{env}/lock", timeout=10)
    assert lock.status_code == 404, lock.text
    assert lock_container(project) == [], output
    assert "container(s) this deploy created but never started: " in output, output
    assert f"{project}-after-1" in output
    assert states(project) == {"slow": "running"}  # no `created` leftover
    [rec] = history(registry, env)
    assert (rec["kind"], rec["version"], rec["outcome"]) == ("deploy", 1, "interrupted")
    left = {s["service"]: s for s in rec["services"]}
    # the verdict vocabulary, not the engine's states: slow runs, its healthcheck not yet ok
    assert set(left) == {"slow"} and left["slow"]["verdict"] == "pending", left
    assert left["slow"]["containers"] and left["slow"]["image"].startswith("sha256:")

    code, text = consign("status", "--project", project)
    assert code == ExitCode.FAILED and "deploy interrupted" in text, text
    said = "SIGTERM" if sig == signal.SIGTERM else "Ctrl-C"
    assert f"Z {said}: " in text, text
    code, text = consign("status", "--environment", env, "--registry", registry.url)
    assert code == ExitCode.FAILED and "deploy interrupted" in text, text


def expire_lock(registry: ServedRegistry, env: str) -> None:
    """As the killed deployer's lock would after its ttl (taking over a stale lock at once
    is the lock's business, not this test's)."""
    path = registry.repo / "consign-locks" / f"{env}.json"
    lock = json.loads(path.read_text())
    past = datetime.now(UTC) - timedelta(minutes=1)
    lock["expires"] = past.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    path.write_text(json.dumps(lock))


def test_a_killed_deployer_is_recorded_as_interrupted_by_the_next_deploy(
    tmp_path: Path, project: str, registry: ServedRegistry
) -> None:
    env, spool, gate = f"qa-{secrets.token_hex(4)}", tmp_path / "spool", tmp_path / "gate"
    name = app("Int")
    publish(registry.url, gated(tmp_path, gate), name, "R", component="app")
    args = ledger_args(registry, project, env, spool)
    proc = start(["deploy", name, "R", "1", *args], tmp_path / "killed.log")
    try:
        until("after created, waiting for slow", lambda: waiting_for_slow(project))
        killed_at = datetime.now(UTC)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        stop_process(proc, 10)
    pid = proc.pid
    assert history(registry, env) == []  # a killed deployer says nothing itself
    code, text = consign("status", "--project", project)  # `after` shows pending, and why
    assert code == ExitCode.FAILED, text
    assert f"deploy interrupted: its deployer (pid {proc.pid} on " in text and "is gone" in text
    expire_lock(registry, env)
    (gate / "ok").touch()  # the next deploy can succeed

    again = deploy(tmp_path, name, "R", "1", *args)
    assert again.code == ExitCode.OK, again.output
    assert f"(pid {pid} on " in again.output and "its deployer was killed" in again.output
    assert "an earlier deploy (interrupted or killed) created but never started: " in again.output
    assert f"{project}-after-1" in again.output
    [ok, killed] = history(registry, env)
    assert (killed["kind"], killed["version"], killed["outcome"]) == ("deploy", 1, "interrupted")
    assert killed["by"] == "tester"
    # ended when the engine last saw it change the project, not when it was found
    finished = datetime.fromisoformat(killed["finished"].replace("Z", "+00:00"))
    assert killed["started"] <= killed["finished"], killed
    assert finished <= killed_at + timedelta(seconds=0.1), (killed, killed_at)
    left = {s["service"]: s["verdict"] for s in killed["services"]}
    assert left == {"slow": "pending", "after": "not created"}, killed["services"]
    assert (ok["outcome"], ok["version"]) == ("ok", 1)
    code, text = consign("status", "--project", project)
    assert code == ExitCode.OK and "interrupted" not in text, text


def test_a_failed_redeploy_of_the_running_version_says_there_is_no_rollback(
    tmp_path: Path, project: str, git_registry: GitRegistry
) -> None:
    """Trial (minor): v1 ran; stopped by hand, its worker now crashes when started again
    (a file it checks appeared); redeploying v1 fails, and says why nothing rolls back."""
    gate = tmp_path / "gate"
    gate.mkdir()
    os.chmod(gate, 0o777)
    git_registry.publish("Same", "R", 1, f"""services:
  worker:
    image: busybox:latest
    stop_grace_period: 1s
    restart: always
    volumes: ["{gate}:/gate"]
    command: ["sh", "-c", "test -f /gate/bad && exit 3; exec sleep 100000"]
""")  # fmt: skip
    args = ("Same", "R", "1", "--git", str(git_registry.repo), "--project", project,
            "--stable", "2", "--timeout", "60")  # fmt: skip
    assert (first := deploy(tmp_path, *args)).code == ExitCode.OK, first.output
    subprocess.run(["docker", "stop", "-t", "1", f"{project}-worker-1"], check=True, timeout=60,
                   capture_output=True)  # fmt: skip
    (gate / "bad").touch()
    again = deploy(tmp_path, *args)
    assert again.code == ExitCode.FAILED, again.output
    assert again.verdicts() == {"worker": "crash-looping"}, again.output
    assert (
        "deploy failed; no rollback: Same/R v1 is the version that was running before this "
        "deploy, so there is nothing older to return to"
    ) in again.output
