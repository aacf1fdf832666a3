"""The gate's forms on the version page: approve and reject (role ``approve``), promote
(role ``release``). Form posts (CSRF-checked by the blueprint) parsed by the API's own
parsers (registry/gate_requests.py) and written through the same store methods, so the
rules are the API's; the signed-in identity is recorded as who acted."""

from __future__ import annotations

from flask import current_app, redirect, request
from flask.typing import ResponseReturnValue

from registry import gate_requests as parse
from registry.errors import Forbidden, Unauthorized
from registry.gate import APPROVAL, REJECTION, Decision, iso, utc_now
from registry.storage import get_store
from registry.store import Target
from registry.validation import check_name
from registry.views.ui import identity, links
from registry.views.ui.blueprint import bp
from registry.views.ui.pages import RELEASE

VERSION = f"{RELEASE}/versions/<int:number>"


def acting(role: str) -> str:
    """The signed-in identity holding ``role``; 401 without a sign-in, 403 without it."""
    viewer = identity.current()
    if viewer.identity is None:
        raise Unauthorized("sign in to act on the gate")
    if not viewer.can(role):
        raise Forbidden(f"{viewer.identity} does not hold the role {role!r}")
    return viewer.identity


def _decide(application: str, release: str, number: int, kind: str) -> ResponseReturnValue:
    who = acting("approve")
    key = "comment" if kind == APPROVAL else "reason"
    body = {"by": who} | ({key: request.form[key]} if request.form.get(key) else {})
    req = parse.parse_decision(body, key, int(current_app.config["MAX_COMMENT_BYTES"]))
    decision = Decision(kind, number, req.by, who, req.text, iso(utc_now()))
    get_store().decide(application, release, decision)
    return redirect(links.ui_version(application, release, number) + "#gate", 303)


@bp.post(f"{VERSION}/approve")
def approve(application: str, release: str, number: int) -> ResponseReturnValue:
    return _decide(application, release, number, APPROVAL)


@bp.post(f"{VERSION}/reject")
def reject(application: str, release: str, number: int) -> ResponseReturnValue:
    return _decide(application, release, number, REJECTION)


@bp.post(f"{VERSION}/promote")
def promote(application: str, release: str, number: int) -> ResponseReturnValue:
    """Make the next version of the target release (``to_application``, default this one;
    ``to_release``) from this version."""
    who = acting("release")
    target_app = request.form.get("to_application", "").strip() or application
    body = {"from_application": application, "from_release": release, "version": number}
    req = parse.parse_promotion(body | {"by": who}, application)
    target = Target(
        check_name(target_app, "to_application"),
        check_name(request.form.get("to_release", "").strip(), "to_release"),
    )
    outcome = get_store().promote(
        target,
        Target(req.from_application, req.from_release),
        req.version,
        {"by": who, "identity": who},
        who,
    )
    made = outcome.version
    return redirect(links.ui_version(made.application, made.release, made.number), 303)
