"""The diff page (any two versions, also across releases) and "find a build" (its search is
:mod:`registry.finding`, shared with ``GET /api/find``)."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import render_template, request
from flask.typing import ResponseReturnValue

from consign import builds
from consign.secrets import maskdiff
from registry import diffing, finding
from registry.errors import BadRequest
from registry.http.parsing.fields import parse_version
from registry.http.storage import get_store
from registry.http.views.find import scan_arg
from registry.http.views.lookup import stored_names
from registry.http.views.ui import links, sbs
from registry.http.views.ui.blueprint import bp
from registry.http.views.ui.definitions import definitions
from registry.store import VersionInfo


def version_ref(info: VersionInfo) -> str:
    """How the diff page names a version: ``APPLICATION/RELEASE/N`` (names never hold ``/``)."""
    return f"{info.application}/{info.release}/{info.number}"


def _parse_ref(field_name: str, text: str) -> tuple[str, str, int | None]:
    parts = text.strip().split("/")
    if len(parts) != 3 or not parts[0] or not parts[1]:
        raise BadRequest(
            f"{field_name!r} must be APPLICATION/RELEASE/VERSION (e.g. TLO GE/Milestone/41), "
            f"not {text!r}",
            details={"field": field_name},
        )
    application, release = stored_names(parts[0], parts[1])
    return application, release, parse_version(parts[2].strip())


@bp.get("/ui/diff")
def diff() -> ResponseReturnValue:
    """``from`` and ``to`` are ``APPLICATION/RELEASE/VERSION``; ``from`` defaults to the
    version before ``to`` in its release."""
    store = get_store()
    to_arg = request.args.get("to", "")
    if not to_arg:
        raise BadRequest(
            "the diff needs 'to' (APPLICATION/RELEASE/VERSION)", details={"field": "to"}
        )
    to_app, to_rel, to_number = _parse_ref("to", to_arg)
    new, new_text = store.descriptor(to_app, to_rel, to_number)
    from_arg = request.args.get("from") or (
        f"{to_app}/{to_rel}/{new.number - 1}" if new.number > 1 else ""
    )
    if not from_arg:
        raise BadRequest(
            f"{version_ref(new)} is the first version: name 'from'", details={"field": "from"}
        )
    from_app, from_rel, from_number = _parse_ref("from", from_arg)
    old, old_text = store.descriptor(from_app, from_rel, from_number)
    old_specs, new_specs = definitions(
        (old.commit, old_text.decode("utf-8")),
        (new.commit, new_text.decode("utf-8")),
        diffing.to_compare(old.components, new.components),
    )
    changes = diffing.compare_services(old.components, new.components, old_specs, new_specs)
    # the descriptors as people may see them: secret-looking literals masked, a masked
    # value that changed marked "(changed)"
    shown = maskdiff.compare(old_text.decode("utf-8"), new_text.decode("utf-8"))
    hunks = diffing.side_by_side(shown.old, shown.new)
    query = urlencode(
        {
            "from_application": from_app,
            "from_release": from_rel,
            "from": old.number,
            "to": new.number,
        }
    )
    return render_template(
        "ui/diff.html",
        old=old,
        new=new,
        changes=changes,
        counts={k: len(changes.of(k)) for k in diffing.KINDS},
        hunks=hunks,
        masked_changed=shown.changed,
        only_masked=shown.only_masked,
        sbs_html=sbs.tbodies(hunks),
        describe=builds.describe,
        swap_url=links.ui_diff(version_ref(new), version_ref(old)),
        json_url=links.release_api(to_app, to_rel) + "/diff?" + query,
        from_ref=version_ref(old),
        to_ref=version_ref(new),
    )


@bp.get("/ui/find")
def find() -> ResponseReturnValue:
    """Which versions contain build ``build`` of component ``component``: the newest
    ``scan`` versions of every release are searched (``UI_FIND_SCAN`` by default).
    Without both, the page is the empty form."""
    component = request.args.get("component", "").strip()
    build = request.args.get("build", "").strip()
    scan = scan_arg(request.args.get("scan"))
    found = finding.find(get_store(), component, build, scan) if component and build else None
    return render_template(
        "ui/find.html",
        component=component,
        build=build,
        asked=found is not None,
        results=found.results if found else [],
        partial=found.partial if found else [],
        scan=scan,
        deeper=links.ui_find(component, build, scan=scan * 10),
        json_url=links.api(
            "/api/find", query=urlencode({"component": component, "build": build, "scan": scan})
        )
        if found
        else None,
    )
