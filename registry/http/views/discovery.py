"""JSON discovery under ``/api``: applications, releases, versions, one version, a diff."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from consign.secrets import maskdiff
from registry import diffing
from registry.errors import BadRequest, NotFound
from registry.http.auth import require_read
from registry.http.parsing.fields import parse_int_arg, parse_version
from registry.http.storage import get_store
from registry.http.views.lookup import stored_names
from registry.http.views.serialize import change_json, version_json
from registry.store import VersionInfo

bp = Blueprint("discovery", __name__, url_prefix="/api")
bp.before_request(require_read)

RELEASE = "/applications/<application>/releases/<release>"


@bp.get("/applications")
def applications() -> Response:
    return jsonify({"applications": get_store().applications()})


@bp.get("/applications/<application>/releases")
def releases(application: str) -> Response:
    """The release names (those with versions); ``prepared``: the releases with no version
    yet whose policy or freeze was set (they exist for promotion; kept apart because
    ``releases`` promises versions to read); ``frozen`` maps each release frozen now to its
    freeze."""
    store = get_store()
    prepared = store.prepared_releases(application)
    try:
        names = store.releases(application)
    except NotFound:
        if not prepared:
            raise
        names = []
    frozen = {}
    for name in names + prepared:
        freeze = store.gate(application, name).frozen()
        if freeze is not None:
            frozen[name] = freeze.to_json()
    body = {"application": application, "releases": names, "prepared": prepared}
    return jsonify({**body, "frozen": frozen})


@bp.get(f"{RELEASE}/versions")
def versions(application: str, release: str) -> Response:
    """Newest first; ``limit`` (default ``DEFAULT_LIST_LIMIT``, 20) and ``before`` (a
    version number) page back."""
    config = current_app.config
    maximum = int(config["MAX_LIST_LIMIT"])
    limit = parse_int_arg("limit", request.args.get("limit"), maximum=maximum)
    before = parse_int_arg("before", request.args.get("before"), maximum=10**18)
    found = get_store().versions(
        application, release, limit=limit or int(config["DEFAULT_LIST_LIMIT"]), before=before
    )
    body = {"application": application, "release": release}
    gate = get_store().gate(application, release)
    listed = [version_json(v, gate.standing(v.number)) for v in found]
    return jsonify({**body, "versions": listed})


@bp.get(f"{RELEASE}/versions/<version>")
def version(application: str, release: str, version: str) -> Response:
    store = get_store()
    info = store.version(application, release, parse_version(version))
    body = version_json(info, store.gate(application, release).standing(info.number))
    return jsonify({**body, "verified": store.verified(application, release, info.number)})


@bp.get(f"{RELEASE}/diff")
def diff(application: str, release: str) -> Response:
    """What changed from ``from`` (default: the one before ``to``) to ``to`` (default: latest).

    ``from_application``/``from_release`` (default: this one) compare with a version of
    another release, e.g. Milestone #41 against QA #7."""
    store = get_store()
    to_info, to_text = store.descriptor(
        application, release, parse_version(request.args.get("to", "latest"))
    )
    from_app, from_rel = stored_names(
        request.args.get("from_application", application),
        request.args.get("from_release", release),
    )
    same = (from_app, from_rel) == (application, release)
    default_from = str(to_info.number - 1) if to_info.number > 1 and same else None
    from_arg = request.args.get("from", default_from)
    if from_arg is None and not same:
        raise BadRequest("'from' is needed with another release", details={"field": "from"})
    from_info: VersionInfo | None = None
    from_text, from_number = b"", 0
    if from_arg is not None:
        from_info, from_text = store.descriptor(from_app, from_rel, parse_version(from_arg))
        from_number = from_info.number
    changes = store.service_changes(from_info, to_info)
    by_kind = {kind: [change_json(c) for c in changes.of(kind)] for kind in diffing.KINDS}
    # secret-looking literals masked, a masked value that changed marked (docs/secrets.md)
    shown = maskdiff.compare(from_text.decode("utf-8"), to_text.decode("utf-8"))
    return jsonify(
        {
            "application": application,
            "release": release,
            "from_application": from_app,
            "from_release": from_rel,
            "from": from_number,
            "to": to_info.number,
            **by_kind,
            "diff": diffing.unified(
                shown.old,
                shown.new,
                f"{from_app}/{from_rel}/{from_number}/docker-compose.yml",
                f"{application}/{release}/{to_info.number}/docker-compose.yml",
            ),
            "masked_changed": list(shown.changed),
            "only_masked_changed": shown.only_masked,
        }
    )
