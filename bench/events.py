"""Events benchmark (`python -m bench events`): webhooks through real gunicorn on loopback.

Two registries run side by side (2 workers each, durable, each its own repository): one
without subscriptions, one with three (two quick receivers and one slow receiver that takes
30 s to answer each request, with ``CONSIGN_WEBHOOKS_TIMEOUT=60s`` so its lane is held the
whole time). Sequential publishes go to one and the other in pairs, the first of each pair
alternating, so noise hits both alike; reported:

- publish p50 with three subscribers / p50 without (target ≤ 1.05);
- delivery latency: from the publish's answer (client side) to the quick receiver's arrival
  of that version's event, same machine, same monotonic clock (target p50 ≤ 200 ms).
"""

from __future__ import annotations

import base64
import json
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests

from bench.common import serve, summary_ms, write_results

APP, REL = "Bench Events", "R1"
SLOW_SECONDS = 30.0


class Arrivals:
    """A receiver's record: version number -> monotonic arrival time."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.seen: dict[int, float] = {}
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> str:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                at = time.monotonic()
                version = json.loads(body).get("data", {}).get("version")
                with owner.lock:
                    owner.seen.setdefault(int(version), at)
                if owner.delay:
                    time.sleep(owner.delay)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def publish(session: requests.Session, base: str, build: int) -> tuple[float, float, int]:
    """(latency, the monotonic time of the answer, the version made)."""
    text = f"services:\n  web:\n    image: busybox\n    environment:\n      BUILD: '{build}'\n"
    body = {
        "fragment": base64.b64encode(text.encode()).decode(),
        "applications": [APP],
        "releases": [REL],
        "component": "web",
        "build": {"buildNumber": build},
    }
    t0 = time.monotonic()
    r = session.put(f"{base}/fragment", json=body, timeout=30)
    answered = time.monotonic()
    if r.status_code != 201:
        raise RuntimeError(f"publish answered {r.status_code}: {r.text[:300]}")
    return answered - t0, answered, int(r.json()["versions"][0]["version"])


def run(samples: int = 200) -> dict[str, Any]:
    quick, other, slow = Arrivals(), Arrivals(), Arrivals(delay=SLOW_SECONDS)
    urls = [quick.start(), other.start(), slow.start()]
    with tempfile.TemporaryDirectory(prefix="bench-events-") as tmp:
        folder = Path(tmp)
        hooks = folder / "hooks.yaml"
        (folder / "secret").write_text("bench-secret\n")
        entries = [
            f"  - {{name: {name}, url: '{url}', events: ['*'], secret_file: '{folder / 'secret'}'}}"
            for name, url in zip(("quick", "other", "slow"), urls, strict=True)
        ]
        hooks.write_text("allow_private: true\nsubscriptions:\n" + "\n".join(entries) + "\n")
        env = {"CONSIGN_WEBHOOKS_FILE": str(hooks), "CONSIGN_WEBHOOKS_TIMEOUT": "60s"}
        without_times: list[float] = []
        with_times: list[float] = []
        answers: dict[int, float] = {}
        with (
            serve(folder / "plain.git", workers=2) as plain,
            serve(folder / "hooked.git", workers=2, env=env) as hooked,
        ):
            s = requests.Session()
            build = 0
            for base in (plain, hooked):  # unmeasured: each worker has read the release
                for _ in range(8):
                    publish(s, base, build := build + 1)
            for n in range(samples):  # pairs, the first of each pair alternating
                order = (plain, hooked) if n % 2 == 0 else (hooked, plain)
                for base in order:
                    latency, answered, version = publish(s, base, build := build + 1)
                    if base == plain:
                        without_times.append(latency)
                    else:
                        with_times.append(latency)
                        answers[version] = answered
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not set(answers) <= set(quick.seen):
                time.sleep(0.1)
            s.close()
    for r in (quick, other, slow):
        r.stop()
    delivered = [quick.seen[v] - answers[v] for v in answers if v in quick.seen]
    without, with_hooks = summary_ms(without_times), summary_ms(with_times)
    ratio = with_hooks["p50_ms"] / without["p50_ms"]
    delivery = summary_ms(delivered)
    data: dict[str, Any] = {
        "publish_without_subscribers": without,
        "publish_with_three_subscribers_one_slow": with_hooks,
        "delivery_latency_quick_receiver": delivery,
        "delivered": f"{len(delivered)} of {len(answers)}",
        "slow_receiver_requests_started": len(slow.seen),
        "targets": {
            "publish p50 with 3 subscribers (one 30 s slow) / without (target <= 1.05)": round(
                ratio, 3
            ),
            "delivery latency p50 ms, publish answer -> receiver (target <= 200)": delivery[
                "p50_ms"
            ],
            "delivered to the quick receiver": f"{len(delivered)} of {len(answers)}",
        },
    }
    write_results("events", data)
    return data
