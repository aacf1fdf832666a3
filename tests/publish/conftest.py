"""Fixtures for `consign publish`: a clean environment, a real `consign serve` on demand."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from tests.serving import CONSIGN, ROOT, ServedRegistry


@pytest.fixture(autouse=True)
def _no_ci_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Neither the developer's CONSIGN_* nor a real Bamboo agent's bamboo_* may leak in."""
    for key in list(os.environ):
        if key.startswith(("CONSIGN_", "bamboo_")):
            monkeypatch.delenv(key)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[ServedRegistry]:
    """A registry not yet started (tests start it, possibly late, with .start())."""
    with ServedRegistry(tmp_path / "registry.git", tmp_path / "serve.log") as server:
        yield server


def consign_publish(
    *args: str, env: Mapping[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run `consign publish ARGS` the way a Bamboo script task does: a process, env vars."""
    return subprocess.run(
        [*CONSIGN, "publish", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
