"""Fixtures for the registry's HTTP tests: a fresh bare repo per test (checked with
``git fsck --strict`` afterwards), the Flask app and client on it, and a real gunicorn
``consign serve`` on a free loopback port."""

from __future__ import annotations

import base64
import gc
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from consign.process import run
from registry.http.app import create_app
from registry.http.storage import STORE_EXTENSION
from registry.store.locking import LOCK_NAME
from tests.serving import ServedRegistry

OPEN = {"PUBLISH_TOKENS": "", "READ_TOKENS": "", "PUBLISH_TOKENS_FILE": "", "READ_TOKENS_FILE": ""}


def b64(text: str | bytes) -> str:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return base64.b64encode(data).decode("ascii")


def refs(repo: Path) -> dict[str, str]:
    """Every ref of the repo and what it points at ({} before the repo exists)."""
    if not repo.exists():
        return {}
    out = run(["git", "--git-dir", str(repo), "for-each-ref", "--format=%(refname) %(objectname)"])
    return dict(line.split(" ", 1) for line in out.stdout.splitlines())


def git_locks(repo: Path) -> list[str]:
    """Git's lock files in the repo (``*.lock``, not the store's own flock file): a Git
    process that ended normally, or by SIGTERM/SIGINT, leaves none behind."""
    if not repo.exists():
        return []
    found = (str(p.relative_to(repo)) for p in repo.rglob("*.lock") if p.name != LOCK_NAME)
    return sorted(found)


def objects(repo: Path) -> set[str]:
    """Every file under objects/ (loose objects and packs): proves nothing was written."""
    root = repo / "objects"
    return (
        {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}
        if root.exists()
        else set()
    )


def fsck(repo: Path) -> None:
    if (repo / "HEAD").exists():
        result = run(["git", "--git-dir", str(repo), "fsck", "--strict"], check=False)
        assert result.returncode == 0, f"git fsck --strict failed:\n{result.stdout}{result.stderr}"


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Path]:
    """The bare repo path; `git fsck --strict` must be clean when the test ends."""
    path = tmp_path / "registry.git"
    yield path
    fsck(path)


@pytest.fixture
def make_app(repo: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A factory: make_app(**config) -> Flask on `repo`, with no CONSIGN_* leaking in."""
    for key in list(os.environ):
        if key.startswith("CONSIGN_"):
            monkeypatch.delenv(key)

    made: list[Flask] = []

    def make(**config: Any) -> Flask:
        app = create_app({"REPO": str(repo), "TESTING": True, **OPEN, **config})
        made.append(app)
        return app

    yield make
    # Stop each app's Git helpers now and collect the apps: left to the cyclic GC, their
    # finalizers could run deep inside a later test's recursion (test_yamlio's nesting).
    for app in made:
        app.extensions[STORE_EXTENSION].close()
    made.clear()
    gc.collect()


@pytest.fixture
def app(make_app: Any) -> Flask:
    made: Flask = make_app()
    return made


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def publish(
    client: FlaskClient, fragment: str, apps: list[str], rels: list[str], **extra: Any
) -> Any:
    body = {"fragment": b64(fragment), "applications": apps, "releases": rels, **extra}
    return client.put("/fragment", json=body)


@pytest.fixture
def served(repo: Path, tmp_path: Path) -> Iterator[ServedRegistry]:
    """A real `consign serve` with 4 workers on `repo`."""
    with ServedRegistry(repo, tmp_path / "serve.log", workers=4).start() as server:
        yield server
