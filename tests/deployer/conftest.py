"""Fixtures for the deploy flow's tests: unique names, scenario descriptors,
a local registry Git repo, and clean-up of every Compose project a test creates."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from consign.compose.refnames import encode as encode_name
from consign.process import run
from tests.deployer.helpers import take_down_all
from tests.serving import ServedRegistry, serving
from tests.serving import free_port as free_port  # re-exported for the deploy tests

ROOT = Path(__file__).resolve().parent.parent.parent
DESCRIPTORS = ROOT / "tests" / "data" / "descriptors"


def scenario(name: str, **subs: object) -> str:
    """A scenario descriptor's text with its @PLACEHOLDERS@ filled in."""
    text = (DESCRIPTORS / name).read_text()
    for key, value in subs.items():
        text = text.replace(f"@{key.upper()}@", str(value))
    left = re.findall(r"@[A-Z0-9]+@", text)
    assert not left, f"unfilled placeholders {left} in {name}"
    return text


@pytest.fixture
def prefix() -> str:
    return f"de-{secrets.token_hex(4)}"


@pytest.fixture
def projects() -> Iterator[list[str]]:
    """Append every Compose project a test creates; all are removed afterwards."""
    made: list[str] = []
    yield made
    take_down_all(made)


@pytest.fixture
def project(prefix: str, projects: list[str]) -> str:
    projects.append(prefix)
    return prefix


def git_publish(repo: Path, application: str, release: str, number: int, text: str) -> str:
    """Add a version to a bare registry repo the way the store lays it out; its commit."""
    if not (repo / "HEAD").exists():
        run(["git", "init", "-q", "--bare", str(repo)])
    git = ["git", "-C", str(repo)]
    manifest = json.dumps(
        {
            "application": application,
            "release": release,
            "version": number,
            "components": [{"name": "web", "build": {"plan": "DE-WEB", "number": number}}],
        }
    )
    blob = run([*git, "hash-object", "-w", "--stdin"], input=text).stdout.strip()
    mblob = run([*git, "hash-object", "-w", "--stdin"], input=manifest).stdout.strip()
    tree = run(
        [*git, "mktree"],
        input=f"100644 blob {mblob}\tconsign.json\n100644 blob {blob}\tdocker-compose.yml\n",
    ).stdout.strip()
    branch = f"refs/heads/{encode_name(application)}/{encode_name(release)}"
    parent = run([*git, "rev-parse", "-q", "--verify", branch], check=False).stdout.strip()
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@x",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@x",
    }
    argv = [*git, "commit-tree", tree, "-m", f"version {number}"] + (
        ["-p", parent] if parent else []
    )
    commit = run(argv, env=env).stdout.strip()
    run([*git, "update-ref", branch, commit])
    run(
        [
            *git,
            "update-ref",
            f"refs/tags/{encode_name(application)}/{encode_name(release)}/{number}",
            commit,
        ]
    )
    return commit


class GitRegistry:
    """A bare repo laid out like the registry's store, for `--git` deploys."""

    def __init__(self, repo: Path) -> None:
        self.repo = repo

    def publish(self, application: str, release: str, number: int, text: str) -> str:
        return git_publish(self.repo, application, release, number, text)


@pytest.fixture
def git_registry(tmp_path: Path) -> GitRegistry:
    return GitRegistry(tmp_path / "registry.git")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServedRegistry]:
    """A real `consign serve` (gunicorn, two workers) on loopback with a fresh repo."""
    with serving(ServedRegistry(tmp_path / "registry.git", tmp_path / "serve.log", workers=2)) as s:
        yield s
