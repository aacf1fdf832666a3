"""deployer/ledger against requests-mock (the HTTP client's behaviour) and pure functions
(the record, drift). Real-registry tests: test_ledger_registry.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
import requests_mock as rm

from deployer.ledger import drift, record
from deployer.ledger.client import LedgerClient
from deployer.ledger.lock import LockRefused, LockUnavailable, acquire
from deployer.ledger.spool import Spool, default_directory, deliver
from deployer.verdicts import ServiceVerdict, Verdict

URL = "http://registry.test:9090"
REPORTS = f"{URL}/api/environments/qa-1/deployments"
LOCK = f"{URL}/api/environments/qa-1/lock"


def a_record(**changes: Any) -> dict[str, Any]:
    body = record.build(
        kind="deploy", environment="qa-1", application="TLO GE", release="Milestone",
        version=3, commit=None, outcome="ok", started="2026-12-01T10:00:00.000Z",
        finished="2026-12-01T10:01:00.000Z", by="alice", engine={"name": "h"}, source=None,
        service_entries=[],
    )  # fmt: skip
    body.update(changes)
    return body


def test_report_posts_json_with_the_token(requests_mock: rm.Mocker) -> None:
    requests_mock.post(REPORTS, status_code=201, json={"created": True, "deployment": {}})
    client = LedgerClient(URL + "/", token="secret")
    client.report(a_record())
    sent = requests_mock.last_request
    assert sent.headers["Authorization"] == "Bearer secret"
    assert sent.json()["kind"] == "deploy" and len(sent.json()["id"]) == 36
    assert sent.timeout == (3.05, 10.0)  # bounded: never hangs a deploy


def test_registry_down_keeps_the_record_then_delivers_it_once(
    requests_mock: rm.Mocker, tmp_path: Path
) -> None:
    spool = Spool(tmp_path / "spool")
    first, second = a_record(), a_record()
    requests_mock.post(REPORTS, exc=requests.ConnectionError("refused"))
    result = deliver(LedgerClient(URL), first, spool)
    assert result.kept == [first["id"]] and not result.delivered
    assert "kept in the spool" in result.line and "refused" in result.line
    assert [r["id"] for _, r in spool.pending(URL)] == [first["id"]]

    requests_mock.post(REPORTS, status_code=201, json={})
    result = deliver(LedgerClient(URL), second, spool)
    assert result.delivered == [first["id"], second["id"]] and not result.kept
    assert result.line == "reported to the ledger (2 record(s))"
    assert [json.loads(r.text)["id"] for r in requests_mock.request_history[-2:]] == [
        first["id"],
        second["id"],
    ]
    assert spool.pending(URL) == []


def test_a_refused_record_is_set_aside_with_its_reason(
    requests_mock: rm.Mocker, tmp_path: Path
) -> None:
    spool = Spool(tmp_path)
    body = {"error": "invalid_record", "message": "version: no version 9"}
    requests_mock.post(REPORTS, status_code=422, json=body)
    result = deliver(LedgerClient(URL), a_record(), spool)
    assert len(result.rejected) == 1 and "no version 9" in result.line
    assert spool.pending(URL) == []
    reason = (tmp_path / "rejected" / f"{result.rejected[0]}.reason").read_text()
    assert "no version 9" in reason


@pytest.mark.parametrize("status", [500, 503, 401, 429])
def test_transient_answers_keep_the_record(
    requests_mock: rm.Mocker, tmp_path: Path, status: int
) -> None:
    requests_mock.post(REPORTS, status_code=status, json={"error": "x", "message": "later"})
    result = deliver(LedgerClient(URL), a_record(), Spool(tmp_path))
    assert len(result.kept) == 1 and len(Spool(tmp_path).pending(URL)) == 1


def test_a_down_registry_is_asked_once_and_delivery_is_bounded(
    requests_mock: rm.Mocker, tmp_path: Path
) -> None:
    spool = Spool(tmp_path)
    for _ in range(3):
        spool.put(URL, a_record())
    spool.put("http://other:9090", a_record())  # another registry's record stays untouched
    requests_mock.post(REPORTS, exc=requests.ConnectTimeout("slow"))
    result = deliver(LedgerClient(URL), a_record(), spool)
    assert len(result.kept) == 4 and requests_mock.call_count == 1
    ticks = iter([0.0, 100.0, 100.0, 100.0, 100.0, 100.0])
    requests_mock.post(REPORTS, status_code=201, json={})
    late = deliver(LedgerClient(URL), None, spool, deadline=5, clock=lambda: next(ticks))
    assert len(late.kept) == 4 and "took over 5s" in late.line
    assert len(spool.pending("http://other:9090")) == 1


def test_an_unwritable_spool_says_the_record_is_lost(
    requests_mock: rm.Mocker, tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    requests_mock.post(REPORTS, exc=requests.ConnectionError("down"))
    result = deliver(LedgerClient(URL), a_record(), Spool(blocker / "spool"))
    assert len(result.lost) == 1 and "NOT recorded" in result.line
    assert "cannot write the spool" in result.line
    requests_mock.post(REPORTS, status_code=201, json={})
    assert deliver(LedgerClient(URL), a_record(), Spool(blocker / "spool")).delivered


def test_spool_directory_setting(tmp_path: Path) -> None:
    assert default_directory({"CONSIGN_SPOOL": str(tmp_path)}) == tmp_path
    assert default_directory({"XDG_STATE_HOME": "/s"}) == Path("/s/consign/spool")


def test_lock_waits_then_takes_it(requests_mock: rm.Mocker) -> None:
    held = {"error": "locked", "message": "qa-1 is locked by bob deploying X/Y v4 since T",
            "lock": {"holder": {"by": "bob", "version": 4}}}  # fmt: skip
    requests_mock.post(
        LOCK,
        [{"status_code": 409, "json": held}] * 2
        + [{"status_code": 201, "json": {"id": "L1", "ttl": 60, "took_over": None}}],
    )
    requests_mock.delete(f"{LOCK}/L1", status_code=204)
    slept: list[float] = []
    told: list[str] = []
    now = [0.0]

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    lock = acquire(
        LedgerClient(URL), "qa-1", {"by": "alice"}, wait=30, sleep=sleep,
        clock=lambda: now[0], waiting=told.append,
    )  # fmt: skip
    assert lock.id == "L1" and slept == [2.0, 2.0] and told == [held["message"]]
    lock.release()
    assert requests_mock.last_request.method == "DELETE"


def test_lock_refused_after_the_wait_names_the_holder(requests_mock: rm.Mocker) -> None:
    held = {"error": "locked", "message": "qa-1 is locked by bob since T",
            "lock": {"holder": {"by": "bob"}}}  # fmt: skip
    requests_mock.post(LOCK, status_code=409, json=held)
    now = [0.0]

    def sleep(s: float) -> None:
        now[0] += s

    with pytest.raises(LockRefused) as refused:
        acquire(LedgerClient(URL), "qa-1", {"by": "a"}, wait=5, sleep=sleep, clock=lambda: now[0])
    assert refused.value.holder == {"by": "bob"} and "locked by bob" in refused.value.message
    assert requests_mock.call_count == 4  # at 0, 2, 4 and 5 s


def test_lock_with_the_registry_down_is_unavailable(requests_mock: rm.Mocker) -> None:
    requests_mock.post(LOCK, exc=requests.ConnectionError("down"))
    with pytest.raises(LockUnavailable, match="cannot lock qa-1"):
        acquire(LedgerClient(URL), "qa-1", {"by": "a"}, wait=60)


def verdict(name: str, v: Verdict, containers: list[str]) -> ServiceVerdict:
    return ServiceVerdict(name, v, None, "", 1.0, containers)


def test_record_services_and_outcome() -> None:
    web, db = "a" * 64, "b" * 64
    inspected = {
        web: {"Image": "sha256:11", "Config": {"Labels": {record.CONFIG_HASH: "h1"}}},
        db: {"Image": "sha256:22", "Config": {"Labels": {}}},
    }
    verdicts = {"web": verdict("web", Verdict.HEALTHY, [web]),
                "db": verdict("db", Verdict.TIMED_OUT, [db, "c" * 64])}  # fmt: skip
    where = record.origins([{"name": "front", "build": {"n": 4}, "services": ["web"]}])
    entries = record.services(verdicts, inspected, where)
    assert entries[0] == {
        "service": "web", "verdict": "healthy", "detail": "", "containers": [web],
        "image": "sha256:11", "config_hash": "h1", "component": "front", "build": {"n": 4},
    }  # fmt: skip
    assert entries[1]["image"] == "sha256:22" and entries[1]["component"] is None
    assert record.deploy_outcome(verdicts, None) == "timed_out"
    assert record.deploy_outcome(verdicts, 2) == "rolled_back"
    verdicts["web"] = verdict("web", Verdict.CRASH_LOOPING, [web])
    assert record.deploy_outcome(verdicts, None) == "failed"
    assert record.deploy_outcome({"web": verdict("web", Verdict.RUNNING, [])}, None) == "ok"
    assert record.default_environment("Docker-Host.example", "TLO_ge") == (
        "docker-host-example-tlo_ge"
    )


def container(cid: str, service: str, *, image: str = "sha256:1", running: bool = True,
              config_hash: str = "h") -> dict[str, Any]:  # fmt: skip
    return {
        "Id": cid, "Name": f"/p-{service}-1", "Image": image,
        "State": {"Running": running, "Status": "running" if running else "exited",
                  "ExitCode": 0 if running else 137},
        "Config": {"Labels": {record.SERVICE: service, record.CONFIG_HASH: config_hash}},
    }  # fmt: skip


def test_drift_names_every_kind_of_difference() -> None:
    a, b, c, d = ("a" * 64, "b" * 64, "c" * 64, "d" * 64)
    recorded = {"services": [
        {"service": "web", "verdict": "healthy", "containers": [a], "image": "sha256:1",
         "config_hash": "h"},
        {"service": "db", "verdict": "running", "containers": [b[:12]], "image": "sha256:1",
         "config_hash": "h"},
        {"service": "init", "verdict": "completed", "containers": [c], "image": "sha256:1"},
    ]}  # fmt: skip
    same = [container(a, "web"), container(b, "db"), container(c, "init", running=False)]
    assert drift.compute(recorded, same) == []
    changed = [
        container(b, "db", running=False, image="sha256:2", config_hash="h2"),
        container(c, "init", running=False),
        container(d, "web"),
    ]
    found = [(x.service, x.kind, x.container) for x in drift.compute(recorded, changed)]
    assert found == [
        ("web", "missing", a[:12]),
        ("web", "extra", d[:12]),
        ("db", "stopped", b[:12]),
        ("db", "image", b[:12]),
        ("db", "config", b[:12]),
    ]
    entries = drift.services_of(drift.compute(recorded, changed), changed)
    assert [e["service"] for e in entries] == ["web", "db"]
    assert entries[0]["containers"] == [d] and "missing" in entries[0]["detail"]


def test_drift_sees_a_crash_looping_container_as_status_does() -> None:
    """Trial item 4 (issue 19): a restarting container is Running to the engine, and was
    not drift; one seen restarting again while watched neither."""
    a, b = "a" * 64, "b" * 64
    recorded = {"services": [
        {"service": "worker", "verdict": "running", "containers": [a], "image": "sha256:1"},
        {"service": "web", "verdict": "running", "containers": [b], "image": "sha256:1"},
    ]}  # fmt: skip
    looping = container(a, "worker")
    looping["State"].update(Restarting=True, Status="restarting", ExitCode=3)
    looping["RestartCount"] = 10
    found = drift.compute(recorded, [looping, container(b, "web")], again={b})
    assert [(x.service, x.kind, x.container) for x in found] == [
        ("worker", "crash-looping", a[:12]),
        ("web", "crash-looping", b[:12]),
    ]
    assert found[0].detail == "restarted 10 times, restarting now, last exit code 3"
    assert "restarted again while watched" in found[1].detail


def test_environment_text() -> None:
    from deployer.ledger.show import environment_text

    service = {"service": "web", "verdict": "healthy", "image": "sha256:1", "component": "front",
               "build": {"buildNumber": 7}}  # fmt: skip
    state = {
        "name": "qa-1", "deployments": 3, "lock": {"holder": {"by": "bob"}, "since": "S",
                                                   "expires": "E"},
        "deployed": [a_record(outcome="rolled_back", rolled_back_to=2, services=[service])],
    }  # fmt: skip
    text = environment_text(state)
    assert text.splitlines() == [
        "qa-1: 3 deployment(s) recorded",
        "  locked by bob since S (expires E)",
        "TLO GE/Milestone v2 (deploy rolled back from v3) since 2026-12-01T10:01:00.000Z by "
        "alice, commit -",
        f"  {'web':30} {'healthy':15} sha256:1 front build 7",
    ]
    assert "nothing deployed" in environment_text({"name": "x", "deployments": 0})
