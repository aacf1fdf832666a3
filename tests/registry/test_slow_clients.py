"""Slow clients cannot take the registry down: with 50 connections trickling their headers
or their body one byte a second, a real `consign serve` still answers every probe.

This checks availability, not speed (the figures are `python -m bench slowclients`): each
probe may take as long as a generous timeout allows, but none may go unanswered.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from bench.slowclients import Tricklers
from tests.serving import ServedRegistry

SLOW = 50
PROBES = 8


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServedRegistry]:
    with ServedRegistry(tmp_path / "registry.git", tmp_path / "serve.log", workers=2) as served:
        yield served.start()


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["headers", "body"])
def test_fifty_slow_clients_leave_the_registry_available(server: ServedRegistry, mode: str) -> None:
    with Tricklers(server.url, SLOW, mode) as slow:
        answers = [
            requests.get(f"{server.url}/healthz", timeout=30).status_code for _ in range(PROBES)
        ]
        published = requests.put(
            f"{server.url}/fragment",
            json={
                "fragment": "c2VydmljZXM6CiAgd2ViOgogICAgaW1hZ2U6IGJ1c3lib3gK",
                "applications": ["Slow"],
                "releases": ["R"],
            },
            timeout=30,
        )
        still_open = len(slow.sockets)
    assert answers == [200] * PROBES
    assert published.status_code == 201, published.text
    assert still_open == SLOW  # the slow clients were there the whole time
