"""OCI pull endpoints against a real `consign serve`: manifest by tag (first build and
cached), a blob found by digest in a worker that has built nothing (the newest-first search),
and the cost of attaching env files to a publish."""

from __future__ import annotations

import base64
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from bench.common import serve, summary_ms

APP, REL = "Bench OCI", "R"
NAME = "bench-oci/r"


def _fragment(i: int, build: int) -> dict[str, Any]:
    text = f"services:\n  svc{i}:\n    image: busybox:latest\n    env_file: env/svc{i}.env\n"
    return {
        "fragment": base64.b64encode(text.encode()).decode(),
        "applications": [APP],
        "releases": [REL],
        "build": {"buildNumber": build},
        "files": {f"env/svc{i}.env": base64.b64encode(f"B={build}\n".encode()).decode()},
    }


def run(versions: int = 300, samples: int = 100) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "r.git"
        figures = _measure(repo, versions, samples)
        # a fresh server: nothing built; the oldest version's layer is found by searching
        with serve(repo, workers=1) as base:
            started = time.perf_counter()
            found = requests.get(f"{base}/v2/{NAME}/blobs/{figures.pop('digest')}", timeout=600)
            figures["blob_of_oldest_version_cold_search_ms"] = round(
                (time.perf_counter() - started) * 1000, 1
            )
            assert found.status_code == 200
    return {"targets": figures}


def _measure(repo: Path, versions: int, samples: int) -> dict[str, Any]:
    with serve(repo, workers=1) as base:
        http = requests.Session()
        publish_times = []
        for n in range(versions):  # 10 components, each republished with a new build
            started = time.perf_counter()
            answer = http.put(f"{base}/fragment", json=_fragment(n % 10, n), timeout=60)
            publish_times.append(time.perf_counter() - started)
            assert answer.status_code == 201, answer.text
        first = []
        for n in range(1, samples + 1):
            started = time.perf_counter()
            assert http.get(f"{base}/v2/{NAME}/manifests/{n}", timeout=60).status_code == 200
            first.append(time.perf_counter() - started)
        cached = []
        for n in range(1, samples + 1):
            started = time.perf_counter()
            assert http.get(f"{base}/v2/{NAME}/manifests/{n}", timeout=60).status_code == 200
            cached.append(time.perf_counter() - started)
        oldest = json.loads(http.get(f"{base}/v2/{NAME}/manifests/1", timeout=60).content)
    return {
        "versions": versions,
        "publish_with_env_file": summary_ms(publish_times),
        "manifest_first_build": summary_ms(first),
        "manifest_cached": summary_ms(cached),
        "digest": oldest["layers"][0]["digest"],
    }
