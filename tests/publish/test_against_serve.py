"""`consign publish` (a real process) against a real `consign serve` (gunicorn, Git)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from consign.exit_codes import ExitCode
from consign.process import run
from tests.publish.conftest import consign_publish
from tests.serving import CONSIGN, ROOT, ServedRegistry

TRANSMISSION = """\
transmission-data:
  image: busybox
  command: 'true'
transmission:
  image: busybox
  command: sleep 3600
  volumes_from:
  - transmission-data
"""
PLEX = """\
plex:
  image: busybox
  command: sleep 3600
  volumes_from:
  - bittorrent-sync-data
"""
LINE = re.compile(
    r"^(?P<app>.+) / (?P<rel>.+) v(?P<n>\d+) (?P<commit>[0-9a-f]{40}) (?P<state>\w+)$"
)

BAMBOO = {
    "bamboo_planKey": "TLO-PLEX",
    "bamboo_buildNumber": "12",
    "bamboo_buildResultsUrl": "https://bamboo.example/browse/TLO-PLEX-JOB1-12",
    "bamboo_planRepository_revision": "c0ffee",
}


def _lines(stdout: str) -> list[dict[str, str]]:
    """The version lines (a first line names the component when the registry chose it)."""
    lines = [line for line in stdout.splitlines() if not line.startswith("component ")]
    parsed = [LINE.match(line) for line in lines]
    assert all(parsed), stdout
    return [m.groupdict() for m in parsed if m]


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_publish_prints_versions_and_is_safe_to_repeat(
    serve: ServedRegistry, tmp_path: Path
) -> None:
    serve.start()
    env = {"CONSIGN_REGISTRY": serve.url, "CONSIGN_RELEASES": "Milestone"}
    first = consign_publish(
        _write(tmp_path, "t.yml", TRANSMISSION), "-a", "TLO GE", "-a", "TLO EE", env=env
    )
    assert first.returncode == 0, first.stderr
    assert [(x["app"], x["n"], x["state"]) for x in _lines(first.stdout)] == [
        ("TLO GE", "1", "created"),
        ("TLO EE", "1", "created"),
    ]

    plex = _write(tmp_path, "p.yml", PLEX)
    second = consign_publish(plex, "-a", "TLO GE", env={**env, **BAMBOO})
    assert second.returncode == 0, second.stderr
    [created] = _lines(second.stdout)
    assert (created["n"], created["state"]) == ("2", "created")
    assert "bittorrent-sync-data" in second.stderr  # the registry's warning is shown

    # Bamboo's variables became the component's provenance, as stored in Git.
    manifest = run(
        ["git", "--git-dir", str(serve.repo), "show", f"{created['commit']}:consign.json"]
    )
    builds = [c["build"] for c in json.loads(manifest.stdout)["components"]]
    assert {
        "ci": "bamboo",
        "planKey": "TLO-PLEX",
        "buildNumber": "12",
        "buildResultsUrl": "https://bamboo.example/browse/TLO-PLEX-JOB1-12",
        "planRepository.revision": "c0ffee",
    } in builds

    again = consign_publish(plex, "-a", "TLO GE", env={**env, **BAMBOO})
    assert again.returncode == 0, again.stderr
    [same] = _lines(again.stdout)
    assert (same["n"], same["commit"], same["state"]) == ("2", created["commit"], "unchanged")


def test_conflict_exits_7_with_the_registrys_message(serve: ServedRegistry, tmp_path: Path) -> None:
    serve.start()
    env = {"CONSIGN_REGISTRY": serve.url, "CONSIGN_APPLICATIONS": "TLO GE", "CONSIGN_RELEASES": "M"}
    ok = consign_publish(_write(tmp_path, "t.yml", TRANSMISSION), "-c", "torrent", env=env)
    assert ok.returncode == 0, ok.stderr
    clash = consign_publish(_write(tmp_path, "x.yml", TRANSMISSION), "-c", "media", env=env)
    assert clash.returncode == ExitCode.PUBLISH_FAILED, clash.stdout + clash.stderr
    assert "409" in clash.stderr
    assert "torrent" in clash.stderr and "media" in clash.stderr
    assert clash.stdout == ""


def test_token_from_the_environment(serve: ServedRegistry, tmp_path: Path) -> None:
    serve.env = {"CONSIGN_PUBLISH_TOKENS": "right-token"}
    serve.start()
    fragment = _write(tmp_path, "t.yml", TRANSMISSION)
    env = {"CONSIGN_REGISTRY": serve.url, "CONSIGN_APPLICATIONS": "A", "CONSIGN_RELEASES": "R"}
    missing = consign_publish(fragment, env=env)
    assert missing.returncode == ExitCode.PUBLISH_FAILED
    assert "401" in missing.stderr
    wrong = consign_publish(fragment, env={**env, "CONSIGN_TOKEN": "wrong"})
    assert wrong.returncode == ExitCode.PUBLISH_FAILED
    assert "403" in wrong.stderr
    right = consign_publish(fragment, env={**env, "CONSIGN_TOKEN": "right-token"})
    assert right.returncode == 0, right.stderr
    assert right.stdout.endswith(" created\n")


@pytest.mark.timeout(120)
def test_retries_until_the_registry_comes_up(serve: ServedRegistry, tmp_path: Path) -> None:
    """Connection refused is retried: publish first, start the registry a moment later."""
    fragment = _write(tmp_path, "t.yml", TRANSMISSION)
    env = {
        "CONSIGN_REGISTRY": serve.url,
        "CONSIGN_APPLICATIONS": "A",
        "CONSIGN_RELEASES": "R",
        "CONSIGN_PUBLISH_ATTEMPTS": "8",
        "CONSIGN_PUBLISH_BACKOFF": "0.5",
    }
    proc = subprocess.Popen(
        [*CONSIGN, "publish", fragment],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(1.0)
        serve.start()
        stdout, stderr = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, stderr
    assert "retrying in" in stderr and "connection refused (nothing listens there)" in stderr
    assert "HTTPConnectionPool" not in stderr
    assert [x["state"] for x in _lines(stdout)] == ["created"]


def test_a_leftover_git_lock_is_named_and_the_retry_after_removal_publishes(
    serve: ServedRegistry, tmp_path: Path
) -> None:
    """`consign publish` retries the 503 ref_locked, then gives up naming the lock file;
    run again once an operator has removed it, it publishes."""
    serve.start()
    env = {"CONSIGN_REGISTRY": serve.url, "CONSIGN_RELEASES": "Milestone"}
    env |= {"CONSIGN_PUBLISH_ATTEMPTS": "2", "CONSIGN_PUBLISH_BACKOFF": "0"}
    path = _write(tmp_path, "t.yml", TRANSMISSION)
    assert consign_publish(path, "-a", "TLO GE", env=env).returncode == 0
    lock = serve.repo / "refs/heads/TLO%20GE/Milestone.lock"
    lock.write_text("")  # as a SIGKILLed git leaves it

    plex = _write(tmp_path, "p.yml", PLEX)
    refused = consign_publish(plex, "-a", "TLO GE", env=env)
    assert refused.returncode == ExitCode.PUBLISH_FAILED, refused.stdout + refused.stderr
    assert "attempt 1/2 failed (503 ref_locked" in refused.stderr
    assert "gave up after 2 attempts: 503 ref_locked" in refused.stderr
    assert str(lock) in refused.stderr and lock.exists()

    lock.unlink()
    retried = consign_publish(plex, "-a", "TLO GE", env=env)
    assert retried.returncode == 0, retried.stderr
    assert [(x["n"], x["state"]) for x in _lines(retried.stdout)] == [("2", "created")]
