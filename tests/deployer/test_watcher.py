"""The watch (deployer.watch.watch_up) against real containers that `compose up` starts
beside it (busybox only, never pulls).

Every project is ``dw-<random>`` and is taken down with ``down -v`` afterwards. Failure
tests assert that the verdict came within a few seconds of the failure (measured on the
engine's clock from ``State.FinishedAt`` / the last health probe), not after the timeout.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

import deployer.watch as watch_module
from consign.process import Completed, run, start
from deployer.engine.fields import engine_offset, parse_stamp
from deployer.verdicts import ServiceVerdict, Verdict
from deployer.watch import watch_up
from deployer.watch.feed import EventFeed, event_action, event_exit_code
from deployer.watch.logs import service_logs

HEALTH = """
    healthcheck:
      test: ["CMD-SHELL", "{test}"]
      interval: 1s
      timeout: 1s
      retries: 2"""
WEB = """
  web:
    image: busybox:latest
    command: httpd -f -p 8080""" + HEALTH.format(
    test="wget -q -O- http://127.0.0.1:8080/ >/dev/null 2>&1 || test -d /"
)


class Project:
    def __init__(self, tmp: Path) -> None:
        self.name = f"dw-{secrets.token_hex(4)}"
        self.file = tmp / "docker-compose.yml"

    def up(self, body: str) -> None:
        self.file.write_text("services:" + body + "\n")
        run(["docker", "compose", "-p", self.name, "-f", str(self.file), "up", "-d"], timeout=120)

    def watch(
        self, client: docker.DockerClient, body: str, services: list[str], **kw: Any
    ) -> dict[str, ServiceVerdict]:
        """Write ``body``, run `compose up -d` under the watch; the verdicts."""
        self.file.write_text("services:" + body + "\n")
        argv = ["docker", "compose", "-p", self.name, "-f", str(self.file), "up", "-d"]

        def failed(done: Completed) -> dict[str, str]:
            raise AssertionError(done.stderr)

        result = watch_up(client, self.name, services, up=lambda: start(argv), failed=failed, **kw)
        return result.verdicts

    def down(self) -> None:
        argv = ["docker", "compose", "-p", self.name, "-f", str(self.file), "down", "-v", "-t", "0"]
        run(argv, check=False, timeout=120)


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    p = Project(tmp_path)
    try:
        yield p
    finally:
        p.down()


@pytest.fixture
def client() -> Iterator[docker.DockerClient]:
    c = docker.from_env()
    try:
        yield c
    finally:
        c.close()


class FirstFailure:
    """An ``on_update`` callback noting, on the engine's clock, when each service failed."""

    def __init__(self, client: docker.DockerClient) -> None:
        self.client = client
        self.offset = engine_offset(client)
        self.seen: dict[str, float] = {}

    def __call__(self, verdicts: dict[str, ServiceVerdict]) -> None:
        now = time.time() + self.offset
        for service, v in verdicts.items():
            if v.verdict.failed:
                self.seen.setdefault(service, now)

    def latency(self, project: str, service: str) -> float:
        """Seconds from the exit / the probe that made it unhealthy to the verdict."""
        labels = [f"com.docker.compose.project={project}", f"com.docker.compose.service={service}"]
        (c,) = self.client.api.containers(all=True, filters={"label": labels})
        st: dict[str, Any] = self.client.api.inspect_container(c["Id"])["State"]
        seen = self.seen[service]
        if st.get("Health"):
            ends = [parse_stamp(p["End"]) or 0.0 for p in st["Health"]["Log"]]
            when = max(e for e in ends if e <= seen + 0.1)
        else:
            when = parse_stamp(st["FinishedAt"]) or 0.0
        return seen - when


@pytest.mark.docker
def test_success_mix_healthy_completed_running(
    client: docker.DockerClient, project: Project
) -> None:
    body = (
        WEB
        + """
  data:
    image: busybox:latest
    command: 'true'
    volumes: [/data]
  app:
    image: busybox:latest
    command: sleep 3600
    volumes_from: [data]
  plain:
    image: busybox:latest
    command: sleep 3600
"""
    )
    updates: list[dict[str, ServiceVerdict]] = []
    started = time.monotonic()
    got = project.watch(
        client,
        body,
        ["web", "data", "app", "plain"],
        timeout=60,
        stable=2.0,
        on_update=updates.append,
    )
    elapsed = time.monotonic() - started
    assert {s: v.verdict for s, v in got.items()} == {
        "web": Verdict.HEALTHY,
        "data": Verdict.COMPLETED,
        "app": Verdict.RUNNING,
        "plain": Verdict.RUNNING,
    }
    assert got["data"].exit_code == 0
    assert elapsed < 20
    assert all(v.seconds <= elapsed for v in got.values())
    assert updates and updates[-1] == got
    assert any(not v.verdict.final for v in updates[0].values()) or len(updates) == 1


