"""``/metrics`` under gunicorn with several workers: counters add up across workers.

Scraped by the Prometheus text-format parser of ``prometheus_client`` after a known number
of publishes, retries, conflicts and reads sent concurrently so that every worker answers
some of them.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.registry.conftest import b64
from tests.serving import ServedRegistry

PUBLISHES = 24


def _samples(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = requests.get(f"{url}/metrics", timeout=30).text
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


def _publish(url: str, i: int) -> int:
    fragment = f"services:\n  svc{i}:\n    image: busybox:1.{i}\n"
    body = {"fragment": b64(fragment), "applications": ["M"], "releases": [f"R{i % 3}"]}
    return requests.put(f"{url}/fragment", json=body, timeout=60).status_code


def test_counters_add_up_across_workers(tmp_path: Path) -> None:
    metrics_dir = tmp_path / "metrics"
    env = {"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    with ServedRegistry(tmp_path / "r.git", tmp_path / "serve.log", env=env, workers=3) as s:
        s.start()
        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(lambda i: _publish(s.url, i), range(PUBLISHES)))
            retries = list(pool.map(lambda i: _publish(s.url, i), range(4)))  # same again: 200
            reads = list(
                pool.map(lambda _: requests.get(f"{s.url}/healthz").status_code, range(16))
            )
        assert codes == [201] * PUBLISHES and retries == [200] * 4 and reads == [200] * 16
        # svc0 is owned by component svc0 in M/R0: claiming it as another component is a 409
        clash = {
            "fragment": b64("services:\n  svc0:\n    image: busybox\n"),
            "applications": ["M"],
            "releases": ["R0"],
            "component": "other",
        }
        assert requests.put(f"{s.url}/fragment", json=clash, timeout=30).status_code == 409

        samples = _samples(s.url)
        workers_with_files = {p.name.rsplit("_", 1)[-1] for p in metrics_dir.glob("counter_*.db")}
    assert len(workers_with_files) >= 2, "the requests should have reached several workers"

    def value(name: str, **labels: str) -> float:
        return samples.get((name, tuple(sorted(labels.items()))), 0.0)

    assert value("consign_versions_created_total") == PUBLISHES
    assert value("consign_publish_conflicts_total") == 1
    route = "/fragment"
    assert (
        value("consign_http_requests_total", route=route, method="PUT", status="201") == PUBLISHES
    )
    assert value("consign_http_requests_total", route=route, method="PUT", status="200") == 4
    assert value("consign_http_requests_total", route="/healthz", method="GET", status="200") >= 16
    assert value("consign_publish_duration_seconds_count") == PUBLISHES + 4 + 1
    # every publish that reached the store waited for the writer lock once (not the 409:
    # it is refused while planning, under the lock too)
    assert value("consign_store_lock_wait_seconds_count") == PUBLISHES + 4 + 1
