"""``PUT /fragment`` (and ``POST``): the CI build says "my component now looks like this"."""

from __future__ import annotations

import functools
from dataclasses import replace

from flask import Blueprint, Response, current_app, g, jsonify, request

from consign.compose.envfiles import check_attached
from consign.compose.fragments import decode_fragment, parse_fragment
from consign.compose.yamlio import Limits
from consign.secrets import findings
from registry import names
from registry.advisories import (
    mutable_image_warnings,
    secret_warnings,
    summary,
    variable_warnings,
)
from registry.http.auth import require_publish
from registry.http.parsing.fields import parse_json_body
from registry.http.parsing.publish import PublishLimits, PublishRequest, parse_publish
from registry.http.storage import get_store
from registry.http.views.serialize import published_json
from registry.store import SecretsFound, Target

bp = Blueprint("publish", __name__)


def _limits() -> PublishLimits:
    config = current_app.config
    return PublishLimits(
        max_targets=int(config["MAX_TARGETS"]),
        max_build_bytes=int(config["MAX_BUILD_BYTES"]),
        max_files=int(config["MAX_FILES"]),
        max_file_bytes=int(config["MAX_FILE_BYTES"]),
    )


def _admit(req: PublishRequest) -> PublishRequest:
    """NFC and the rules for new names (:mod:`registry.names`); stored names pass as they are,
    and a name stored in another normal form is that name (published to, not doubled)."""
    store = get_store()
    # What is stored is read once a request: each admission rule asks again and again.
    stored_apps = set(store.applications())
    stored_releases: dict[str, set[str]] = {}

    def app_stored(name: str) -> bool:
        return name in stored_apps

    applications = [
        names.admit(store.spelling(a)[0], "applications", app_stored) for a in req.applications
    ]

    def releases_of(application: str) -> set[str]:
        if application not in stored_releases:
            stored_releases[application] = set(store.releases(application))
        return stored_releases[application]

    def release_stored(name: str) -> bool:
        return any(name in releases_of(a) for a in applications if app_stored(a))

    def release_spelling(name: str) -> str:
        spelled = (store.spelling(a, name)[1] for a in applications)
        return next((s for s in spelled if s is not None and release_stored(s)), name)

    releases = [names.admit(release_spelling(r), "releases", release_stored) for r in req.releases]

    @functools.cache
    def components() -> list[str]:
        stored = (store.components(a, r) for a in applications for r in releases)
        return [c.name for found in stored for c in found]

    def component_stored(name: str) -> bool:
        return name in components()

    component = req.component
    if component is not None:
        if not component.isascii():
            component = names.stored_spelling(component, components())
        component = names.admit(component, "component", component_stored)
    return replace(req, applications=applications, releases=releases, component=component)


@bp.route("/fragment", methods=["PUT", "POST"])
def publish_fragment() -> Response:
    """Validate everything first (400/401/403/413/422), then one atomic store.publish."""
    require_publish()
    body = parse_json_body(request.get_data(cache=False), request.mimetype)
    req = _admit(parse_publish(body, _limits()))
    text = decode_fragment(req.fragment)
    limits = Limits(max_expanded_bytes=int(current_app.config["MAX_FRAGMENT_BYTES"]))
    spec, warnings = parse_fragment(text, limits)
    warnings += check_attached(spec, req.files)
    found = tuple(f.describe() for f in findings.in_fragment(spec, req.files))
    warnings += summary(secret_warnings(found))[0]  # paths and kinds, never a value
    warnings += [a.text for a in variable_warnings(spec) + mutable_image_warnings(spec, req.build)]
    targets = [Target(app, rel) for app, rel in req.targets]
    secrets = SecretsFound(found, str(current_app.config["SECRETS"]))
    outcomes = get_store().publish(
        targets, req.component, text, spec, req.build, req.files, secrets
    )

    created = [o for o in outcomes if o.created]
    g.consign_created = [
        f"{o.target.application}/{o.target.release}/{o.version.number}" for o in created
    ]
    versions = [published_json(o) for o in outcomes]
    response = jsonify({"versions": versions, "warnings": warnings})
    response.status_code = 201 if created else 200
    if created:
        response.headers["Location"] = versions[outcomes.index(created[0])]["url"]
    return response
