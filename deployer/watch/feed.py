"""The Docker event stream of one Compose project, read on a background thread.

``client.api.events()`` performs the HTTP request in the calling thread, so the
subscription exists when :class:`EventFeed` returns; only reading happens on the thread.
Health probes make ``exec_*`` events every interval; they are dropped here.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from typing import Any

import docker

#: Container actions after which a re-inspect can change a verdict.
RELEVANT = frozenset(
    {"create", "start", "restart", "die", "kill", "oom", "stop", "destroy", "health_status"}
    | {"pause", "unpause"}
)
Event = dict[str, Any]


def event_action(event: Event) -> str:
    """``health_status: healthy`` -> ``health_status``."""
    return str(event.get("Action") or event.get("status") or "").split(":", 1)[0].strip()


def event_exit_code(event: Event) -> int | None:
    """The exit code a ``die`` event carries (gone from inspect once it restarted)."""
    if event_action(event) != "die":
        return None
    code = ((event.get("Actor") or {}).get("Attributes") or {}).get("exitCode")
    try:
        return None if code is None else int(code)
    except ValueError:
        return None


class EventFeed:
    def __init__(self, client: docker.DockerClient, label: str, *, since: float) -> None:
        self._queue: queue.Queue[Event] = queue.Queue()
        filters = {"type": "container", "label": label}
        self._stream = client.api.events(decode=True, filters=filters, since=f"{since:.3f}")
        self._thread = threading.Thread(target=self._pump, name="consign-events", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        # The stream ends with an exception when close() shuts its socket; that is the exit.
        with contextlib.suppress(Exception):
            for event in self._stream:
                if event_action(event) in RELEVANT:
                    self._queue.put(event)

    @property
    def alive(self) -> bool:
        """False once the stream has ended (engine restarted, connection lost)."""
        return self._thread.is_alive()

    def drain(self, wait: float) -> list[Event]:
        """Every queued event, waiting up to ``wait`` seconds for the first one."""
        try:
            first = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
        except queue.Empty:
            return []
        events = [first]
        while True:
            try:
                events.append(self._queue.get_nowait())
            except queue.Empty:
                return events

    def close(self) -> None:
        try:
            self._stream.close()
        except Exception:
            # SSH streams (paramiko) cannot be cancelled: the daemon thread is left to end
            # with the process rather than waited for.
            return
        self._thread.join(timeout=2)
