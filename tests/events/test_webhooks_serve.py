"""Events through a real `consign serve` (gunicorn) to real local receivers: each event
arrives once, signed, as a CloudEvent the SDK reads; Slack text names the failed service;
a receiver answering 500 gets it after; a reload with a bad file keeps the last good one;
the registry SIGKILLed with deliveries queued delivers them after its restart; a bad file
refuses the start."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from cloudevents.core.bindings.http import HTTPMessage, from_http_event

from registry.http.app import create_app
from tests.events.receiver import Received, Receiver
from tests.registry.conftest import b64
from tests.registry.test_app_ledger import report
from tests.serving import ServedRegistry

ADMIN = {"Authorization": "Bearer admin-token"}
FAST = {"CONSIGN_WEBHOOKS_BACKOFF": "200ms", "CONSIGN_WEBHOOKS_MAX_BACKOFF": "1s"}


class FailingFor:
    """A receiver's answer: 500 (or ``status``) until ``seconds`` after its first request,
    or until :meth:`open` when ``seconds`` is None; then 200."""

    def __init__(self, seconds: float | None, status: int = 500) -> None:
        self.seconds, self.status = seconds, status
        self.first: float | None = None
        self.opened = threading.Event()

    def open(self) -> None:
        self.opened.set()

    def __call__(self, request: Received) -> tuple[int, float]:
        self.first = self.first if self.first is not None else request.at
        if self.seconds is not None and request.at - self.first >= self.seconds:
            return 200, 0.0
        return (200, 0.0) if self.opened.is_set() else (self.status, 0.0)


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    started = [Receiver().start() for _ in range(3)]
    yield started
    for r in started:
        r.stop()


def publish(url: str, image: str) -> requests.Response:
    body = {
        "fragment": b64(f"services:\n  web:\n    image: busybox:{image}\n"),
        "applications": ["TLO GE"],
        "releases": ["Milestone"],
    }
    response = requests.put(f"{url}/fragment", json=body, timeout=30)
    assert response.status_code == 201, response.text
    return response


def post_record(url: str, body: dict[str, Any], created: bool = True) -> None:
    response = requests.post(f"{url}/api/environments/qa-1/deployments", json=body, timeout=30)
    assert response.status_code == (201 if created else 200), response.text


def signed(secret: bytes, r: Received) -> bool:
    expected = "sha256=" + hmac.new(secret, r.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, r.headers.get("X-Consign-Signature-256", ""))


def write_hooks(path: Path, text: str) -> None:
    path.write_text(text)
    stamp = time.time_ns()  # a new mtime even within the file system's granularity
    os.utime(path, ns=(stamp, stamp))


def test_events_arrive_once_signed_and_survive_a_failing_receiver_and_a_bad_reload(
    tmp_path: Path, receivers: list[Receiver]
) -> None:
    everything, chat, flaky = receivers
    flaky.answer = FailingFor(3.0)
    (tmp_path / "secret").write_text("s3cret\n")
    hooks = tmp_path / "hooks.yaml"
    good = f"""
allow_private: true
subscriptions:
  - name: everything
    url: {everything.url}
    events: ["*"]
    secret_file: {tmp_path / "secret"}
  - name: qa-chat
    url: {chat.url}
    format: slack
    events: [deployment.recorded]
    filters: {{environment: [qa-*], outcome: [failed, rolled_back, timed_out]}}
  - name: flaky
    url: {flaky.url}
    events: [version.rejected]
