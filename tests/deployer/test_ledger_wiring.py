"""`consign deploy`/`down` with the ledger wired in (issues 9 and 10), against the real
engine and a real registry under gunicorn: the records of a deploy, its rollback and a
teardown; delivery after the registry was down; the environment lock between concurrent
deploys; the gate's rejected versions."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
import requests

from consign.exit_codes import ExitCode
from tests.deployer.conftest import GitRegistry
from tests.deployer.helpers import consign, containers, deploy
from tests.e2e.serve import publish
from tests.serving import CONSIGN, ServedRegistry, free_port, serving, stop_process

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedRegistry]:
    """One registry for the module's tests (a start and a stop of gunicorn cost seconds):
    each test deploys its own application to its own environment (``_env()``)."""
    folder = tmp_path_factory.mktemp("ledger-registry")
    with serving(ServedRegistry(folder / "registry.git", folder / "serve.log", workers=2)) as s:
        yield s


@pytest.fixture
def own_registry(tmp_path: Path) -> Iterator[ServedRegistry]:
    """A registry for one test, which may stop and start it."""
    with ServedRegistry(tmp_path / "registry.git", tmp_path / "serve.log", workers=2) as server:
        yield server.start()


def _env() -> str:
    return f"qa-{secrets.token_hex(4)}"


def _fragment(tmp_path: Path, service: str, command: str, extra: str = "") -> Path:
    path = tmp_path / f"{service}-{secrets.token_hex(3)}.yml"
    path.write_text(
        f"""services:
  {service}:
    image: busybox:latest
    stop_grace_period: 1s
    command: ["sh", "-c", "{command}"]
{extra}"""
    )
    return path


def _gated(tmp_path: Path, service: str, gate: Path) -> Path:
    """A service that becomes healthy only once ``gate/ok`` exists: the test decides when
    its deploy ends (no sleeps as synchronisation)."""
    gate.mkdir(exist_ok=True)
    os.chmod(gate, 0o777)
    extra = f"""    volumes: ["{gate}:/gate"]
    healthcheck:
      test: ["CMD", "test", "-f", "/gate/ok"]
      interval: 1s
      retries: 600
