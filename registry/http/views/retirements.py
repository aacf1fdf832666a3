"""Retiring an environment that is gone, and restoring it (role ``report``: the deployer's
role, the one that writes to the ledger).

``POST /api/environments/{env}/retirement`` with ``{"by", "reason"}`` retires it: it leaves
``GET /api/environments`` (unless ``?retired=true``), the Rundeck environments option, the
UI's environments matrix and the "where it runs" badges; its history stays readable.
``DELETE`` (``?by=&reason=``) restores it; ``GET`` says whether it is retired and lists
every retirement and restoration. A deploy reported to a retired environment, finished
after its retirement, restores it (views/environments.py): the ledger records what runs,
and it runs there again.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from registry.gate import iso, parse_iso, utc_now
from registry.http.auth import require_read, require_report
from registry.http.parsing import gate as parse
from registry.http.parsing.fields import check_fields, parse_json_body
from registry.http.storage import get_store
from registry.store import DeploymentRecord
from registry.store.ledger import check_environment
from registry.store.retirements import RESTORED, RETIRED, RetirementEvent

bp = Blueprint("retirements", __name__, url_prefix="/api")
bp.before_request(require_read)

RETIREMENT = "/environments/<environment>/retirement"


def event_json(event: RetirementEvent | None) -> dict[str, Any] | None:
    return event.to_json() if event is not None else None


def _request(
    values: dict[str, Any], kind: str, environment: str, identity: str | None
) -> RetirementEvent:
    limit = int(current_app.config["MAX_COMMENT_BYTES"])
    reason = parse.free_text(values, "reason", limit=limit, required=kind == RETIRED)
    who = parse.by(values, required=True)
    return RetirementEvent(kind, environment, who, identity, reason, iso(utc_now()))


@bp.get(RETIREMENT)
def get_retirement(environment: str) -> Response:
    store = get_store()
    check_environment(environment)
    store.environment(environment)  # NotFound for one the ledger never heard of
    return jsonify(
        {
            "environment": environment,
            "retired": event_json(store.retirement(environment)),
            "history": [e.to_json() for e in store.retirement_history(environment)],
        }
    )


@bp.post(RETIREMENT)
def retire(environment: str) -> Response:
    """201 with the retirement; 200 with the one in force when it was already retired."""
    identity = require_report()
    check_environment(environment)
    body = parse_json_body(request.get_data(cache=False), request.mimetype)
    check_fields(body, ("by", "reason"), ())
    event, created = get_store().retire(_request(body, RETIRED, environment, identity))
    response = jsonify({"environment": environment, "retired": event.to_json(), "created": created})
    response.status_code = 201 if created else 200
    return response


@bp.delete(RETIREMENT)
def restore(environment: str) -> Response:
    """Back in service; ``restored`` is the retirement lifted (null: it was not retired,
    nothing written)."""
    identity = require_report()
    check_environment(environment)
    store = get_store()
    store.environment(environment)
    args = dict(request.args)
    check_fields(args, ("by",), ("reason",))
    lifted = store.restore(_request(args, RESTORED, environment, identity))
    return jsonify({"environment": environment, "retired": None, "restored": event_json(lifted)})


def restore_on_report(
    record: DeploymentRecord, created: bool, identity: str | None
) -> RetirementEvent | None:
    """A new deploy (or rollback) reported to a retired environment, finished after it was
    retired, puts it back in service, recorded as restored by whoever reported it; the
    retirement lifted (None: nothing restored). Left retired: a retry of a report, a record
    that finished before the retirement (a spool delivering old news), a teardown or a
    drift report (nothing runs there anew)."""
    store = get_store()
    if not created or record.kind not in ("deploy", "rollback"):
        return None
    current = store.retirement(record.environment)
    if current is None:
        return None
    finished, retired = parse_iso(record.finished), parse_iso(current.at)
    if finished is None or retired is None or finished < retired:
        return None
    what = f"{record.application}/{record.release}"
    if record.version is not None:
        what += f" v{record.version}"
    reason = f"restored by a {record.kind} of {what} reported to it"
    event = RetirementEvent(
        RESTORED, record.environment, record.by, identity, reason, iso(utc_now())
    )
    return store.restore(event)
