"""The locks of issue 19 against a real registry under gunicorn (its real keep-alive) and
the real engine: waiting never becomes skipping, --require-lock, one project under one
environment whatever each deploy names, stranded locks taken over or broken with
`consign unlock` (recorded in the ledger). The wait's rules on recorded answers:
test_lock_rules.py."""

from __future__ import annotations

import contextlib
import json
import signal
from pathlib import Path
from typing import Any

import docker
import pytest
import requests

from consign.exit_codes import ExitCode
from deployer.ledger import holder, projectenv, projectlock
from tests.deployer.conftest import GitRegistry
from tests.deployer.helpers import consign, containers, deploy
from tests.deployer.test_ledger_wiring import _args, _env, _fragment, _gated, _get, _start, _until
from tests.e2e.serve import publish
from tests.serving import ServedRegistry, free_port, serving, stop_process

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One registry for the module's tests (a start and a stop of gunicorn cost seconds):
    each test deploys its own application to its own environment (``_env()``)."""
    folder = tmp_path_factory.mktemp("lock-registry")
    with serving(ServedRegistry(folder / "registry.git", folder / "serve.log", workers=2)) as s:
        yield s


def _take(registry: ServedRegistry, env: str, who: dict[str, Any], ttl: int = 600) -> str:
    """Take ``env``'s lock as someone else would (the API, as in the issue)."""
    r = requests.post(
        f"{registry.url}/api/environments/{env}/lock",
        json={"holder": {"by": "someone-else", **who}, "ttl": ttl},
        timeout=10,
    )
    assert r.status_code == 201, r.text
    lock_id: str = r.json()["id"]
    return lock_id


def _lock(registry: ServedRegistry, env: str) -> requests.Response:
    return requests.get(f"{registry.url}/api/environments/{env}/lock", timeout=10)


def test_twenty_deploys_waiting_across_many_polls_none_goes_ahead(
    tmp_path: Path, prefix: str, projects: list[str], registry: ServedRegistry
) -> None:
    """The issue's case: the environment held elsewhere, deploys polling every 2 s, the
    interval after which gunicorn closes a kept-alive connection: every one exits 8."""
    env, spool = _env(), tmp_path / "spool"
    publish(registry.url, _fragment(tmp_path, "web", "sleep 100000"), "Wait", "R")
    _take(registry, env, {"host": "elsewhere", "pid": 1})
    names = [f"{prefix}-{i}" for i in range(20)]
    projects += names
    runs = [
        _start(
            [
                "deploy",
                "Wait",
                "R",
                "1",
                *_args(registry, name, env, spool),
                "--lock-wait",
                "9",
                "--lock-poll",
                "2",
            ],
            tmp_path / f"{name}.log",
        )
        for name in names
    ]
    try:
        codes = [r.wait(timeout=300) for r in runs]
    finally:
        for r in runs:
            stop_process(r, 10)
    logs = {name: (tmp_path / f"{name}.log").read_text() for name in names}
    assert codes == [ExitCode.LOCKED] * 20, logs
    for name, log in logs.items():
        assert "WITHOUT" not in log and "is locked by someone-else" in log, log
        assert not containers(name), log
    assert _lock(registry, env).json()["holder"]["by"] == "someone-else"
    assert _get(registry, f"/api/environments/{env}/deployments")["deployments"] == []


def test_registry_down_from_the_start_one_loud_line_or_exit_8_with_require_lock(
    tmp_path: Path, prefix: str, projects: list[str], git_registry: GitRegistry
) -> None:
    git_registry.publish("Off", "R", 1, _fragment(tmp_path, "web", "sleep 100000").read_text())
    dead = f"http://127.0.0.1:{free_port()}"
    base = ["Off", "R", "1", "--git", str(git_registry.repo), "--registry", dead,
            "--spool", str(tmp_path / "spool"), "--stable", "1", "--lock-wait", "5"]  # fmt: skip
    required, going = f"{prefix}-req", f"{prefix}-on"
    projects += [required, going]

    refused = deploy(tmp_path, *base, "--project", required, "--require-lock")
    assert refused.code == ExitCode.LOCKED, refused.output
    assert "--require-lock: not going on without the environment lock" in refused.output
    assert not containers(required)

    went = deploy(tmp_path, *base, "--project", going)
    assert went.code == ExitCode.OK, went.output
    loud = [line for line in went.output.splitlines() if "WITHOUT the environment lock" in line]
    assert len(loud) == 1 and loud[0].startswith("ledger: WARNING: cannot lock"), went.output

    env = {"CONSIGN_REQUIRE_LOCK": "1"}  # the Rundeck jobs' way
    code, output = consign("deploy", *base, "--project", required, env=env)
    assert code == ExitCode.LOCKED and not containers(required), output