"""
    write_hooks(hooks, good)
    env = {
        "CONSIGN_WEBHOOKS_FILE": str(hooks),
        "CONSIGN_ADMIN_TOKENS": "ops:admin-token",
        "CONSIGN_PUBLIC_URL": "https://registry.example.com",
        **FAST,
    }
    with ServedRegistry(tmp_path / "repo.git", tmp_path / "serve.log", env, workers=2) as served:
        served.start()
        url = served.url
        publish(url, "1")
        publish(url, "2")
        failed = report(
            2,
            outcome="rolled_back",
            rolled_back_to=1,
            services=[
                {"service": "web", "verdict": "exited", "detail": "exit 1", "containers": []},
                {"service": "db", "verdict": "healthy", "detail": "", "containers": []},
            ],
        )
        post_record(url, failed)
        post_record(url, failed, created=False)  # a retry: no second event
        post_record(url, report(1, kind="rollback"))
        post_record(url, report(1, kind="drift", outcome="drift"))
        rejected = requests.post(
            f"{url}/api/applications/TLO%20GE/releases/Milestone/versions/2/rejections",
            json={"by": "qa", "reason": "login broken"},
            timeout=30,
        )
        assert rejected.status_code == 201, rejected.text

        got = everything.wait_for(lambda rs: len(rs) >= 6, timeout=15)
        kinds = Counter(r.headers["X-Consign-Event"] for r in got)
        assert kinds == {
            "version.published": 2,
            "deployment.recorded": 2,
            "drift.recorded": 1,
            "version.rejected": 1,
        }
        secret = b"s3cret"
        ids = set()
        for r in got:
            assert signed(secret, r), r.headers
            event = from_http_event(HTTPMessage(headers=r.headers, body=r.body))
            assert event.get_specversion() == "1.0" and event.get_source() == "/consign/registry"
            assert event.get_type() == "io.consignment." + r.headers["X-Consign-Event"]
            assert event.get_id() == r.headers["X-Consign-Delivery"] and event.get_time()
            ids.add(event.get_id())
        assert len(ids) == 6
        deploy = next(r.json for r in got if r.json["data"].get("outcome") == "rolled_back")
        assert deploy["subject"] == "qa-1/TLO GE/Milestone"
        assert deploy["data"]["rolled_back_to"] == 1

        texts = [r.json["text"] for r in chat.wait_for(lambda rs: len(rs) >= 1, timeout=10)]
        assert "X-Consign-Signature-256" not in chat.received[0].headers  # no secret: unsigned
        assert "rolled back to v1" in texts[0] and "failed: web (exited: exit 1)" in texts[0]
        assert "db" not in texts[0]
        assert "https://registry.example.com/ui/environments/qa-1|" in texts[0]

        tried = flaky.wait_for(lambda rs: any(_ok_after(r, flaky) for r in rs), timeout=15)
        assert len({r.headers["X-Consign-Delivery"] for r in tried}) == 1
        assert tried[-1].at - tried[0].at >= 3.0 and len(tried) >= 3

        assert requests.get(f"{url}/api/webhooks", timeout=10).status_code == 401
        listed = requests.get(f"{url}/api/webhooks", headers=ADMIN, timeout=10).json()
        assert [s["name"] for s in listed["subscriptions"]] == ["everything", "qa-chat", "flaky"]
        assert listed["error"] is None and "s3cret" not in json.dumps(listed)
        assert listed["subscriptions"][0]["signed"] is True
        log = _settled(url, "flaky")  # settled just after the receiver answered
        assert log["deliveries"][0]["result"] == "delivered"
        assert log["deliveries"][0]["attempts"] == len(tried)
        assert {d["result"] for d in log["deliveries"][1:]} == {"retry"}
        assert chat.received and len(chat.received) == 1  # the rollback (ok) was filtered out

        write_hooks(hooks, good.replace("[version.rejected]", "[version.rejectd]"))
        deadline = time.monotonic() + 10
        while (error := _listed(url)["error"]) is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert error is not None and "unknown event 'version.rejectd'" in error["message"]
        publish(url, "3")  # the last good configuration still delivers
        after = everything.wait_for(lambda rs: len(rs) >= 7, timeout=15)
        assert after[-1].headers["X-Consign-Event"] == "version.published"
        assert len(_listed(url)["subscriptions"]) == 3

        counted = (
            'consign_webhook_deliveries_total{result="delivered",subscription="everything"} 7.0'
        )
        deadline = time.monotonic() + 5  # counted once settled, just after the receiver answers
        while counted not in (metrics := requests.get(f"{url}/metrics", timeout=10).text):
            assert time.monotonic() < deadline, metrics
            time.sleep(0.1)
        assert 'result="retry",subscription="flaky"' in metrics
        time.sleep(0.5)
        assert len(everything.received) == 7 and len(chat.received) == 1  # nothing twice


def _ok_after(r: Received, receiver: Receiver) -> bool:
    answer = receiver.answer
    return (
        isinstance(answer, FailingFor) and answer.first is not None and r.at - answer.first >= 3.0
    )


def _listed(url: str) -> dict[str, Any]:
    response = requests.get(f"{url}/api/webhooks", headers=ADMIN, timeout=10)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _deliveries(url: str, name: str) -> dict[str, Any]:
    response = requests.get(f"{url}/api/webhooks/{name}/deliveries", headers=ADMIN, timeout=10)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _settled(url: str, name: str, timeout: float = 10) -> dict[str, Any]:
    """The subscription's deliveries once nothing is pending any more."""
    deadline = time.monotonic() + timeout
    while (found := _deliveries(url, name))["pending"]:
        assert time.monotonic() < deadline, found
        time.sleep(0.1)
    return found


