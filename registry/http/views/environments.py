"""The deployment ledger over HTTP: environments, their history, reports, a version's
deployments (see README, "The deployment ledger")."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request

from consign.cache import LRU
from registry.http import metrics
from registry.http.auth import require_read, require_report
from registry.http.parsing.fields import (
    parse_bool_arg,
    parse_int_arg,
    parse_json_body,
    parse_version,
    timestamp,
)
from registry.http.parsing.ledger import parse_record
from registry.http.storage import get_store
from registry.http.views.lookup import stored_names
from registry.http.views.retirements import event_json, restore_on_report
from registry.store import DeploymentRecord, EnvironmentState
from registry.store.envlocks import lock_json
from registry.store.records import to_json

bp = Blueprint("environments", __name__, url_prefix="/api")
bp.before_request(require_read)

ENVIRONMENT = "/environments/<environment>"


def summary(record: DeploymentRecord) -> dict[str, Any]:
    """What runs for one application/release: the version left running and how it got there."""
    return {
        "application": record.application,
        "release": record.release,
        "version": record.deployed_version,
        "outcome": record.outcome,
        "kind": record.kind,
        "since": record.finished,
        "by": record.by,
        "record": record.id,
        "seq": record.seq,
    }


def _state_json(state: EnvironmentState, full: bool) -> dict[str, Any]:
    return {
        "name": state.name,
        "deployments": state.deployments,
        "last": state.last,
        "lock": lock_json(state.lock) if state.lock else None,
        "deployed": [to_json(r) for r in state.deployed] if full else None,
    }


# The summaries of an environment depend only on its ledger tip (a commit never changes),
# so each is encoded once per process: listing 50 environments x 20 applications then
# costs a ref read per environment, not 1,000 dicts through the JSON encoder.
_SUMMARIES: LRU[str, str] = LRU(4096)


def _summaries(state: EnvironmentState) -> str:
    if state.tip is None:
        return "[]"
    cached = _SUMMARIES.get(state.tip)
    if cached is None:
        cached = _SUMMARIES.put(
            state.tip, current_app.json.dumps([summary(r) for r in state.deployed])
        )
    return cached


@bp.get("/environments")
def environments() -> Response:
    """Environments in service; ``?retired=true`` adds the retired ones (marked)."""
    store = get_store()
    include = parse_bool_arg("retired", request.args.get("retired"))
    retired = store.retirements()
    parts = []
    for state in store.environments():
        if state.name in retired and not include:
            continue
        head = _state_json(state, False)
        head["retired"] = event_json(retired.get(state.name))
        del head["deployed"]  # spliced in, already encoded, as the last member
        parts.append(current_app.json.dumps(head)[:-1] + ', "deployed": ' + _summaries(state) + "}")
    body = '{"environments": [' + ", ".join(parts) + "]}\n"
    return Response(body, mimetype="application/json")


@bp.get(ENVIRONMENT)
def environment(environment: str) -> Response:
    store = get_store()
    body = _state_json(store.environment(environment), True)
    return jsonify(body | {"retired": event_json(store.retirement(environment))})


@bp.get(f"{ENVIRONMENT}/deployments")
def deployments(environment: str) -> Response:
    """Newest first (``limit``, ``before`` = a ``seq``), or with ``at`` what ran then."""
    store = get_store()
    at = request.args.get("at")
    if at is not None:
        when = timestamp(at, "at")
        deployed = store.deployed_at(environment, when)
        return jsonify(
            {"environment": environment, "at": when, "deployed": [to_json(r) for r in deployed]}
        )
    config = current_app.config
    limit = parse_int_arg("limit", request.args.get("limit"), maximum=int(config["MAX_LIST_LIMIT"]))
    before = parse_int_arg("before", request.args.get("before"), maximum=10**18)
    found = store.deployments(
        environment, limit=limit or int(config["DEFAULT_LIST_LIMIT"]), before=before
    )
    more = bool(found) and found[-1].seq > 1
    return jsonify(
        {
            "environment": environment,
            "deployments": [to_json(r) for r in found],
            "next_before": found[-1].seq if more else None,
        }
    )


@bp.post(f"{ENVIRONMENT}/deployments")
def report(environment: str) -> Response:
    """A deployer's report: validated whole (400/413), then one atomic append (422, 409).
    A retired environment is restored by a new deploy finished after its retirement
    (``restored`` says so)."""
    identity = require_report()
    data = request.get_data(cache=False)
    body = parse_json_body(data, request.mimetype)
    config = current_app.config
    record = parse_record(
        body,
        environment,
        size=len(data),
        max_bytes=int(config["MAX_RECORD_BYTES"]),
        max_build=int(config["MAX_BUILD_BYTES"]),
    )
    application, release = stored_names(record.application, record.release)
    record = replace(record, application=application, release=release)
    store = get_store()
    stored, created = store.report(record)
    if created:
        g.consign_created = [f"{environment}#{stored.seq}"]  # the access log's created=
        metrics.DEPLOYMENTS_REPORTED.labels(stored.outcome).inc()
    restored = restore_on_report(stored, created, identity)
    response = jsonify(
        {"created": created, "deployment": to_json(stored), "restored": event_json(restored)}
    )
    response.status_code = 201 if created else 200
    return response


@bp.get("/applications/<application>/releases/<release>/versions/<version>/deployments")
def version_deployments(application: str, release: str, version: str) -> Response:
    store = get_store()
    number = store.version(application, release, parse_version(version)).number
    found = store.deployments_of_version(application, release, number)
    return jsonify(
        {
            "application": application,
            "release": release,
            "version": number,
            "verified": store.verified(application, release, number),
            "deployments": [to_json(r) for r in found],
        }
    )
