"""Retiring an environment that is gone, and restoring it: `consign environment` (a real
process) and the API, against a real `consign serve` (gunicorn, Git). A retired
environment leaves every list and keeps its history; the retirement is in the repository
with who and why."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from consign.exit_codes import ExitCode
from consign.process import run
from tests.registry.conftest import b64, fsck
from tests.registry.test_app_ledger import report
from tests.serving import CONSIGN, ROOT, ServedRegistry, free_port

REPORTER = "deployer-token-1"
WEB = "services:\n  web:\n    image: busybox\n"


def consign_environment(
    *args: str, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("CONSIGN_")}
    return subprocess.run(
        [*CONSIGN, "environment", *args],
        cwd=ROOT,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[ServedRegistry]:
    repo = tmp_path / "registry.git"
    env = {"CONSIGN_REPORT_TOKENS": f"rundeck:{REPORTER}"}
    with ServedRegistry(repo, tmp_path / "serve.log", env=env, workers=2).start() as server:
        body = {"fragment": b64(WEB), "applications": ["TLO GE"], "releases": ["Milestone"]}
        assert requests.put(f"{server.url}/fragment", json=body, timeout=30).status_code == 201
        for name in ("qa-1", "vm-shop-dev", "locktest"):
            deploy(server.url, name)
        yield server
    fsck(repo)


def deploy(url: str, environment: str, **changes: Any) -> requests.Response:
    answer = requests.post(
        f"{url}/api/environments/{environment}/deployments",
        json=report(1, **changes),
        headers={"Authorization": f"Bearer {REPORTER}"},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    return answer


def listed(url: str, query: str = "") -> list[str]:
    found = requests.get(f"{url}/api/environments{query}", timeout=30).json()["environments"]
    return [e["name"] for e in found]


def options(url: str) -> list[str]:
    return [
        o["value"] for o in requests.get(f"{url}/rundeck/options/environments", timeout=30).json()
    ]


def test_retire_then_restore_with_the_cli(registry: ServedRegistry) -> None:
    url = registry.url
    env = {"CONSIGN_REGISTRY": url, "CONSIGN_TOKEN": REPORTER, "CONSIGN_BY": "carol"}
    done = consign_environment("retire", "vm-shop-dev", "--reason", "VM deleted", env=env)
    assert done.returncode == ExitCode.OK, done.stderr
    assert done.stdout.startswith("vm-shop-dev retired by rundeck at ")
    assert done.stdout.rstrip().endswith(": VM deleted")
    # out of every list
    assert listed(url) == ["locktest", "qa-1"]
    assert options(url) == ["locktest", "qa-1"]
    # ... unless asked for, marked
    every = requests.get(f"{url}/api/environments?retired=true", timeout=30).json()["environments"]
    marks = {e["name"]: e["retired"] for e in every}
    assert marks["qa-1"] is None and marks["vm-shop-dev"]["reason"] == "VM deleted"
    assert marks["vm-shop-dev"]["by"] == "carol" and marks["vm-shop-dev"]["identity"] == "rundeck"
    bad = requests.get(f"{url}/api/environments?retired=maybe", timeout=30)
    assert bad.status_code == 400 and bad.json()["field"] == "retired"
    # its history stays readable
    one = requests.get(f"{url}/api/environments/vm-shop-dev", timeout=30).json()
    assert one["retired"]["reason"] == "VM deleted" and len(one["deployed"]) == 1
    history = requests.get(f"{url}/api/environments/vm-shop-dev/deployments", timeout=30).json()
    assert len(history["deployments"]) == 1
    # a retry changes nothing
    again = consign_environment("retire", "vm-shop-dev", "--reason", "again", env=env)
    assert again.returncode == ExitCode.OK and "was already retired" in again.stdout
    assert ": VM deleted" in again.stdout
    # the audit trail, in the repository
    log = run(
        [
            "git",
            "--git-dir",
            str(registry.repo),
            "log",
            "--format=%s",
            "refs/consign/retired/vm-shop-dev",
        ]
    ).stdout.splitlines()
    assert log == ["environment vm-shop-dev retired by rundeck: VM deleted"]
    restored = consign_environment("restore", "vm-shop-dev", "--reason", "VM rebuilt", env=env)
    assert restored.returncode == ExitCode.OK, restored.stderr
    assert restored.stdout.startswith("vm-shop-dev restored (it was retired by rundeck at ")
    assert listed(url) == ["locktest", "qa-1", "vm-shop-dev"]
    assert "vm-shop-dev" in options(url)
    twice = consign_environment("restore", "vm-shop-dev", env=env)
    assert twice.returncode == ExitCode.OK and "was not retired: nothing changed" in twice.stdout
    trail = requests.get(f"{url}/api/environments/vm-shop-dev/retirement", timeout=30).json()
    assert trail["retired"] is None
    assert [(e["kind"], e["by"], e["reason"]) for e in trail["history"]] == [
        ("retired", "carol", "VM deleted"),
        ("restored", "carol", "VM rebuilt"),
    ]


def test_cli_refusals_and_usage(registry: ServedRegistry) -> None:
    env = {"CONSIGN_REGISTRY": registry.url, "CONSIGN_TOKEN": REPORTER}
    unknown = consign_environment("retire", "never-used", "--reason", "typo", env=env)
    assert unknown.returncode == ExitCode.PUBLISH_FAILED
    assert "404" in unknown.stderr and "never-used" in unknown.stderr
    no_token = consign_environment(
        "retire", "qa-1", "--reason", "x", env={**env, "CONSIGN_TOKEN": ""}
    )
    assert no_token.returncode == ExitCode.PUBLISH_FAILED and "401" in no_token.stderr
    bad_name = consign_environment("retire", "QA 1", "--reason", "x", env=env)
    assert bad_name.returncode == ExitCode.PUBLISH_FAILED and "lower-case" in bad_name.stderr
    no_reason = consign_environment("retire", "qa-1", env=env)
    assert no_reason.returncode == ExitCode.USAGE and "--reason" in no_reason.stderr
    blank = consign_environment("retire", "qa-1", "--reason", "  ", env=env)
    assert (
        blank.returncode == ExitCode.PUBLISH_FAILED and "reason must not be blank" in blank.stderr
    )
    nowhere = f"http://127.0.0.1:{free_port()}"
    down = consign_environment(
        "retire", "qa-1", "--reason", "x", "--registry", nowhere, "--attempts", "1", env=env
    )
    assert down.returncode == ExitCode.REGISTRY_UNREACHABLE
    by_env = consign_environment(
        "retire", env={**env, "CONSIGN_ENVIRONMENT": "qa-1", "CONSIGN_REASON": "gone"}
    )
    assert by_env.returncode == ExitCode.OK, by_env.stderr
    assert listed(registry.url) == ["locktest", "vm-shop-dev"]


def test_a_deploy_reported_to_a_retired_environment_restores_it(registry: ServedRegistry) -> None:
    url = registry.url
    headers = {"Authorization": f"Bearer {REPORTER}"}
    retirement = f"{url}/api/environments/locktest/retirement"
    made = requests.post(retirement, json={"by": "bob", "reason": "tried things"}, headers=headers)
    assert made.status_code == 201 and made.json()["created"] is True
    anonymous = requests.post(retirement, json={"by": "eve", "reason": "x"}, timeout=30)
    assert anonymous.status_code == 401
    unknown_field = requests.post(
        retirement, json={"by": "b", "reason": "r", "x": 1}, headers=headers
    )
    assert unknown_field.status_code == 400 and unknown_field.json()["field"] == "x"
    # a teardown (nothing runs anew) leaves it retired
    teardown = deploy(url, "locktest", kind="teardown", outcome="torn_down", services=[])
    assert teardown.json()["restored"] is None and "locktest" not in listed(url)
    # a deploy that finished before the retirement (a spool delivering old news): recorded,
    # and the environment stays retired
    old = deploy(url, "locktest", by="alice", finished="2026-12-01T11:00:00Z")
    assert old.json()["restored"] is None and "locktest" not in listed(url)
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    body = report(1, by="alice", finished=now)
    answer = requests.post(
        f"{url}/api/environments/locktest/deployments", json=body, headers=headers, timeout=30
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["restored"]["reason"] == "tried things"  # the retirement it lifted
    assert "locktest" in listed(url) and "locktest" in options(url)
    trail = requests.get(retirement, timeout=30).json()["history"]
    assert [(e["kind"], e["by"], e["identity"]) for e in trail] == [
        ("retired", "bob", "rundeck"),
        ("restored", "alice", "rundeck"),
    ]
    assert trail[1]["reason"] == "restored by a deploy of TLO GE/Milestone v1 reported to it"
    # retired again: a retry of that same report is not a new deploy, and restores nothing
    again = {"by": "bob", "reason": "gone again"}
    assert requests.post(retirement, json=again, headers=headers, timeout=30).status_code == 201
    retry = requests.post(
        f"{url}/api/environments/locktest/deployments", json=body, headers=headers, timeout=30
    )
    assert retry.status_code == 200 and retry.json()["restored"] is None
    assert "locktest" not in listed(url)
    never = requests.get(f"{url}/api/environments/never-used/retirement", timeout=30)
    assert never.status_code == 404


def test_concurrent_retirements_write_one(registry: ServedRegistry) -> None:
    """Sixteen clients retire the same environment at once (two workers): one 201, the
    others 200 with that same retirement, and one commit."""
    from concurrent.futures import ThreadPoolExecutor

    url = f"{registry.url}/api/environments/qa-1/retirement"
    headers = {"Authorization": f"Bearer {REPORTER}"}

    def retire(n: int) -> requests.Response:
        body = {"by": f"client-{n}", "reason": f"try {n}"}
        return requests.post(url, json=body, headers=headers, timeout=30)

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(retire, range(16)))
    assert sorted(a.status_code for a in answers) == [200] * 15 + [201]
    kept = {(a.json()["retired"]["by"], a.json()["retired"]["at"]) for a in answers}
    assert len(kept) == 1
    log = run(
        ["git", "--git-dir", str(registry.repo), "log", "--format=%H", "refs/consign/retired/qa-1"]
    ).stdout.split()
    assert len(log) == 1
