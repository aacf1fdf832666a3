"""The events side of the app (docs/events.md): the subscriptions file watched, the store
that emits, and in ``consign serve``'s workers the delivery worker's claimant.

Settings (``CONSIGN_`` + key): ``WEBHOOKS_FILE`` (no file: no events, nothing written),
``WEBHOOKS_DIR`` (default ``<repo>/consign-events``), ``WEBHOOKS_DURABLE`` (fsync each
outbox entry before answering), ``WEBHOOKS_RETRY_FOR`` (``1h``), ``WEBHOOKS_BACKOFF``
(first retry delay, ``1s``, doubling), ``WEBHOOKS_MAX_BACKOFF`` (``5m``),
``WEBHOOKS_TIMEOUT`` (per request, ``10s``), ``WEBHOOKS_CA_FILE`` (extra CA bundle for
https receivers), ``PUBLIC_URL`` (the registry's URL as people reach it: Slack links).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, current_app

from registry.events.config import ConfigWatch
from registry.events.emitting import EventedStore
from registry.events.outbox import Outbox
from registry.events.recovery import Checkpoints
from registry.events.rules import RetryRules, Settlement
from registry.events.sending import Sender
from registry.events.worker import DeliveryWorker, EventsHome
from registry.http import metrics
from registry.store import DescriptorStore

EXTENSION = "consign.events"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def duration(config: dict[str, Any], key: str) -> float:
    """``90``, ``1.5``, ``500ms``, ``20s``, ``30m``, ``1h``, ``2d`` -> seconds (> 0)."""
    value = config.get(key)
    match = _DURATION.match(str(value)) if not isinstance(value, bool) else None
    seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"] if match else 0.0
    if seconds <= 0:
        raise ValueError(f"CONSIGN_{key} must be a duration such as 20s, 30m or 1h, not {value!r}")
    return seconds


@dataclass(frozen=True)
class Events:
    watch: ConfigWatch
    home: EventsHome
    worker: DeliveryWorker | None


def _settled(subscription: str, settlement: Settlement) -> None:
    metrics.WEBHOOK_DELIVERIES.labels(subscription, settlement.value).inc()


def open_store(app: Flask, path: str, **options: Any) -> DescriptorStore:
    """The app's store: an :class:`EventedStore` when a webhooks file is set (loaded now: a
    bad one raises ValueError, and ``consign serve`` refuses to start)."""
    config = app.config
    watch = ConfigWatch(str(config.get("WEBHOOKS_FILE") or "") or None)
    folder = config.get("WEBHOOKS_DIR") or Path(path) / "consign-events"
    home = EventsHome(Path(str(folder)))
    rules = RetryRules(
        retry_for=duration(config, "WEBHOOKS_RETRY_FOR"),
        first_delay=duration(config, "WEBHOOKS_BACKOFF"),
        max_delay=duration(config, "WEBHOOKS_MAX_BACKOFF"),
    )
    sender = Sender(
        timeout=duration(config, "WEBHOOKS_TIMEOUT"),
        ca_file=str(config.get("WEBHOOKS_CA_FILE") or "") or None,
    )
    worker = None
    if watch.path is None:
        app.extensions[EXTENSION] = Events(watch, home, None)
        return DescriptorStore(path, **options)
    durable = bool(config.get("WEBHOOKS_DURABLE"))
    store = EventedStore(
        path,
        outbox=Outbox(home.outbox, durable=durable),
        wanted=lambda: bool(watch.current.subscriptions),
        **options,
    )
    if config.get("WEBHOOKS_DELIVER"):
        worker = DeliveryWorker(
            home,
            watch,
            rules=rules,
            sender=sender,
            public_url=str(config.get("PUBLIC_URL") or ""),
            settled=_settled,
            durable=durable,
            checkpoints=Checkpoints(store, home.root / "cursor.json"),
        )
        worker.start()
    app.extensions[EXTENSION] = Events(watch, home, worker)
    return store


def get_events() -> Events:
    found: Events = current_app.extensions[EXTENSION]
    return found
