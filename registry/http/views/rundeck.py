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

from consign import builds
from registry.gate import Decision, Freeze
from registry.http.auth import require_read
from registry.http.storage import get_store
from registry.http.views.descriptors import oci_reference
from registry.http.views.lookup import stored_names
from registry.state import DEPLOYABLE, OK
from registry.store import VersionInfo

bp = Blueprint("rundeck", __name__, url_prefix="/rundeck/options")
bp.before_request(require_read)


def _arg(name: str) -> str:
    return request.args.get(name, "")


def _date(created: str) -> str:
    """``2026-11-26T04:05:06Z`` -> ``2026-11-26 04:05 UTC`` (unparseable: as recorded)."""
    date, sep, time = created.partition("T")
    return f"{date} {time[:5]} UTC" if sep and len(time) >= 5 else created


def version_label(info: VersionInfo, latest: bool, rejected: Decision | None = None) -> str:
    """``#7 (latest) · incomplete: plex → bittorrent-sync-data · 2026-11-26 04:05 UTC ·
    plex (TLO-PLEX #12)``: the state reason only when the version is not ``ok``; a promoted
    version says where from; a rejected one starts with ``REJECTED (reason)`` so nobody picks
    it by mistake."""
    build = builds.label(info.build)
    changed = f"{info.component} ({build})" if build else info.component
    source = info.promoted_from
    if source:
        changed = f"promoted from {source.release} #{source.version}: {changed}"
    marker = " (latest)" if latest else ""
    state = f" · {info.state_reason}" if info.state != OK and info.state_reason else ""
    label = f"#{info.number}{marker}{state} · {_date(info.created)} · {changed}"
    if rejected is not None:
        label = f"REJECTED ({_short(rejected.text)}) {label}"
    return label


def _short(text: str, limit: int = 60) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def release_label(release: str, frozen: Freeze | None) -> str:
    """A release's name, marked ``(FROZEN: reason)`` while a freeze holds."""
    return f"{release} (FROZEN: {_short(frozen.reason)})" if frozen else release


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
    store = get_store()
    application = store.spelling(application)[0]
    return _options(
        [
            {"name": release_label(r, store.gate(application, r).frozen()), "value": r}
            for r in store.releases(application)
        ]
    )


@bp.get("/versions")
def versions() -> Response:
    application, release = _arg("application"), _arg("release")
    if not application or not release:
        return _options([])
    application, release = stored_names(application, release)
    limit = int(current_app.config["RUNDECK_LIST_LIMIT"])
    found = get_store().versions(application, release, limit=limit)
    gate = get_store().gate(application, release)
    rejected = {info.number: gate.standing(info.number).rejected for info in found}
    selected = next(
        (i.number for i in found if i.state in DEPLOYABLE and rejected[i.number] is None), None
    )
    entries: list[dict[str, Any]] = []
    for index, info in enumerate(found):
        label = version_label(info, index == 0, rejected[info.number])
        oci = oci_reference(info.application, info.release, info.number)
        entry: dict[str, Any] = {"name": f"{label} · {oci}", "value": str(info.number)}
        if info.number == selected:
            entry["selected"] = True
        entries.append(entry)
    return _options(entries)


@bp.get("/environments")
def environments() -> Response:
    """Every environment the ledger knows and that is not retired, labelled with what runs
    there (the job option allows free text, for a new environment)."""
    entries = []
    for state in get_store().in_service():
        running = ", ".join(
            f"{r.application}/{r.release} #{r.deployed_version}" for r in state.deployed
        )
        label = f"{state.name} · {running}" if running else f"{state.name} · nothing deployed"
        entries.append({"name": label, "value": state.name})
    return _options(entries)