def test_two_names_for_one_project_started_together_one_runs_the_other_is_refused(
    tmp_path: Path, project: str, registry: ServedRegistry
) -> None:
    first_env, second_env, spool, gate = _env(), _env(), tmp_path / "spool", tmp_path / "gate"
    publish(registry.url, _gated(tmp_path, "slow", gate), "Two", "R", component="slow")
    runs = {
        env: _start(
            [
                "deploy",
                "Two",
                "R",
                "1",
                *_args(registry, project, env, spool),
                "--lock-wait",
                "240",
                "--lock-poll",
                "0.5",
            ],
            tmp_path / f"{env}.log",
        )
        for env in (first_env, second_env)
    }
    logs = {env: tmp_path / f"{env}.log" for env in runs}
    try:
        _until("one to wait for the other", lambda: any(
            f"project {project} on this engine is held by tester" in p.read_text()
            for p in logs.values()))  # fmt: skip
        (gate / "ok").write_text("")
        codes = {env: run.wait(timeout=300) for env, run in runs.items()}
    finally:
        for run in runs.values():
            stop_process(run, 10)
    texts = {env: p.read_text() for env, p in logs.items()}
    assert sorted(codes.values()) == [ExitCode.OK, ExitCode.USAGE], texts
    ran = next(env for env, code in codes.items() if code == ExitCode.OK)
    refused = next(env for env in codes if env != ran)
    assert (
        f"{project} on this engine is recorded as environment {ran}, not {refused}"
        in (texts[refused])
    )
    # the ledger holds the project under one environment only
    assert [d["engine"]["project"] for d in _get(registry, f"/api/environments/{ran}/deployments")[
        "deployments"]] == [project]  # fmt: skip
    assert requests.get(f"{registry.url}/api/environments/{refused}", timeout=10).status_code == 404
    client = docker.from_env()
    try:
        assert projectenv.read(client, project) == ran
        with pytest.raises(docker.errors.NotFound):  # the project's lock is gone
            client.api.inspect_container(projectlock.container_name(project))
    finally:
        client.close()

    # without --environment the recorded one is used; --move-environment moves it
    plain = [a for a in _args(registry, project, ran, spool) if a not in ("--environment", ran)]
    again = deploy(tmp_path, "Two", "R", "1", *plain)
    assert again.code == ExitCode.OK and f"recorded as environment {ran}; using it" in again.output
    moved = deploy(tmp_path, "Two", "R", "1", *_args(registry, project, refused, spool),
                   "--move-environment")  # fmt: skip
    assert moved.code == ExitCode.OK, moved.output
    assert f"moving {project} from environment {ran} to {refused}" in moved.output
    left = _get(registry, f"/api/environments/{ran}")
    assert left["deployed"] == []  # one project, one environment: it left `ran`
    last = _get(registry, f"/api/environments/{ran}/deployments")["deployments"][0]
    assert (last["kind"], last["outcome"], last["engine"]["moved_to"]) == (
        "teardown", "moved", refused
    )  # fmt: skip
    assert [d["version"] for d in _get(registry, f"/api/environments/{refused}")["deployed"]] == [1]
    client = docker.from_env()
    try:
        assert projectenv.read(client, project) == refused
    finally:
        client.close()
    down = ["down", "--project", project, "--registry", registry.url, "--spool", str(spool),
            "--by", "tester"]  # fmt: skip
    code, output = consign(*down, "--environment", ran)  # not where it is now
    assert code == ExitCode.USAGE and f"recorded as environment {refused}, not {ran}" in output
    assert containers(project)
    code, output = consign(*down)
    assert code == ExitCode.OK and f"removed project {project}" in output, output
    history = _get(registry, f"/api/environments/{refused}/deployments")["deployments"]
    assert history[0]["kind"] == "teardown"  # recorded under the environment it is in


