"""``GET /api/find``: which versions contain a build of a component, and where they run
(the JSON behind the "Find a build" page; both ask :mod:`registry.finding`)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from registry import finding
from registry.errors import BadRequest
from registry.http.auth import require_read
from registry.http.parsing.fields import parse_int_arg
from registry.http.storage import get_store
from registry.http.views.environments import summary

bp = Blueprint("find", __name__, url_prefix="/api")
bp.before_request(require_read)

MAX_SCAN = 10**6


def scan_arg(text: str | None) -> int:
    """The ``scan`` query parameter: versions searched per release, newest first
    (``UI_FIND_SCAN``, 1000, by default)."""
    return parse_int_arg("scan", text, maximum=MAX_SCAN) or int(current_app.config["UI_FIND_SCAN"])


def _required(name: str, what: str) -> str:
    value = request.args.get(name, "").strip()
    if not value:
        raise BadRequest(
            f"the query parameter {name!r} is required: {what}", details={"field": name}
        )
    return value


def found_json(found: finding.Found) -> dict[str, Any]:
    """One release holding the build: its versions (newest first, and as runs of
    consecutive numbers) and the environments running one of them now."""
    return {
        "application": found.application,
        "release": found.release,
        "build": found.label,
        "versions": found.numbers,
        "runs": [{"from": run[-1].number, "to": run[0].number} for run in found.runs],
        "count": found.count,
        "searched": found.searched,
        "total": found.total,
        "complete": found.complete,
        "running": [{"environment": r.environment, **summary(r)} for r in found.running],
    }


@bp.get("/find")
def find() -> Response:
    """``component`` and ``build`` (a build number, plan and number, result key or VCS
    revision prefix of 7+ characters) are required; ``scan`` bounds the search per release."""
    component = _required("component", "the component's name")
    build = _required(
        "build",
        "a build number (42), plan and number (TLO-WEB-42), a result "
        "key or a VCS revision prefix (7+ characters)",
    )
    scan = scan_arg(request.args.get("scan"))
    found = finding.find(get_store(), component, build, scan)
    return jsonify(
        {
            "component": component,
            "build": build,
            "scan": scan,
            "found": [found_json(f) for f in found.results],
            "partial": [
                {
                    "application": f.application,
                    "release": f.release,
                    "searched": f.searched,
                    "total": f.total,
                }
                for f in found.partial
            ],
        }
    )
