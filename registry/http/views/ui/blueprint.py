"""The web UI's blueprint and what every page shares: the read gate (the API's read-token
rule, by session or trusted proxy), CSRF checks for every form post, security headers, the
server time of each page (``Server-Timing``), and error pages in HTML."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from consign.compose.errors import ComposeError
from registry.errors import RegistryError, from_compose
from registry.http.views.ui import badges, identity, links, setup

bp = Blueprint(
    "ui",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/ui/static",
)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Endpoints anyone may reach when reading needs a sign-in.
PUBLIC = frozenset({"ui.root", "ui.static", "ui.sign_in"})
#: No script runs on these pages, and nothing loads from anywhere else.
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


@bp.record_once
def _setup(state: Any) -> None:
    state.app.url_map.converters["name"] = links.NameConverter
    setup.init_app(state.app)


@bp.before_request
def gate() -> ResponseReturnValue | None:
    if request.method not in SAFE_METHODS:
        current_app.extensions[setup.CSRF_EXTENSION].protect()  # CSRFError (400) when wrong
    if request.endpoint in PUBLIC or identity.read_is_open():
        return None
    if identity.current().can("read"):
        return None
    return redirect(url_for("ui.sign_in", next=request.full_path.rstrip("?")), 303)


@bp.after_request
def headers(response: Response) -> Response:
    started = g.get("consign_started")
    if started is not None:
        ms = (time.monotonic() - started) * 1000
        response.headers["Server-Timing"] = f"app;dur={ms:.2f}"
    response.headers["X-Content-Type-Options"] = "nosniff"
    if response.mimetype == "text/html":
        response.headers["Content-Security-Policy"] = CSP
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.app_template_filter("when")
def when(iso: str) -> str:
    """``2026-12-01T21:30:05Z`` as ``2026-12-01 21:30:05 UTC`` (the registry keeps UTC)."""
    try:
        moment = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(UTC)
    except (ValueError, AttributeError):
        return str(iso)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


@bp.app_template_filter("ago")
def ago(iso: str) -> str:
    try:
        moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return ""
    seconds = max(0, int((datetime.now(UTC) - moment).total_seconds()))
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return "just now"


@bp.context_processor
def shared() -> dict[str, Any]:
    return {
        "viewer": identity.current(),
        "read_open": identity.read_is_open(),
        "tokens_configured": identity.any_token_configured(),
        "links": links,
        "outcome_badge": badges.outcome_badge,
        "verdict_badge": badges.verdict_badge,
        "verification_badge": badges.verification_badge,
    }


def _error_page(status: int, title: str, message: str) -> ResponseReturnValue:
    return render_template("ui/error.html", status=status, title=title, message=message), status


@bp.errorhandler(RegistryError)
def registry_error(e: RegistryError) -> ResponseReturnValue:
    titles = {400: "Bad request", 404: "Not found", 401: "Sign-in needed", 403: "Not allowed"}
    return _error_page(e.status, titles.get(e.status, "Error"), e.message)


@bp.errorhandler(ComposeError)
def compose_error(e: ComposeError) -> ResponseReturnValue:
    return registry_error(from_compose(e))


@bp.errorhandler(CSRFError)
def csrf_error(e: CSRFError) -> ResponseReturnValue:
    message = (
        f"{e.description} The form was not sent from a page of this registry, or it is too "
        "old: go back, reload the page and send it again."
    )
    return _error_page(400, "Form refused", message)


@bp.errorhandler(HTTPException)
def http_error(e: HTTPException) -> ResponseReturnValue:
    return _error_page(e.code or 500, e.name, e.description or e.name)