@pytest.mark.docker
def test_unhealthy_is_reported_at_once(client: docker.DockerClient, project: Project) -> None:
    body = (
        WEB
        + """
  sick:
    image: busybox:latest
    command: httpd -f -p 8081"""
        + HEALTH.format(test="echo database unreachable; exit 1")
    )
    started = time.monotonic()
    first = FirstFailure(client)
    got = project.watch(client, body, ["web", "sick"], timeout=120, stable=2.0, on_update=first)
    lag = first.latency(project.name, "sick")
    assert time.monotonic() - started < 30
    assert got["sick"].verdict is Verdict.UNHEALTHY
    assert "database unreachable" in got["sick"].detail
    assert -0.2 <= lag < 5.0, f"unhealthy reported {lag:.2f}s after the last probe"


@pytest.mark.docker
def test_crash_looping_is_not_running(client: docker.DockerClient, project: Project) -> None:
    body = """
  loop:
    image: busybox:latest
    command: sh -c 'echo starting up; sleep 1; echo giving up; exit 1'
    restart: always
"""
    started = time.monotonic()
    got = project.watch(client, body, ["loop"], timeout=120, stable=30.0)
    assert time.monotonic() - started < 15
    assert (got["loop"].verdict, got["loop"].exit_code) == (Verdict.CRASH_LOOPING, 1)
    logs = service_logs(client, project.name, "loop", tail=50)
    assert "giving up" in logs and "starting up" in logs
    assert service_logs(client, project.name, "no-such-service") == ""


@pytest.mark.docker
def test_running_right_now_after_a_restart_is_crash_looping(
    client: docker.DockerClient, project: Project
) -> None:
    since = time.time() + engine_offset(client)
    project.up(BODY_FLAKY)
    labels = [f"com.docker.compose.project={project.name}"]
    deadline = time.monotonic() + 30
    while True:  # wait until it is up again after its first restart
        (c,) = client.api.containers(all=True, filters={"label": labels})
        data = client.api.inspect_container(c["Id"])
        if data["RestartCount"] >= 1 and data["State"]["Status"] == "running":
            break
        assert time.monotonic() < deadline, data["State"]
        time.sleep(0.1)
    started = time.monotonic()
    got = project.watch(client, BODY_FLAKY, ["flaky"], timeout=120, stable=30.0, since=since)
    assert time.monotonic() - started < 2.0
    assert got["flaky"].verdict is Verdict.CRASH_LOOPING
    assert "restarted 1 time(s), now running" in got["flaky"].detail


@pytest.mark.docker
def test_exit_is_reported_within_a_second_or_so(
    client: docker.DockerClient, project: Project
) -> None:
    first = FirstFailure(client)
    got = project.watch(client, JOB, ["job"], timeout=120, stable=30.0, on_update=first)
    lag = first.latency(project.name, "job")
    assert (got["job"].verdict, got["job"].exit_code) == (Verdict.EXITED, 4)
    assert -0.2 <= lag < 5.0, f"exit reported {lag:.2f}s after it happened"


BODY_FLAKY = """
  flaky:
    image: busybox:latest
    command: sh -c 'sleep 3; exit 5'
    restart: unless-stopped
"""
JOB = """
  job:
    image: busybox:latest
    command: sh -c 'sleep 2; exit 4'
"""


class LostFeed(EventFeed):
    """A real event stream that ends at once, as when the engine connection drops."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._stream.close()
        self._thread.join(timeout=5)


@pytest.mark.docker
def test_lost_event_stream_falls_back_to_polling(
    client: docker.DockerClient, project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(watch_module, "EventFeed", LostFeed)  # the feed watch_up opens
    started = time.monotonic()
    got = project.watch(client, JOB, ["job"], timeout=60, stable=30.0)
    assert (got["job"].verdict, got["job"].exit_code) == (Verdict.EXITED, 4)
    assert time.monotonic() - started < 10


@pytest.mark.docker
def test_timeout(client: docker.DockerClient, project: Project) -> None:
    body = """
  slow:
    image: busybox:latest
    command: sleep 3600
    healthcheck:
      test: ["CMD", "true"]
      interval: 300s
      start_period: 300s
"""
    started = time.monotonic()
    got = project.watch(client, body, ["slow"], timeout=3.0, stable=1.0)
    assert 3.0 <= time.monotonic() - started < 15
    assert got["slow"].verdict is Verdict.TIMED_OUT and "starting" in got["slow"].detail


@pytest.mark.docker
def test_replicas(client: docker.DockerClient, project: Project) -> None:
    body = (
        WEB.replace("  web:\n", "  web:\n    scale: 2\n", 1)
        + "\n  one:\n    image: busybox:latest\n    command: 'true'\n"
    )
    got = project.watch(client, body, ["web", "one"], timeout=60, stable=1.0, replicas={"web": 2})
    assert got["web"].verdict is Verdict.HEALTHY and len(got["web"].containers) == 2
    assert got["one"].verdict is Verdict.COMPLETED
    assert service_logs(client, project.name, "web").count("== ") == 2  # one header each


def test_event_helpers() -> None:
    die = {"Action": "die", "Actor": {"ID": "x", "Attributes": {"exitCode": "137"}}}
    assert event_action(die) == "die" and event_exit_code(die) == 137
    health = {"Action": "health_status: unhealthy", "Actor": {"ID": "x", "Attributes": {}}}
    assert event_action(health) == "health_status" and event_exit_code(health) is None
