"""The gate's forms on the version page: approve and reject (role ``approve``), promote
(role ``release``). Form posts (CSRF-checked by the blueprint) parsed by the API's own
parsers (registry/http/parsing/gate.py) and written through the same store methods, so the
rules are the API's; the signed-in identity is recorded as who acted. A role with no token
configured is open here as in the API: the form then asks who acts (``by``).

Promoting into a release that does not exist yet takes a confirmation (a page naming the
existing releases closest in spelling, and a button to create it); after a promotion the
new version's page says what was made."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, redirect, render_template, request, session
from flask.typing import ResponseReturnValue

from registry.errors import Forbidden, ReleaseMissing, Unauthorized
from registry.gate import APPROVAL, REJECTION, Decision, iso, utc_now
from registry.http.parsing import gate as parse
from registry.http.parsing.fields import check_name
from registry.http.storage import get_store
from registry.http.views.ui import identity, links
from registry.http.views.ui.blueprint import bp
from registry.http.views.ui.pages import PROMOTED, RELEASE
from registry.store import Target

VERSION = f"{RELEASE}/versions/<int:number>"


@dataclass(frozen=True)
class Actor:
    identity: str | None  # the signed-in identity; None when an open role was used anonymously
    by: str  # who acts, as recorded beside the identity


def acting(role: str) -> Actor:
    """Who acts with ``role``: the signed-in identity holding it; anyone naming themselves
    (the form's ``by``) when the role is open; else 401 without a sign-in, 403 without it."""
    viewer = identity.current()
    if viewer.identity is not None and viewer.can(role):
        return Actor(viewer.identity, viewer.identity)
    if role in identity.open_roles():
        return Actor(None, parse.by({"by": request.form.get("by", "")}, required=True))
    if viewer.identity is None:
        raise Unauthorized("sign in to act on the gate")
    raise Forbidden(f"{viewer.identity} does not hold the role {role!r}")


def _decide(application: str, release: str, number: int, kind: str) -> ResponseReturnValue:
    actor = acting("approve")
    key = "comment" if kind == APPROVAL else "reason"
    body = {"by": actor.by} | ({key: request.form[key]} if request.form.get(key) else {})
    req = parse.parse_decision(body, key, int(current_app.config["MAX_COMMENT_BYTES"]))
    decision = Decision(kind, number, req.by, actor.identity, req.text, iso(utc_now()))
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
    ``to_release``) from this version. A target that does not exist is made only with
    ``create=yes`` (the confirmation page's button); without it the answer is that page
    (200: nothing was refused yet, a choice is asked for)."""
    actor = acting("release")
    target_app = request.form.get("to_application", "").strip() or application
    body = {"from_application": application, "from_release": release, "version": number}
    req = parse.parse_promotion(body | {"by": actor.by}, application)
    target = Target(
        check_name(target_app, "to_application"),
        check_name(request.form.get("to_release", "").strip(), "to_release"),
    )
    store = get_store()
    try:
        outcome = store.promote(
            target,
            Target(req.from_application, req.from_release),
            req.version,
            {"by": actor.by, "identity": actor.identity},
            actor.identity or actor.by,
            create=request.form.get("create") == "yes",
        )
    except ReleaseMissing as missing:
        return render_template(
            "ui/promote_confirm.html",
            source=store.version(application, release, number),
            target=target,
            closest=missing.details.get("closest") or [],
            closest_applications=missing.details.get("closest_applications") or [],
            no_application="closest_applications" in missing.details,
            by=actor.by if actor.identity is None else "",
        )
    made = outcome.version
    session[PROMOTED] = {
        "application": made.application,
        "release": made.release,
        "version": made.number,
        "created": outcome.created,
        "from": f"{application} / {release} #{number}",
    }
    return redirect(links.ui_version(made.application, made.release, made.number), 303)