"""
    return _fragment(tmp_path, service, "sleep 100000", extra)


def _args(registry: ServedRegistry, project: str, env: str, spool: Path) -> list[str]:
    return [
        "--registry", registry.url, "--project", project, "--environment", env,
        "--by", "tester", "--spool", str(spool), "--stable", "1", "--timeout", "120",
    ]  # fmt: skip


def _get(registry: ServedRegistry, path: str) -> Any:
    r = requests.get(registry.url + path, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def _until(what: str, check: Any, timeout: float = 120) -> None:
    """Poll ``check`` (a condition, not a delay) until it holds."""
    end = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.2)


def _start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONSIGN_")}
    with log.open("wb") as out:
        return subprocess.Popen([*CONSIGN, *args], stdout=out, stderr=subprocess.STDOUT, env=env)


def test_deploy_then_a_failing_deploy_is_recorded_with_its_rollback(
    tmp_path: Path, project: str, registry: ServedRegistry
) -> None:
    env, spool = _env(), tmp_path / "spool"
    build = {"bamboo_planKey": "QA-WEB", "bamboo_buildNumber": "41"}
    publish(registry.url, _fragment(tmp_path, "web", "sleep 100000"), "Led", "R", component="web",
            build=build)  # fmt: skip
    crash = _fragment(tmp_path, "web", "exit 3", "    restart: always\n")
    publish(
        registry.url,
        crash,
        "Led",
        "R",
        component="web",
        build={**build, "bamboo_buildNumber": "42"},
    )
    args = _args(registry, project, env, spool)

    first = deploy(tmp_path, "Led", "R", "1", *args)
    assert first.code == ExitCode.OK, first.output
    assert "reported to the ledger (1 record(s))" in first.output
    second = deploy(tmp_path, "Led", "R", "2", *args)
    assert second.code == ExitCode.FAILED, second.output
    assert second.verdicts()["web"] == "crash-looping"
    assert "reported to the ledger (2 record(s))" in second.output  # the deploy, the rollback

    history = _get(registry, f"/api/environments/{env}/deployments")["deployments"]
    assert [(d["kind"], d["version"], d["outcome"]) for d in history] == [
        ("rollback", 1, "ok"),
        ("deploy", 2, "rolled_back"),
        ("deploy", 1, "ok"),
    ]
    assert history[1]["rolled_back_to"] == 1
    web = {d["kind"] + str(d["version"]): d["services"][0] for d in history}
    assert web["deploy1"]["verdict"] == "healthy" or web["deploy1"]["verdict"] == "running"
    assert web["deploy2"]["verdict"] == "crash-looping"
    assert web["rollback1"]["verdict"] in ("healthy", "running")
    for s in web.values():
        assert s["image"].startswith("sha256:") and s["containers"], s
        assert s["component"] == "web"
    assert web["deploy2"]["build"]["buildNumber"] == "42"
    assert web["rollback1"]["build"]["buildNumber"] == "41"
    assert all(d["by"] == "tester" and d["engine"]["project"] == project for d in history)

    listed = {e["name"]: e for e in _get(registry, "/api/environments")["environments"]}
    (now,) = listed[env]["deployed"]
    running = now["rolled_back_to"] if now["outcome"] == "rolled_back" else now["version"]
    assert running == 1, now
    code, text = consign("status", "--environment", env, "--registry", registry.url)
    assert code == ExitCode.OK, text
    assert "Led/R v1" in text and "crash" not in text, text

    ledger = ["--registry", registry.url, "--environment", env, "--spool", str(spool)]
    down = consign("down", "--project", project, *ledger)
    assert down[0] == ExitCode.OK, down[1]
    assert "reported to the ledger" in down[1]
    last = _get(registry, f"/api/environments/{env}/deployments?limit=1")["deployments"][0]
    assert (last["kind"], last["outcome"], last["version"]) == ("teardown", "torn_down", 1)


def test_a_deploy_while_the_registry_is_down_is_delivered_by_the_next_one(
    tmp_path: Path, prefix: str, projects: list[str], own_registry: ServedRegistry
) -> None:
    registry = own_registry  # stopped and started again here: not the module's
    env1, env2, spool, gate = _env(), _env(), tmp_path / "spool", tmp_path / "gate"
    publish(registry.url, _gated(tmp_path, "slow", gate), "Down", "R", component="slow")
    p1, p2 = f"{prefix}-a", f"{prefix}-b"
    projects += [p1, p2]
    log = tmp_path / "first.log"
    proc = _start(["deploy", "Down", "R", "1", *_args(registry, p1, env1, spool)], log)
    try:
        _until("the first deploy's container", lambda: containers(p1))
        registry.stop()
        (gate / "ok").write_text("")
        assert proc.wait(timeout=300) == ExitCode.OK, log.read_text()
    finally:
        stop_process(proc, 10)
    out = log.read_text()
    assert "1 record(s) kept in the spool for the next report" in out, out
    (kept,) = list(spool.glob("*.json"))

    registry.start()
    second = deploy(tmp_path, "Down", "R", "1", *_args(registry, p2, env2, spool))
    assert second.code == ExitCode.OK, second.output
    assert "reported to the ledger (2 record(s))" in second.output, second.output
    assert not list(spool.glob("*.json"))
    history = _get(registry, f"/api/environments/{env1}/deployments")["deployments"]
    assert [d["id"] for d in history] == [kept.stem]
    assert history[0]["outcome"] == "ok"


def test_one_deploy_per_environment_and_different_environments_in_parallel(
    tmp_path: Path, prefix: str, projects: list[str], registry: ServedRegistry
) -> None:
    env, other, spool, gate = _env(), _env(), tmp_path / "spool", tmp_path / "gate"
    publish(registry.url, _gated(tmp_path, "slow", gate), "Lock", "R", component="slow")
    p1, p2, p3 = f"{prefix}-a", f"{prefix}-b", f"{prefix}-c"
    projects += [p1, p2, p3]
    holder = _args(registry, p1, env, spool)
    holder[holder.index("tester")] = "alice"
    first = _start(["deploy", "Lock", "R", "1", *holder], tmp_path / "first.log")
    waiter = elsewhere = None
    try:
        lock = f"{registry.url}/api/environments/{env}/lock"
        _until("the lock", lambda: requests.get(lock, timeout=10).status_code == 200)

        refused = deploy(tmp_path, "Lock", "R", "1", *_args(registry, p2, env, spool),
                         "--lock-wait", "0")  # fmt: skip
        assert refused.code == ExitCode.LOCKED, refused.output
        assert f"{env} is locked by alice deploying Lock/R v1 (pid " in refused.output
        assert f"pid {first.pid} on host " in refused.output  # the holder's own process
        assert not containers(p2)

        waiting_log = tmp_path / "waiter.log"
        waiter = _start(["deploy", "Lock", "R", "1", *_args(registry, p2, env, spool),
                         "--lock-wait", "240"], waiting_log)  # fmt: skip
        _until("the second deploy to wait", lambda: "waiting up to" in waiting_log.read_text())

        # another environment does not wait for this one (the gate is still closed)
        elsewhere = _start(["deploy", "Lock", "R", "1", *_args(registry, p3, other, spool),
                            "--lock-wait", "0"], tmp_path / "other.log")  # fmt: skip
        _until("the other environment's deploy", lambda: containers(p3))
        assert first.poll() is None and waiter.poll() is None  # all three run at once
        (gate / "ok").write_text("")
        assert elsewhere.wait(timeout=300) == ExitCode.OK, (tmp_path / "other.log").read_text()
        assert first.wait(timeout=300) == ExitCode.OK, (tmp_path / "first.log").read_text()
        assert waiter.wait(timeout=300) == ExitCode.OK, waiting_log.read_text()
    finally:
        stop_process(first, 10)  # every deploy this test started, whatever failed
        stop_process(waiter, 10)
        stop_process(elsewhere, 10)
    assert (
        requests.get(f"{registry.url}/api/environments/{env}/lock", timeout=10).status_code == 404
    )
    history = _get(registry, f"/api/environments/{env}/deployments")["deployments"]
    assert [d["engine"]["project"] for d in history] == [p2, p1]


def test_a_rejected_version_needs_force(
    tmp_path: Path, project: str, registry: ServedRegistry
) -> None:
    env, spool = _env(), tmp_path / "spool"
    publish(registry.url, _fragment(tmp_path, "web", "sleep 100000"), "Gate", "QA", component="web")
    r = requests.post(
        f"{registry.url}/api/applications/Gate/releases/QA/versions/1/rejections",
        json={"by": "qa-lead", "reason": "DEF-1234"},
        timeout=10,
    )
    assert r.status_code == 201, r.text
    args = _args(registry, project, env, spool)
    refused = deploy(tmp_path, "Gate", "QA", "1", *args)
    assert refused.code == ExitCode.REJECTED, refused.output
    assert "version 1 was rejected by qa-lead at " in refused.output
    assert "DEF-1234; use --force" in refused.output
    assert not containers(project)
    nothing = requests.get(f"{registry.url}/api/environments/{env}/deployments", timeout=10)
    assert nothing.status_code == 404, nothing.text  # nothing was recorded either

    forced = deploy(tmp_path, "Gate", "QA", "1", *args, "--force")
    assert forced.code == ExitCode.OK, forced.output
    assert "deploying it because of --force" in forced.output


@pytest.fixture
def second_engine() -> Iterator[str]:
    """A second Docker Engine, started here: its own socket, data root, exec root and pid
    file under /tmp (a short path: a unix socket path is limited to 108 bytes), in a network
    namespace of its own (a dockerd changes host interfaces: with ``--bridge none`` it
    deletes ``docker0``, and its networks would take the main engine's subnets), no
    iptables changes, busybox loaded from the main engine. Stopped at teardown."""
    dockerd, unshare = shutil.which("dockerd"), shutil.which("unshare")
    if dockerd is None or unshare is None or os.geteuid() != 0:
        pytest.skip("a second engine needs dockerd, unshare (util-linux) and root")
    root = Path(tempfile.mkdtemp(prefix="consign-de-", dir="/tmp"))
    host = f"unix://{root}/docker.sock"
    argv = [
        unshare, "--net", dockerd, "--host", host, "--data-root", str(root / "data"),
        "--exec-root", str(root / "exec"), "--pidfile", str(root / "docker.pid"),
        "--bridge", "none", "--iptables=false", "--ip6tables=false",
    ]  # fmt: skip
    log = root / "dockerd.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    try:
        end = time.monotonic() + 60
        while True:
            probe = subprocess.run(
                ["docker", "-H", host, "version", "--format", "{{.Server.Version}}"],
                capture_output=True, timeout=30, check=False,
            )  # fmt: skip
            if probe.returncode == 0:
                break
            if proc.poll() is not None or time.monotonic() > end:
                pytest.skip(f"the second dockerd did not start: {log.read_text()[-800:]}")
            time.sleep(0.3)
        load = subprocess.run(
            f"docker save busybox:latest | docker -H {host} load", shell=True,
            capture_output=True, timeout=120, check=False,
        )  # fmt: skip
        assert load.returncode == 0, load.stderr
        yield host
    finally:
        stop_process(proc, 30)
        shutil.rmtree(root, ignore_errors=True)


def test_two_environments_on_two_engines(
    tmp_path: Path, prefix: str, projects: list[str], registry: ServedRegistry, second_engine: str
) -> None:
    env_a, env_b, spool = _env(), _env(), tmp_path / "spool"
    publish(registry.url, _fragment(tmp_path, "web", "sleep 100000"), "Two", "R", component="web")
    p_a, p_b = f"{prefix}-a", f"{prefix}-b"
    projects.append(p_a)  # the second engine goes away with everything on it
    on_a = deploy(tmp_path, "Two", "R", "1", *_args(registry, p_a, env_a, spool))
    assert on_a.code == ExitCode.OK, on_a.output
    on_b = deploy(tmp_path, "Two", "R", "1", *_args(registry, p_b, env_b, spool),
                  "--host", second_engine)  # fmt: skip
    assert on_b.code == ExitCode.OK, on_b.output

    for env, project, host in ((env_a, p_a, None), (env_b, p_b, second_engine)):
        state = _get(registry, f"/api/environments/{env}")
        (now,) = state["deployed"]
        assert (now["version"], now["outcome"]) == (1, "ok")
        assert now["engine"]["host"] == host and now["engine"]["project"] == project
        (cid,) = now["services"][0]["containers"]
        engine = docker.DockerClient(base_url=host) if host else docker.from_env()
        try:
            running = engine.containers.get(cid)  # on this environment's engine
            assert running.labels["com.docker.compose.project"] == project
        finally:
            engine.close()
    other = docker.from_env()
    try:
        (cid_b,) = _get(registry, f"/api/environments/{env_b}")["deployed"][0]["services"][0][
            "containers"
        ]
        with pytest.raises(docker.errors.NotFound):
            other.containers.get(cid_b)  # not on the main engine
    finally:
        other.close()
    where = _get(registry, "/api/applications/Two/releases/R/versions/1/deployments")
    assert sorted(d["environment"] for d in where["deployments"]) == sorted([env_a, env_b])
    assert sorted(where["verified"]) == sorted([env_a, env_b])
    code, text = consign("status", "--environment", env_b, "--registry", registry.url)
    assert code == ExitCode.OK and "Two/R v1" in text, text


def test_an_unreachable_registry_neither_locks_nor_stops_the_deploy(
    tmp_path: Path, project: str, git_registry: GitRegistry
) -> None:
    """The descriptor from Git, the ledger at a registry nobody serves: one line says the
    environment is not locked, the deploy's exit code is its verdict, the record is kept."""
    text = _fragment(tmp_path, "web", "sleep 100000").read_text()
    git_registry.publish("Off", "R", 1, text)
    spool, dead = tmp_path / "spool", f"http://127.0.0.1:{free_port()}"
    r = deploy(tmp_path, "Off", "R", "1", "--git", str(git_registry.repo), "--registry", dead,
               "--project", project, "--spool", str(spool), "--stable", "1")  # fmt: skip
    assert r.code == ExitCode.OK, r.output
    assert "going on WITHOUT the environment lock" in r.output
    assert f"cannot reach the registry at {dead}: connection refused" in r.output  # words
    assert "HTTPConnectionPool" not in r.output
    assert "1 record(s) kept in the spool for the next report" in r.output
    (kept,) = spool.glob("*.json")
    assert json.loads(kept.read_text())["record"]["outcome"] == "ok"

    local = deploy(tmp_path, "Off", "R", "1", "--git", str(git_registry.repo),
                   "--project", project, "--stable", "1")  # fmt: skip
    assert local.code == ExitCode.OK, local.output
    assert "not locked and not recorded: no --registry to record it in" in local.output


def test_ctrl_c_releases_the_environment_lock(
    tmp_path: Path, project: str, registry: ServedRegistry
) -> None:
    env, spool, gate = _env(), tmp_path / "spool", tmp_path / "gate"
    publish(registry.url, _gated(tmp_path, "slow", gate), "Int", "R", component="slow")
    log = tmp_path / "deploy.log"
    proc = _start(["deploy", "Int", "R", "1", *_args(registry, project, env, spool)], log)
    lock = f"{registry.url}/api/environments/{env}/lock"
    try:
        _until("the lock", lambda: requests.get(lock, timeout=10).status_code == 200)
        _until("the container", lambda: containers(project))
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=120) == ExitCode.INTERRUPTED, log.read_text()
    finally:
        stop_process(proc, 10)
    assert requests.get(lock, timeout=10).status_code == 404, log.read_text()
    engine = docker.from_env()
    try:  # the project's lock on the engine went with it
        with pytest.raises(docker.errors.NotFound):
            engine.api.inspect_container(f"consign-lock.{project}")
    finally:
        engine.close()
