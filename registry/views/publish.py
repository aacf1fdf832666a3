"""``PUT /fragment`` (and ``POST``): the CI build says "my component now looks like this"."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request

from registry.advisories import mutable_image_warnings, variable_warnings
from registry.auth import require_publish
from registry.fragments import decode_fragment, parse_fragment
from registry.storage import get_store
from registry.store import PublishOutcome, Target
from registry.validation import Limits, parse_json_body, parse_publish
from registry.views.descriptors import descriptor_url

bp = Blueprint("publish", __name__)


def _limits() -> Limits:
    config = current_app.config
    return Limits(
        max_targets=int(config["MAX_TARGETS"]),
        max_build_bytes=int(config["MAX_BUILD_BYTES"]),
    )


def _version_json(outcome: PublishOutcome) -> dict[str, Any]:
    version = outcome.version
    return {
        "application": outcome.target.application,
        "release": outcome.target.release,
        "version": version.number,
        "url": descriptor_url(version.application, version.release, version.number),
        "commit": version.commit,
        "created": outcome.created,
        "component": outcome.component,
        "warnings": list(outcome.warnings),
        "state": version.state,
        "state_reason": version.state_reason,
    }


@bp.route("/fragment", methods=["PUT", "POST"])
def publish_fragment() -> Response:
    """Validate everything first (400/401/403/413/422), then one atomic store.publish."""
    require_publish()
    body = parse_json_body(request.get_data(cache=False), request.mimetype)
    req = parse_publish(body, _limits())
    text = decode_fragment(req.fragment)
    spec, warnings = parse_fragment(text)
    warnings += [a.text for a in variable_warnings(spec) + mutable_image_warnings(spec, req.build)]
    targets = [Target(app, rel) for app, rel in req.targets]
    outcomes = get_store().publish(targets, req.component, text, spec, req.build)

    created = [o for o in outcomes if o.created]
    g.consign_created = [
        f"{o.target.application}/{o.target.release}/{o.version.number}" for o in created
    ]
    versions = [_version_json(o) for o in outcomes]
    response = jsonify({"versions": versions, "warnings": warnings})
    response.status_code = 201 if created else 200
    if created:
        response.headers["Location"] = versions[outcomes.index(created[0])]["url"]
    return response