def test_a_killed_deployers_locks_are_taken_over_on_its_host(
    tmp_path: Path, project: str, registry: ServedRegistry
) -> None:
    """A real deployer SIGKILLed while it holds both locks (the issue's "registry down,
    the lock stayed, the next person waited 300 s"): the next deploy on this host takes
    both over at once and says so."""
    env, spool, gate = _env(), tmp_path / "spool", tmp_path / "gate"
    publish(registry.url, _gated(tmp_path, "slow", gate), "Dead", "R", component="slow")
    log = tmp_path / "killed.log"
    killed = _start(["deploy", "Dead", "R", "1", *_args(registry, project, env, spool)], log)
    try:
        _until("the lock", lambda: _lock(registry, env).status_code == 200)
        shown = _lock(registry, env).json()
        assert shown["id"] and shown["holder"]["pid"] == killed.pid  # the holder, not "id": null
        assert shown["holder"]["host"] == holder.identity()["host"]
        assert f"pid {killed.pid} on host" in shown["message"]
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=30)
    finally:
        stop_process(killed, 10)
    assert _lock(registry, env).status_code == 200  # stranded: ttl 120 s
    (gate / "ok").write_text("")
    again = deploy(tmp_path, "Dead", "R", "1", *_args(registry, project, env, spool),
                   "--lock-wait", "5")  # fmt: skip
    assert again.code == ExitCode.OK, again.output
    gone = f"its holder (pid {killed.pid} on host"
    assert f"took over the lock of project {project}: {gone}" in again.output
    assert f"took over the lock of {env}: {gone}" in again.output
    assert again.seconds < 60
    assert _lock(registry, env).status_code == 404


def test_consign_unlock_breaks_a_lock_and_the_ledger_records_who_and_why(
    tmp_path: Path, project: str, registry: ServedRegistry
) -> None:
    env = _env()
    publish(registry.url, _fragment(tmp_path, "web", "sleep 100000"), "Brk", "R")
    lock_id = _take(registry, env, {"application": "Brk", "release": "R", "version": "1",
                                    "host": "gone-host", "pid": 4242})  # fmt: skip
    assert _lock(registry, env).json()["id"] == lock_id
    base = ["unlock", "--environment", env, "--registry", registry.url]

    code, output = consign(*base, "--reason", "   ")
    assert code == ExitCode.USAGE and _lock(registry, env).status_code == 200, output
    code, output = consign(*base, "--reason", "x", "--lock-id", "not-that-one")
    assert code == ExitCode.LOCKED and _lock(registry, env).status_code == 200, output

    env_vars = {"CONSIGN_UNLOCK_REASON": "host gone-host was reinstalled", "CONSIGN_BY": "ops"}
    code, output = consign(*base, "--lock-id", lock_id, env=env_vars)
    assert code == ExitCode.OK, output
    assert "broke the lock: " in output and "pid 4242 on host gone-host" in output
    assert _lock(registry, env).status_code == 404
    (record,) = _get(registry, f"/api/environments/{env}/deployments")["deployments"]
    assert (record["kind"], record["outcome"], record["by"]) == ("unlock", "broken", "ops")
    assert record["reason"] == "host gone-host was reinstalled"
    assert record["lock"]["id"] == lock_id and record["lock"]["holder"]["pid"] == 4242
    assert (record["application"], record["release"], record["version"]) == ("Brk", "R", 1)
    assert f"recorded in the ledger of {env} (record {record['id']})" in output
    # an event: it never says what runs
    assert _get(registry, f"/api/environments/{env}")["deployed"] == []

    code, output = consign(*base, env=env_vars)  # a retry: nothing left to break
    assert code == ExitCode.OK and f"{env} is not locked; nothing to break" in output

    # the engine's project lock left on another host: waited for, then removed by unlock
    client = docker.from_env()
    try:
        stranded = projectlock.ProjectAcquisition(
            client, project, {"by": "bob", "host": "other-host", "pid": 4242}, wait=0
        ).run()
        r = deploy(tmp_path, "Brk", "R", "1", *_args(registry, project, env, tmp_path / "s"),
                   "--lock-wait", "1", "--lock-poll", "0.2")  # fmt: skip
        assert r.code == ExitCode.LOCKED and "held by bob" in r.output, r.output
        assert f"consign unlock --project {project}" in r.output and not containers(project)
        code, output = consign("unlock", "--project", project, "--reason", "bob's VM died")
        assert code == ExitCode.OK and f"removed the lock of project {project}" in output
        with pytest.raises(docker.errors.NotFound):
            client.api.inspect_container(stranded.container)
    finally:
        client.close()


