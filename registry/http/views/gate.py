"""The gate under ``/api``: promotions, policy, freeze/thaw, approvals and rejections.

Writes need a role (registry/http/auth.py): ``release`` for promotions, policy and freeze,
``approve`` for approvals and rejections; every record keeps the identity the token maps
to beside the ``by`` the client sends.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request

from registry.gate import APPROVAL, REJECTION, Decision, Freeze, Policy, iso, utc_now
from registry.http.auth import require_approve, require_read, require_release
from registry.http.parsing import gate as parse
from registry.http.parsing.fields import check_name, parse_json_body, parse_version
from registry.http.storage import get_store
from registry.http.views.serialize import version_json
from registry.store import Target

bp = Blueprint("gate", __name__, url_prefix="/api")
bp.before_request(require_read)

RELEASE = "/applications/<application>/releases/<release>"


def _body() -> dict[str, Any]:
    return parse_json_body(request.get_data(cache=False), request.mimetype)


def _max_text() -> int:
    return int(current_app.config["MAX_COMMENT_BYTES"])


def _names(application: str, release: str) -> None:
    check_name(application, "application")
    check_name(release, "release")


def _who(identity: str | None, by: str) -> str:
    return identity or by or "anonymous"


@bp.post(f"{RELEASE}/promotions")
def promote(application: str, release: str) -> Response:
    """201 with the new version; 200 with the existing one when it is a retry; 409
    ``release_missing`` when the release does not exist and ``create`` is not true."""
    identity = require_release()
    _names(application, release)
    req = parse.parse_promotion(_body(), application)
    outcome = get_store().promote(
        Target(application, release),
        Target(req.from_application, req.from_release),
        req.version,
        {"by": req.by or None, "identity": identity},
        _who(identity, req.by),
        create=req.create,
    )
    info = outcome.version
    if outcome.created:
        g.consign_created = [f"{info.application}/{info.release}/{info.number}"]
    response = jsonify(version_json(info))  # 201 created, 200 a retry: the status says which
    response.status_code = 201 if outcome.created else 200
    if outcome.created:
        response.headers["Location"] = response.get_json()["url"]
    return response


@bp.get(f"{RELEASE}/promotions/check")
def check_promotion(application: str, release: str) -> Response:
    """What the gate says now of a promotion (``?from_release=&version=``,
    ``from_application`` optional), without promoting: ``admissible``, every ``unmet``
    condition, the ``soak`` as measured (soaked and left minutes) and ``verified_in``."""
    _names(application, release)
    args = dict(request.args)
    req = parse.parse_promotion_query(args, application)
    body = get_store().admission(
        Target(application, release), Target(req.from_application, req.from_release), req.version
    )
    return jsonify(
        {
            "application": application,
            "release": release,
            "from_application": req.from_application,
            "from_release": req.from_release,
            "version": req.version,
            **body,
        }
    )


def _policy_json(application: str, release: str, policy: Policy | None) -> dict[str, Any]:
    return {"application": application, "release": release, "policy": _policy(policy)}


def _policy(policy: Policy | None) -> dict[str, Any] | None:
    return policy.to_json() if policy is not None else None


@bp.get(f"{RELEASE}/policy")
def get_policy(application: str, release: str) -> Response:
    policy = get_store().gate(application, release).policy
    return jsonify(_policy_json(application, release, policy))


@bp.put(f"{RELEASE}/policy")
def put_policy(application: str, release: str) -> Response:
    """Replace the policy (``{}`` removes every condition); warnings say what cannot be
    checked here."""
    identity = require_release()
    _names(application, release)
    req = parse.parse_policy(_body(), release)
    policy = Policy(
        promotion_only=req.promotion_only,
        from_releases=req.from_releases,
        approvals=req.approvals,
        healthy_in=req.healthy_in,
        verified_in=req.verified_in,
        soak=req.soak,
        set_by=_who(identity, req.by),
        set_at=iso(utc_now()),
    )
    store = get_store()
    known = {e.name for e in store.environments()} if policy.needs_ledger else set()
    warnings = [
        f"no deployment to {name} is recorded yet: promotions into {application}/{release} "
        f"are refused until a version is reported {needs} there"
        for needs, names in (
            ("healthy", policy.healthy_in),
            ("verified", policy.verified_in),
            ("running long enough", (policy.soak.environment,) if policy.soak else ()),
        )
        for name in names
        if name not in known
    ]
    state = store.set_policy(application, release, policy)
    return jsonify({**_policy_json(application, release, state.policy), "warnings": warnings})


def _freeze_json(application: str, release: str, freeze: Freeze | None) -> dict[str, Any]:
    return {
        "application": application,
        "release": release,
        "frozen": freeze.to_json() if freeze is not None else None,
    }


@bp.get(f"{RELEASE}/freeze")
def get_freeze(application: str, release: str) -> Response:
    return jsonify(
        _freeze_json(application, release, get_store().gate(application, release).frozen())
    )


@bp.put(f"{RELEASE}/freeze")
def put_freeze(application: str, release: str) -> Response:
    identity = require_release()
    _names(application, release)
    now = utc_now()
    req = parse.parse_freeze(_body(), now, _max_text())
    freeze = Freeze(req.reason, req.by, identity, iso(now), req.until)
    state = get_store().freeze(application, release, freeze)
    return jsonify(_freeze_json(application, release, state.freeze))


@bp.delete(f"{RELEASE}/freeze")
def thaw(application: str, release: str) -> Response:
    """Thaw; ``?by=`` says who (recorded beside the token's identity). Thawing a release
    that is not frozen changes nothing and answers the same."""
    identity = require_release()
    _names(application, release)
    by = parse.by(dict(request.args), required=False)
    lifted = get_store().thaw(application, release, _who(identity, by))
    body = _freeze_json(application, release, None)
    body["thawed"] = lifted.to_json() if lifted is not None else None
    return jsonify(body)


def _decide(application: str, release: str, version: str, kind: str) -> Response:
    identity = require_approve()
    _names(application, release)
    number = parse_version(version)
    if number is None:
        number = get_store().version(application, release, None).number
    key = "comment" if kind == APPROVAL else "reason"
    req = parse.parse_decision(_body(), key, _max_text())
    decision = Decision(kind, number, req.by, identity, req.text, iso(utc_now()))
    store = get_store()
    store.decide(application, release, decision)
    standing = store.gate(application, release).standing(number)
    body = {"application": application, "release": release, **decision.to_json()}
    response = jsonify({**body, "standing": standing.to_json()})
    response.status_code = 201
    return response


@bp.post(f"{RELEASE}/versions/<version>/approvals")
def approve(application: str, release: str, version: str) -> Response:
    return _decide(application, release, version, APPROVAL)


@bp.post(f"{RELEASE}/versions/<version>/rejections")
def reject(application: str, release: str, version: str) -> Response:
    return _decide(application, release, version, REJECTION)