def _ids(received: list[Received]) -> set[str]:
    return {r.headers["X-Consign-Delivery"] for r in received}


def _delivering_worker(log: Path) -> int:
    """The pid of the worker that last took the delivery lock (its log line says)."""
    lines = [ln for ln in log.read_text().splitlines() if "webhook deliveries run in worker" in ln]
    assert lines, log.read_text()
    return int(lines[-1].rsplit(" ", 1)[1])


def test_queued_deliveries_survive_killed_workers_and_a_sigkilled_registry(tmp_path: Path) -> None:
    down = FailingFor(None, status=503)
    receiver = Receiver(answer=down).start()
    hooks = tmp_path / "hooks.yaml"
    write_hooks(
        hooks,
        f"subscriptions: [{{name: ci, url: '{receiver.url}', events: [version.published],"
        " allow_private: true}]",
    )
    env = {"CONSIGN_WEBHOOKS_FILE": str(hooks), "CONSIGN_ADMIN_TOKENS": "admin-token", **FAST}
    repo = tmp_path / "repo.git"
    try:
        with ServedRegistry(repo, tmp_path / "serve.log", env, workers=2) as first:
            first.start()
            for n in range(2):
                publish(first.url, str(n))
            receiver.wait_for(lambda rs: len(_ids(rs)) >= 2, timeout=10)
            holder = _delivering_worker(tmp_path / "serve.log")
            os.kill(holder, signal.SIGKILL)  # the worker delivering: another one takes over
            publish(first.url, "2")
            ids = _ids(receiver.wait_for(lambda rs: len(_ids(rs)) >= 3, timeout=15))
            assert _delivering_worker(tmp_path / "serve.log") != holder
            assert first.proc is not None
            for pid in [*first.worker_pids(), first.proc.pid]:  # master and workers at once
                os.kill(pid, signal.SIGKILL)
            first.proc.wait(timeout=10)
        assert len(list((repo / "consign-events" / "queue" / "ci").glob("*.json"))) == 3
        down.open()
        before = len(receiver.received)
        with ServedRegistry(repo, tmp_path / "serve2.log", env, workers=2) as second:
            second.start()
            receiver.wait_for(
                lambda rs: {r.headers["X-Consign-Delivery"] for r in rs[before:]} >= ids,
                timeout=15,
            )
            delivered = [
                d["id"]
                for d in _settled(second.url, "ci")["deliveries"]
                if d["result"] == "delivered"
            ]
            assert sorted(delivered) == sorted(ids)  # each once
    finally:
        receiver.stop()


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{name: a, url: 'http://h/', events: [deploy.failed]}", "unknown event 'deploy.failed'"),
        ("{name: a, url: 'htp://h/', events: ['*']}", "bad url 'htp://h/'"),
        (
            "{name: a, url: 'http://h/', events: ['*'], secret_file: /nonexistent/hook.secret}",
            "cannot read secret_file /nonexistent/hook.secret",
        ),
    ],
)
def test_a_bad_webhooks_file_fails_the_app(tmp_path: Path, entry: str, message: str) -> None:
    """What `consign serve` checks in its master before any worker starts (below)."""
    hooks = tmp_path / "hooks.yaml"
    hooks.write_text(f"subscriptions: [{entry}]")
    config = {"REPO": str(tmp_path / "repo.git"), "WEBHOOKS_FILE": str(hooks)}
    with pytest.raises(ValueError, match=r"hooks\.yaml: subscription 'a'") as caught:
        create_app(config)
    assert message in str(caught.value)


def test_a_bad_webhooks_file_refuses_the_start(tmp_path: Path) -> None:
    hooks = tmp_path / "hooks.yaml"
    hooks.write_text("subscriptions: [{name: a, url: 'http://h/', events: [deploy.failed]}]")
    served = ServedRegistry(
        tmp_path / "repo.git", tmp_path / "serve.log", {"CONSIGN_WEBHOOKS_FILE": str(hooks)}
    )
    with pytest.raises(RuntimeError, match="exited early") as caught:
        served.start(timeout=30)
    assert f"Error: {hooks}: subscription 'a': unknown event 'deploy.failed'" in str(caught.value)
