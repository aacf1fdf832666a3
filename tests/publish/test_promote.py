"""`consign promote` (a real process) against a real `consign serve` (gunicorn, Git)."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
import requests

from consign.exit_codes import ExitCode
from tests.registry.conftest import b64, fsck
from tests.serving import CONSIGN, ROOT, ServedRegistry, free_port

API = "/api/applications/TLO%20GE/releases"
WEB = "services:\n  web:\n    image: busybox\n"
LINE = re.compile(
    r"^TLO GE / (?P<rel>\S+) v(?P<n>\d+) (?P<commit>[0-9a-f]{40}) (?P<state>created|unchanged) "
    r"\(from TLO GE / Milestone v(?P<src>\d+)\)$"
)


def consign_promote(
    *args: str, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CONSIGN, "promote", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[ServedRegistry]:
    env = {"CONSIGN_RELEASE_TOKENS": "rm-carol:rel", "CONSIGN_APPROVE_TOKENS": "qa:app"}
    repo = tmp_path / "registry.git"
    with ServedRegistry(repo, tmp_path / "serve.log", env=env, workers=2).start() as server:
        for n in (1, 2):
            body = {"fragment": b64(WEB), "applications": ["TLO GE"], "releases": ["Milestone"]}
            answer = requests.put(f"{server.url}/fragment", json={**body, "build": {"n": n}})
            assert answer.status_code == 201
        yield server
    fsck(repo)


def test_promote_then_retry(registry: ServedRegistry) -> None:
    env = {"CONSIGN_REGISTRY": registry.url, "CONSIGN_TOKEN": "rel", "CONSIGN_BY": "carol"}
    args = ["TLO GE", "--from-release", "Milestone", "--version", "2", "--to-release", "QA"]
    first = consign_promote(*args, "--create-release", env=env)
    assert first.returncode == ExitCode.OK, first.stderr
    match = LINE.match(first.stdout.strip())
    assert match and match["state"] == "created" and match["n"] == "1" and match["src"] == "2"
    again = consign_promote(*args, env=env)
    assert again.returncode == ExitCode.OK
    assert LINE.match(again.stdout.strip())["state"] == "unchanged"  # type: ignore[index]
    details = requests.get(f"{registry.url}{API}/QA/versions/1", timeout=30).json()
    assert details["promoted_by"] == {"by": "carol", "identity": "rm-carol"}
    # every option from the environment
    env_only = {
        **env,
        "CONSIGN_APPLICATION": "TLO GE",
        "CONSIGN_FROM_RELEASE": "Milestone",
        "CONSIGN_VERSION": "1",
        "CONSIGN_TO_RELEASE": "QA",
        "CONSIGN_PROMOTE_ATTEMPTS": "1",
    }
    by_env = consign_promote(env=env_only)
    assert by_env.returncode == ExitCode.OK, by_env.stderr
    assert LINE.match(by_env.stdout.strip())["n"] == "2"  # type: ignore[index]


def test_missing_release_refused_unless_created_on_purpose(registry: ServedRegistry) -> None:
    """A misspelt target names the release meant; only --create-release (or its variable)
    makes a new one."""
    env = {"CONSIGN_REGISTRY": registry.url, "CONSIGN_TOKEN": "rel"}
    args = ["TLO GE", "--from-release", "Milestone", "--version", "1", "--to-release"]
    new = consign_promote(*args, "QA", env=env)
    assert new.returncode == ExitCode.PUBLISH_FAILED
    assert "409 release_missing" in new.stderr and "has no release 'QA'" in new.stderr
    assert "promote again with --create-release" in new.stderr
    assert requests.get(f"{registry.url}{API}/QA/versions", timeout=30).status_code == 404
    made = consign_promote(*args, "QA", env={**env, "CONSIGN_CREATE_RELEASE": "true"})
    assert made.returncode == ExitCode.OK, made.stderr
    assert LINE.match(made.stdout.strip())["rel"] == "QA"  # type: ignore[index]
    misspelt = consign_promote(*args, "Qa", "--version", "2", env=env)
    assert misspelt.returncode == ExitCode.PUBLISH_FAILED
    assert "did you mean 'QA'?" in misspelt.stderr
    listed = requests.get(f"{registry.url}/api/applications/TLO%20GE/releases", timeout=30)
    assert "Qa" not in str(listed.json())
    # asked for: a new release, even one spelt like another
    on_purpose = consign_promote(*args, "Qa", "--create-release", env=env)
    assert on_purpose.returncode == ExitCode.OK, on_purpose.stderr
    assert "TLO GE / Qa v1" in on_purpose.stdout


def test_refusals_exit_7_with_every_reason(registry: ServedRegistry) -> None:
    url = registry.url
    rejection = {"by": "qa", "reason": "BUG-99"}
    headers = {"Authorization": "Bearer app"}
    posted = requests.post(
        f"{url}{API}/Milestone/versions/2/rejections", json=rejection, headers=headers
    )
    assert posted.status_code == 201
    headers = {"Authorization": "Bearer rel"}
    requests.put(f"{url}{API}/QA/policy", json={"approvals": 1}, headers=headers)
    env = {"CONSIGN_REGISTRY": url, "CONSIGN_TOKEN": "rel"}
    args = ["TLO GE", "--from-release", "Milestone", "--version", "2", "--to-release", "QA"]
    refused = consign_promote(*args, env=env)
    assert refused.returncode == ExitCode.PUBLISH_FAILED
    assert "409 refused" in refused.stderr
    assert "  - version 2 of TLO GE/Milestone was rejected by qa" in refused.stderr
    assert "  - version 2 has 0 approvals; the policy needs 1" in refused.stderr
    freeze = {"by": "carol", "reason": "go-live"}
    requests.put(f"{url}{API}/QA/freeze", json=freeze, headers=headers)
    frozen = consign_promote(*args[:4], "1", *args[5:], env=env)
    assert frozen.returncode == ExitCode.PUBLISH_FAILED
    assert "423 locked" in frozen.stderr and "go-live" in frozen.stderr
    wrong = consign_promote(*args, env={**env, "CONSIGN_TOKEN": "app"})
    assert wrong.returncode == ExitCode.PUBLISH_FAILED and "403" in wrong.stderr


def test_missing_version_or_registry_exit_5(registry: ServedRegistry) -> None:
    env = {"CONSIGN_REGISTRY": registry.url, "CONSIGN_TOKEN": "rel"}
    args = ["TLO GE", "--from-release", "Milestone", "--to-release", "QA"]
    missing = consign_promote(*args, "--version", "9", env=env)
    assert missing.returncode == ExitCode.REGISTRY_UNREACHABLE
    assert "has no version 9" in missing.stderr
    nowhere = f"http://127.0.0.1:{free_port()}"
    down = consign_promote(*args, "--version", "1", "--registry", nowhere, "--attempts", "1")
    assert down.returncode == ExitCode.REGISTRY_UNREACHABLE
    usage = consign_promote("TLO GE", "--from-release", "Milestone", "--version", "1", env=env)
    assert usage.returncode == ExitCode.USAGE and "--to-release" in usage.stderr
