"""Option values for Rundeck's remote options (``valuesUrl``), cascading
application -> release -> version.

Rundeck's documented JSON: a list of ``{"name": label, "value": value}``, served as
``application/json``; for a single-valued option the first entry with ``"selected": true``
is preselected: here the newest version that can be deployed (state ``ok`` or
``warnings``; an ``incomplete`` one is listed, marked, and never preselected). Rundeck
expands ``${option.application.value}`` into the query string
form-encoded (``TLO+GE``; ``TLO%20GE`` works too) and expands a parent that is not chosen
yet to ``""``: an empty parent answers ``[]`` (200), which Rundeck shows as "select the
other options first". A name the registry does not know answers 404 JSON, which Rundeck
shows as a failed remote request.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from registry.auth import require_read
from registry.state import DEPLOYABLE, OK
from registry.storage import get_store
from registry.store import VersionInfo

bp = Blueprint("rundeck", __name__, url_prefix="/rundeck/options")
bp.before_request(require_read)


def _arg(name: str) -> str:
    return request.args.get(name, "")


def _build_label(build: dict[str, Any]) -> str:
    """A short CI build reference: Bamboo's result key, else plan + number, else number."""
    if build.get("buildResultKey"):
        return str(build["buildResultKey"])
    number = build.get("buildNumber")
    if build.get("planKey") and number:
        return f"{build['planKey']}-{number}"
    if number:
        return f"build {number}"
    revision = str(build.get("planRepository.revision") or build.get("revision") or "")
    return revision[:12]


def _date(created: str) -> str:
    """``2026-11-26T04:05:06Z`` -> ``2026-11-26 04:05 UTC`` (unparseable: as recorded)."""
    date, sep, time = created.partition("T")
    return f"{date} {time[:5]} UTC" if sep and len(time) >= 5 else created


def version_label(info: VersionInfo, latest: bool) -> str:
    """``#7 (latest) · incomplete: plex → bittorrent-sync-data · 2026-11-26 04:05 UTC ·
    plex (TLO-PLEX-12)``; the state reason only when the version is not ``ok``."""
    build = _build_label(info.build)
    changed = f"{info.component} ({build})" if build else info.component
    marker = " (latest)" if latest else ""
    state = f" · {info.state_reason}" if info.state != OK and info.state_reason else ""
    return f"#{info.number}{marker}{state} · {_date(info.created)} · {changed}"


def _options(entries: list[dict[str, Any]]) -> Response:
    return jsonify(entries)


@bp.get("/applications")
def applications() -> Response:
    return _options([{"name": name, "value": name} for name in get_store().applications()])


@bp.get("/releases")
def releases() -> Response:
    application = _arg("application")
    if not application:
        return _options([])
    return _options([{"name": r, "value": r} for r in get_store().releases(application)])


@bp.get("/versions")
def versions() -> Response:
    application, release = _arg("application"), _arg("release")
    if not application or not release:
        return _options([])
    limit = int(current_app.config["RUNDECK_LIST_LIMIT"])
    found = get_store().versions(application, release, limit=limit)
    selected = next((info.number for info in found if info.state in DEPLOYABLE), None)
    entries: list[dict[str, Any]] = []
    for index, info in enumerate(found):
        entry: dict[str, Any] = {"name": version_label(info, index == 0), "value": str(info.number)}
        if info.number == selected:
            entry["selected"] = True
        entries.append(entry)
    return _options(entries)