def test_lock_answers_show_the_holder_and_its_id(registry: ServedRegistry) -> None:
    env = _env()
    lock_id = _take(registry, env, {"host": "h1", "pid": 7, "container": "c" * 64})
    shown = _lock(registry, env).json()
    assert shown["id"] == lock_id and shown["holder"]["container"] == "c" * 64
    assert "(pid 7 on host h1 in container cccccccccccc)" in shown["message"]
    assert _get(registry, f"/api/environments/{env}")["lock"]["id"] == lock_id
    # replace: only the very lock named, atomically
    url = f"{registry.url}/api/environments/{env}/lock"
    wrong = requests.post(url, json={"holder": {"by": "x"}, "replace": "nope"}, timeout=10)
    assert wrong.status_code == 409 and wrong.json()["lock"]["id"] == lock_id
    took = requests.post(url, json={"holder": {"by": "x"}, "replace": lock_id}, timeout=10)
    assert took.status_code == 201 and took.json()["took_over"]["id"] == lock_id
    bad = requests.post(f"{url}/break", json={"by": "ops"}, timeout=10)
    assert bad.status_code == 400 and bad.json()["field"] == "reason"
    broke = requests.post(f"{url}/break", json={"by": "ops", "reason": "test"}, timeout=10)
    assert broke.status_code == 200 and broke.json()["record"] is None
    assert "names no application" in broke.json()["not_recorded"]
    assert json.loads(broke.text)["broken"]["holder"]["by"] == "x"


def test_a_holder_container_on_this_engine_is_asked_of_the_engine(prefix: str) -> None:
    """Rundeck's deployer runs in a new container each time: a waiter in another container
    on the same engine asks the engine whether the holder's container still runs."""
    client = docker.from_env()
    engine_id = client.api.info()["ID"]
    me = {"host": "waiter", "pid": 1, "container": "a" * 64, "engine": engine_id}
    alive = holder.Liveness(me, client)
    made = client.containers.create(
        "busybox:latest", ["sleep", "3600"], name=f"{prefix}-holder", stop_signal="SIGKILL"
    )
    try:
        held_by = {"host": made.id[:12], "pid": 1, "container": made.id, "engine": engine_id}
        assert alive(held_by)  # created, never started: runs nothing
        made.start()
        assert not alive(held_by)
        assert not alive({**held_by, "engine": "another-engine"})  # cannot know
        assert not holder.Liveness(me)(held_by)  # no engine to ask
        made.kill()
        assert alive(held_by)
        made.remove(force=True)
        assert alive(held_by)  # `docker run --rm`: gone with its container
    finally:
        with contextlib.suppress(docker.errors.NotFound):
            made.remove(force=True)
        client.close()
    assert holder.engine_of(docker.from_env(), None) is None


def test_the_project_lock_imports_its_empty_image_and_excludes_a_second(prefix: str) -> None:
    """On an engine without the lock image (a unique name here, not the shared one)."""
    client = docker.from_env()
    image = (f"consign-lock-test-{prefix}", "1")
    try:
        first = projectlock.ProjectAcquisition(client, prefix, {"by": "a"}, wait=0, image=image)
        held = first.run()
        made = client.images.get(":".join(image))
        assert made.attrs["Size"] == 0  # one empty layer: nothing to pull, nothing stored
        labels = client.api.inspect_container(held.container)["Config"]["Labels"]
        assert labels["io.consignment.lock-of"] == prefix
        assert json.loads(labels["io.consignment.lock-holder"])["by"] == "a"
        second = projectlock.ProjectAcquisition(client, prefix, {"by": "b"}, wait=0, image=image)
        with pytest.raises(projectlock.ProjectLocked, match="held by a"):
            second.run()
        held.release()
        second.run().release()
        held.release()  # twice: nothing left to remove
        assert projectlock.holder_of(client, prefix) is None
    finally:
        with contextlib.suppress(docker.errors.NotFound):
            client.api.remove_container(projectlock.container_name(prefix), force=True)
        with contextlib.suppress(docker.errors.NotFound):
            client.images.remove(":".join(image))
        client.close()
