"""`consign serve` for real: gunicorn workers, concurrent publishers, SIGKILLed workers."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import subprocess
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from tests.registry.conftest import b64, git_locks, refs
from tests.serving import CONSIGN, ROOT, ServedRegistry

BASE = "/api/applications/TLO%20GE/releases/Milestone"


def fragment(name: str) -> str:
    return f"services:\n  {name}:\n    image: busybox\n    command: ['sleep', '1']\n"


def put(url: str, name: str, **extra: Any) -> requests.Response:
    body = {
        "fragment": b64(fragment(name)),
        "applications": ["TLO GE"],
        "releases": ["Milestone"],
        "component": name,
        **extra,
    }
    return requests.put(f"{url}/fragment", json=body, timeout=60)


def all_versions(url: str) -> list[dict[str, Any]]:
    response = requests.get(f"{url}{BASE}/versions?limit=1000", timeout=30)
    assert response.status_code == 200
    versions: list[dict[str, Any]] = response.json()["versions"]
    return versions


def publisher(url: str, i: int) -> list[tuple[int, str]]:
    """One CI plan publishing 8 builds of its own component (runs in its own process)."""
    answers = []
    for j in range(8):
        response = put(url, f"c{i}-{j}", build={"plan": f"P{i}", "number": j})
        assert response.status_code == 201, response.text
        version = response.json()["versions"][0]
        answers.append((version["version"], version["commit"]))
    return answers


def test_concurrent_publishers_lose_nothing(served: ServedRegistry) -> None:
    names = [f"c{i}-{j}" for i in range(8) for j in range(8)]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=8, mp_context=context) as pool:
        results = pool.map(publisher, [served.url] * 8, range(8))
        answered = [answer for result in results for answer in result]

    numbers = sorted(number for number, _ in answered)
    assert numbers == list(range(1, 65))  # no version skipped or handed out twice
    listed = {v["version"]: v["commit"] for v in all_versions(served.url)}
    assert listed == dict(answered)
    final = requests.get(f"{served.url}/descriptor/application/TLO%20GE/Milestone/64", timeout=30)
    assert sorted(yaml.safe_load(final.text)["services"]) == sorted(names)
    components = all_versions(served.url)[0]["components"]
    assert sorted(c["name"] for c in components) == sorted(names)


def test_sigkilled_workers_leave_every_answered_version(served: ServedRegistry, repo: Path) -> None:
    answered: dict[int, tuple[str, str]] = {}  # version -> (commit, service)
    failures: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def publisher(i: int) -> None:
        for j in range(10_000):
            if stop.is_set():
                return
            name = f"k{i}-{j}"
            try:
                response = put(served.url, name)
            except requests.RequestException as e:  # its worker was killed mid-request
                failures.append(f"{name}: {type(e).__name__}")
                continue
            if response.status_code == 201:
                version = response.json()["versions"][0]
                with lock:
                    assert version["version"] not in answered
                    answered[version["version"]] = (version["commit"], name)
            else:
                failures.append(f"{name}: {response.status_code} {response.text[:200]}")

    kills = 0
    with ThreadPoolExecutor(max_workers=6) as pool:
        futures = [pool.submit(publisher, i) for i in range(6)]
        rng = random.Random(7)
        deadline = time.monotonic() + 120
        while kills < 10 and time.monotonic() < deadline:
            time.sleep(rng.uniform(0.2, 0.6))
            workers = served.worker_pids()
            if workers:
                os.kill(rng.choice(workers), signal.SIGKILL)
                kills += 1
        while len(answered) < 30 and time.monotonic() < deadline:
            time.sleep(0.2)
        stop.set()
        for future in futures:
            future.result()

    assert kills >= 10
    assert len(answered) >= 20, failures
    # No 5xx, only dropped connections: had a killed worker's Git left a ref's lock file
    # behind, every later publish would be refused with 503 (the store never removes one).
    assert all(": 5" not in f for f in failures), failures
    assert not git_locks(repo)
    versions = {v["version"]: v for v in all_versions(served.url)}
    assert sorted(versions) == list(range(1, len(versions) + 1))  # no gaps
    for number, (commit, name) in answered.items():
        assert versions[number]["commit"] == commit
        text = requests.get(
            f"{served.url}/descriptor/application/TLO%20GE/Milestone/{number}", timeout=30
        ).text
        assert name in yaml.safe_load(text)["services"]
    assert refs(repo)  # and the repo fixture runs `git fsck --strict` after the server stops


def test_tokens_and_request_log_through_gunicorn(repo: Path, tmp_path: Path) -> None:
    env = {"CONSIGN_PUBLISH_TOKENS": "ci-token"}
    with ServedRegistry(repo, tmp_path / "serve.log", env=env, workers=2).start() as server:
        assert put(server.url, "web").status_code == 401
        headers = {"Authorization": "Bearer wrong"}
        body = {"fragment": b64(fragment("web")), "applications": ["A"], "releases": ["R"]}
        assert requests.put(f"{server.url}/fragment", json=body, headers=headers).status_code == 403
        headers = {"Authorization": "Bearer ci-token"}
        assert requests.put(f"{server.url}/fragment", json=body, headers=headers).status_code == 201
        big = {**body, "build": {"pad": "x" * 2_000_000}}
        too_big = requests.put(f"{server.url}/fragment", json=big, headers=headers, timeout=30)
        assert too_big.status_code == 413
        assert too_big.json()["error"] == "payload_too_large"
    log = server.log.read_text()
    assert "NO PUBLISH TOKENS" not in log
    assert "PUT /fragment 401 " in log
    assert "PUT /fragment 201 " in log and "created=A/R/1" in log


def test_open_registry_warns_in_its_log(served: ServedRegistry) -> None:
    assert "NO PUBLISH TOKENS CONFIGURED" in served.log.read_text()


def consign(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    argv = [*CONSIGN, *args]
    base = {k: v for k, v in os.environ.items() if not k.startswith("CONSIGN_")}
    return subprocess.run(
        argv, cwd=ROOT, capture_output=True, text=True, timeout=60, env={**base, **(env or {})}
    )


def test_serve_help_names_every_environment_variable() -> None:
    result = consign("serve", "--help")
    assert result.returncode == 0
    for env in ("CONSIGN_REPO", "CONSIGN_BIND", "CONSIGN_WORKERS", "CONSIGN_WORKER_TIMEOUT"):
        assert env in result.stdout


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["--bind", "nonsense"], {}),
        (["--bind", "127.0.0.1:99999"], {}),
        (["--workers", "0"], {}),
        ([], {"CONSIGN_WORKERS": "many"}),
        ([], {"CONSIGN_BIND": "localhost"}),
    ],
)
def test_serve_rejects_bad_options(args: list[str], env: dict[str, str], tmp_path: Path) -> None:
    result = consign("serve", "--repo", str(tmp_path / "r.git"), *args, env=env)
    assert result.returncode == 2, result.stderr
    assert "Invalid value" in result.stderr
    assert not (tmp_path / "r.git").exists()


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"CONSIGN_PUBLISH_TOKENS_FILE": "/nonexistent/tokens"}, "token file"),
        ({"CONSIGN_MAX_BODY_BYTES": "0"}, "CONSIGN_MAX_BODY_BYTES"),
    ],
)
def test_serve_fails_fast_on_bad_configuration(
    env: dict[str, str], words: str, tmp_path: Path
) -> None:
    result = consign("serve", "--repo", str(tmp_path / "r.git"), "--bind", "127.0.0.1:1", env=env)
    assert result.returncode == 1, result.stderr
    assert words in result.stderr
