"""The ledger through a real `consign serve` (gunicorn): concurrent reports and publishes,
SIGKILLed workers, `git fetch` with the documented refspec, lock races."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import threading
import time
import uuid
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from consign.process import run
from tests.registry.conftest import b64, git_locks
from tests.registry.test_app_ledger import report
from tests.registry.test_serve import all_versions, put
from tests.serving import ServedRegistry

LEDGER_REFSPEC = ["+refs/ledger/*:refs/ledger/*", "+refs/deployed/*:refs/deployed/*"]


def seed(url: str) -> None:
    body = {
        "fragment": b64("services:\n  web:\n    image: busybox\n"),
        "applications": ["TLO GE"],
        "releases": ["Milestone"],
    }
    assert requests.put(f"{url}/fragment", json=body, timeout=30).status_code == 201


def reporter(url: str, env: str) -> list[str]:
    """One deployer machine reporting 10 deployments to its environment (own process)."""
    ids = []
    for j in range(10):
        body = report(1, finished=f"2026-12-01T10:00:{j:02d}Z", started="2026-12-01T09:00:00Z")
        response = requests.post(f"{url}/api/environments/{env}/deployments", json=body, timeout=60)
        assert response.status_code == 201, response.text
        ids.append(body["id"])
    return ids


def publisher(url: str, i: int) -> int:
    for j in range(5):
        assert put(url, f"p{i}-{j}").status_code == 201
    return 5


def test_concurrent_reports_and_publishes_lose_nothing(served: ServedRegistry) -> None:
    seed(served.url)
    envs = [f"qa-{i}" for i in range(8)]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=10, mp_context=context) as pool:
        reports = pool.map(reporter, [served.url] * 8, envs)
        publishes = pool.map(publisher, [served.url] * 2, range(2))
        sent = dict(zip(envs, reports, strict=True))
        assert sum(publishes) == 10
    for env, ids in sent.items():
        page = requests.get(
            f"{served.url}/api/environments/{env}/deployments?limit=100", timeout=30
        ).json()["deployments"]
        assert [d["id"] for d in page] == ids[::-1]
        assert [d["seq"] for d in page] == list(range(10, 0, -1))
    listed = requests.get(f"{served.url}/api/environments", timeout=30).json()["environments"]
    assert [e["name"] for e in listed] == envs and {e["deployments"] for e in listed} == {10}
    assert len(all_versions(served.url)) == 11
    deployments = requests.get(
        f"{served.url}/api/applications/TLO%20GE/releases/Milestone/versions/1/deployments",
        timeout=30,
    ).json()
    assert len(deployments["deployments"]) == 80 and deployments["verified"] == envs


def test_sigkilled_workers_leave_every_answered_record(served: ServedRegistry) -> None:
    seed(served.url)
    answered: dict[str, list[str]] = {}
    failures: list[str] = []
    stop = threading.Event()

    def deployer(env: str) -> None:
        mine = answered.setdefault(env, [])
        while not stop.is_set():
            body = report(1)
            for _attempt in range(5):  # a deployer retries with the same id
                try:
                    response = requests.post(
                        f"{served.url}/api/environments/{env}/deployments", json=body, timeout=60
                    )
                except requests.RequestException as e:
                    failures.append(type(e).__name__)
                    continue
                assert response.status_code in (200, 201), response.text
                mine.append(body["id"])
                break

    rng = random.Random(9)
    kills = 0
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(deployer, f"env-{i}") for i in range(4)]
        deadline = time.monotonic() + 120
        while kills < 8 and time.monotonic() < deadline:
            time.sleep(rng.uniform(0.2, 0.5))
            workers = served.worker_pids()
            if workers:
                os.kill(rng.choice(workers), signal.SIGKILL)
                kills += 1
        stop.set()
        for future in futures:
            future.result()
    assert kills >= 8
    for env, ids in answered.items():
        assert ids, f"{env}: nothing answered ({failures})"
        page = requests.get(
            f"{served.url}/api/environments/{env}/deployments?limit=1000", timeout=30
        ).json()["deployments"]
        stored = [d["id"] for d in page][::-1]
        assert len(stored) == len(set(stored))  # every retry recorded once
        assert set(ids) <= set(stored)  # every answered record is there
        assert [d["seq"] for d in page] == list(range(len(page), 0, -1))
    assert not git_locks(served.repo)  # (asserted 200/201 above: never a 503 ref_locked)
    # the repo fixture runs `git fsck --strict` once the server has stopped


def test_git_fetch_with_the_documented_refspec(served: ServedRegistry, tmp_path: Path) -> None:
    seed(served.url)
    body = report(1)
    assert requests.post(f"{served.url}/api/environments/qa-1/deployments", json=body).ok
    clone = tmp_path / "clone"
    run(["git", "clone", "--quiet", f"{served.url}/git", str(clone)])
    run(["git", "-C", str(clone), "fetch", "--quiet", "origin", *LEDGER_REFSPEC])
    shown = run(["git", "-C", str(clone), "show", "refs/ledger/qa-1:record.json"]).stdout
    assert body["id"] in shown
    deployed = run(["git", "-C", str(clone), "rev-parse", "refs/deployed/qa-1/TLO%20GE/Milestone"])
    assert (
        deployed.stdout.strip()
        == run(
            ["git", "-C", str(clone), "rev-parse", "TLO%20GE/Milestone/1^{commit}"]
        ).stdout.strip()
    )


def test_two_deployers_racing_for_one_lock(served: ServedRegistry) -> None:
    barrier = threading.Barrier(8)

    def take(i: int) -> tuple[int, dict[str, Any]]:
        barrier.wait()
        env = "shared" if i < 4 else f"own-{i}"
        response = requests.post(
            f"{served.url}/api/environments/{env}/lock",
            json={"holder": {"by": f"deployer-{i}", "execution": str(uuid.uuid4())}},
            timeout=30,
        )
        return response.status_code, response.json()

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(take, range(8)))
    shared = [status for status, _ in results[:4]]
    assert sorted(shared) == [201, 409, 409, 409]
    winner = next(body for status, body in results[:4] if status == 201)
    for status, body in results[:4]:
        if status == 409:
            assert body["lock"]["holder"] == winner["holder"]
    assert [status for status, _ in results[4:]] == [201] * 4  # other environments: parallel
