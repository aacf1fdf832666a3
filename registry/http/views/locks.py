"""One deploy per environment at a time: take, renew, release and look at an environment's
lock (see README, "Environment locks"). The registry answers at once; a deployer that
wants to wait polls (``deployer/ledger/lock.py``)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from registry.errors import NotFound
from registry.http.auth import require_read, require_report
from registry.http.parsing.fields import parse_json_body
from registry.http.parsing.ledger import parse_break, parse_lock, parse_ttl
from registry.http.storage import get_store
from registry.store.envlocks import describe, lock_json
from registry.store.records import to_json

bp = Blueprint("locks", __name__, url_prefix="/api/environments/<environment>/lock")
bp.before_request(require_read)


def _body() -> dict[str, Any]:
    data = request.get_data(cache=False)
    return parse_json_body(data, request.mimetype) if data else {}


@bp.get("")
def show(environment: str) -> Response:
    lock = get_store().lock(environment)
    if lock is None:
        raise NotFound(f"{environment} is not locked")
    return jsonify(lock_json(lock) | {"message": describe(lock)})


@bp.post("")
def acquire(environment: str) -> Response:
    """201 with the lock (its ``id`` renews and releases it); 409 naming the holder."""
    require_report()
    req = parse_lock(_body(), int(current_app.config["LOCK_TTL"]))
    lock, previous = get_store().acquire_lock(environment, req.holder, req.ttl, req.replace)
    body = lock_json(lock)
    body["took_over"] = lock_json(previous) if previous else None
    response = jsonify(body)
    response.status_code = 201
    return response


@bp.put("/<lock_id>")
def renew(environment: str, lock_id: str) -> Response:
    require_report()
    return jsonify(lock_json(get_store().renew_lock(environment, lock_id, parse_ttl(_body()))))


@bp.delete("/<lock_id>")
def release(environment: str, lock_id: str) -> Response:
    require_report()
    get_store().release_lock(environment, lock_id)
    return Response(status=204)


@bp.post("/break")
def break_(environment: str) -> Response:
    """Break the lock whoever holds it (role ``report``): ``{"by", "reason", "id"?}``; the
    ledger records it as an ``unlock`` event. 200 with the broken lock and the record (null,
    with ``not_recorded`` saying why, when the holder named no known application/release)."""
    require_report()
    req = parse_break(_body())
    broken, stored, why_not = get_store().break_lock(environment, req.id, req.by, req.reason)
    return jsonify(
        {
            "broken": lock_json(broken),
            "message": f"broke the lock: {describe(broken)}",
            "record": to_json(stored) if stored is not None else None,
            "not_recorded": why_not or None,
        }
    )
