"""Slow clients against each gunicorn worker class (`python -m bench slowclients`).

For each worker class a real `consign serve` (4 workers) gets ``slow`` connections that
trickle their request one byte per second (``headers``: an endless header; ``body``: a
``PUT /fragment`` whose announced body never finishes arriving). Meanwhile a prober asks
``GET /healthz`` on a fresh connection every 0.25 s with a 2 s timeout: availability is the
share of probes answered, with their latency. Then, with no slow client, the ordinary
figures: ``GET /healthz`` and ``GET`` descriptor latency from 4 concurrent clients, and
sequential publishes, so the choice costs nothing in the normal case.
"""

from __future__ import annotations

import base64
import json
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from bench.common import serve, summary_ms, write_results

CONFIGS: dict[str, list[str]] = {
    "sync": ["--worker-class", "sync"],
    "gthread-8": ["--worker-class", "gthread", "--threads", "8"],
    "gthread-64": ["--worker-class", "gthread", "--threads", "64"],
}
try:
    import gevent  # noqa: F401 - measured when installed (it is no dependency)

    CONFIGS["gevent"] = ["--worker-class", "gevent"]
except ImportError:
    pass
FRAGMENT = base64.b64encode(b"services:\n  web:\n    image: busybox\n").decode()


def _host_port(base: str) -> tuple[str, int]:
    host, port = base.removeprefix("http://").split(":")
    return host, int(port)


class Tricklers:
    """``count`` connections that each send one more byte every second until stopped."""

    def __init__(self, base: str, count: int, mode: str) -> None:
        self.address = _host_port(base)
        self.count, self.mode = count, mode
        self.sockets: list[socket.socket] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _opening(self) -> bytes:
        if self.mode == "headers":
            return b"GET /healthz HTTP/1.1\r\nHost: bench\r\nX-Slow: "
        return (
            b"PUT /fragment HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100000\r\n\r\n{"
        )

    def __enter__(self) -> Tricklers:
        for _ in range(self.count):
            sock = socket.create_connection(self.address, timeout=5)
            sock.sendall(self._opening())
            self.sockets.append(sock)
        self.thread.start()
        return self

    def _run(self) -> None:
        while not self.stopping.wait(1.0):
            for sock in list(self.sockets):
                try:
                    sock.sendall(b"a" if self.mode == "headers" else b" ")
                except OSError:  # the server gave up on it: open another, as an attacker would
                    self.sockets.remove(sock)
                    try:
                        fresh = socket.create_connection(self.address, timeout=5)
                        fresh.sendall(self._opening())
                        self.sockets.append(fresh)
                    except OSError:
                        pass

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.thread.join()
        for sock in self.sockets:
            sock.close()


def probe(base: str, seconds: float) -> dict[str, Any]:
    """GET /healthz every 0.25 s (fresh connection, 2 s timeout) for ``seconds``."""
    answered: list[float] = []
    failed = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.monotonic()
        try:
            ok = requests.get(f"{base}/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            ok = False
        if ok:
            answered.append(time.monotonic() - started)
        else:
            failed += 1
        time.sleep(max(0.0, 0.25 - (time.monotonic() - started)))
    total = len(answered) + failed
    return {
        "probes": total,
        "answered": len(answered),
        "availability": len(answered) / total,
        "latency": summary_ms(answered),
    }


def publish(base: str, i: int) -> float:
    body = {
        "fragment": FRAGMENT,
        "applications": ["Bench"],
        "releases": ["R"],
        "component": "web",
        "build": {"buildNumber": i},
    }
    started = time.monotonic()
    response = requests.put(f"{base}/fragment", json=body, timeout=30)
    response.raise_for_status()
    return time.monotonic() - started


def concurrent_gets(base: str, path: str, count: int, clients: int) -> dict[str, Any]:
    def one(_: int) -> float:
        with requests.Session() as session:
            started = time.monotonic()
            session.get(base + path, timeout=10).raise_for_status()
            return time.monotonic() - started

    with ThreadPoolExecutor(clients) as pool:
        started = time.monotonic()
        samples = list(pool.map(one, range(count)))
        elapsed = time.monotonic() - started
    return {**summary_ms(samples), "per_second": round(count / elapsed, 1)}


def measure(
    name: str, extra: list[str], slow: int, seconds: float, log: Callable[[str], None]
) -> dict[str, Any]:
    result: dict[str, Any] = {}
    with (
        tempfile.TemporaryDirectory(prefix="consign-bench-slow-") as tmp,
        serve(Path(tmp) / "registry.git", workers=4, extra=extra) as base,
    ):
        result["publish"] = summary_ms([publish(base, i) for i in range(40)])
        result["healthz"] = concurrent_gets(base, "/healthz", 400, 4)
        result["descriptor"] = concurrent_gets(
            base, "/descriptor/application/Bench/R/latest", 400, 4
        )
        result["baseline"] = probe(base, 3)
        for mode in ("headers", "body"):
            with Tricklers(base, slow, mode):
                result[f"slow_{mode}"] = probe(base, seconds)
            log(f"{name} {mode}: {result[f'slow_{mode}']['availability']:.0%} answered")
    return result


def run(slow: int = 50, seconds: float = 20, log: Callable[[str], None] = print) -> dict[str, Any]:
    results = {name: measure(name, extra, slow, seconds, log) for name, extra in CONFIGS.items()}
    write_results("slowclients", {"slow_connections": slow, "seconds": seconds, **results})
    return {
        "targets": {
            name: {
                "availability_slow_headers": r["slow_headers"]["availability"],
                "availability_slow_body": r["slow_body"]["availability"],
                "healthz_p50_ms_under_slow_headers": r["slow_headers"]["latency"]["p50_ms"],
                "publish_p50_ms": r["publish"]["p50_ms"],
                "descriptor_get_per_second": r["descriptor"]["per_second"],
                "healthz_get_per_second": r["healthz"]["per_second"],
            }
            for name, r in results.items()
        }
    }


if __name__ == "__main__":
    print(json.dumps(run()["targets"], indent=2))
