"""``GET /api/webhooks`` and ``GET /api/webhooks/{name}/deliveries`` (role ``admin``): the
subscriptions in force (never their secrets, nor the path of their URLs), the error of a
reload that was refused, and each subscription's queue and delivery log (docs/events.md)."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, jsonify, request

from consign.suggest import did_you_mean
from registry.errors import NotFound
from registry.events.deliverylog import DeliveryLog
from registry.events.rules import Job
from registry.http.auth import require_admin
from registry.http.events import get_events
from registry.http.parsing.fields import parse_int_arg

bp = Blueprint("webhooks", __name__, url_prefix="/api/webhooks")


def _stamp(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _pending_json(job: Job) -> dict[str, Any]:
    return {
        "id": job.event.id,
        "event": job.event.kind,
        "subject": job.event.subject,
        "queued": _stamp(job.queued),
        "attempts": job.attempts,
        "next_attempt": _stamp(job.next_at) if job.attempts else None,
        "last": job.last or None,
    }


@bp.get("")
def subscriptions() -> Response:
    require_admin()
    events = get_events()
    config = events.watch.current
    logs = DeliveryLog(events.home.logs)
    listed = []
    for sub in config.subscriptions:
        last = logs.entries(sub.name, limit=1)
        listed.append(
            sub.to_json()
            | {"pending": len(events.home.pending(sub.name)), "last": last[0] if last else None}
        )
    error = events.watch.error
    return jsonify(
        {
            "file": events.watch.path,
            "error": (
                {"message": error, "since": _stamp(events.watch.error_at)} if error else None
            ),
            "subscriptions": listed,
        }
    )


@bp.get("/<name>/deliveries")
def deliveries(name: str) -> Response:
    """The queue (oldest first) and the log (newest first, ``?limit=``, default 100)."""
    require_admin()
    events = get_events()
    config = events.watch.current
    if config.named(name) is None:
        hint = did_you_mean(name, [s.name for s in config.subscriptions])
        raise NotFound(f"no webhook subscription named {name!r}{hint}")
    limit = parse_int_arg("limit", request.args.get("limit"), maximum=1000) or 100
    return jsonify(
        {
            "subscription": name,
            "pending": [_pending_json(j) for j in events.home.pending(name)],
            "deliveries": DeliveryLog(events.home.logs).entries(name, limit=limit),
        }
    )
