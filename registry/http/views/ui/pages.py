"""The read pages: home, a release's versions, one version, and the way in from ``/``."""

from __future__ import annotations

import shlex
from typing import Any

from flask import current_app, jsonify, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from consign import builds
from consign.secrets.masking import masked
from registry.http.parsing.fields import parse_int_arg, parse_version
from registry.http.storage import get_store
from registry.http.views.ui import identity, links, whereabouts
from registry.http.views.ui.blueprint import bp
from registry.http.views.ui.highlight import yaml_html
from registry.store import VersionInfo

RELEASE = "/ui/applications/<name:application>/releases/<name:release>"
#: The version page's gate forms: the role each needs and what it lets one do there (a
#: role nobody holds here, and that has tokens, is offered a sign-in; an open one is not).
GATE_ROLES = (("approve", "approve or reject"), ("release", "promote"))
#: The session key of what the last promotion made, shown once by the page it lands on.
PROMOTED = "promoted"


@bp.get("/")
def root() -> ResponseReturnValue:
    """Browsers go to the UI; API clients get what they always got here (a JSON 404)."""
    accepts = request.accept_mimetypes
    if accepts.accept_html and accepts.best_match(["application/json", "text/html"]) == "text/html":
        return redirect(url_for("ui.home"), 302)
    return jsonify({"error": "not_found", "message": f"no such URL: {request.path}"}), 404


@bp.get("/ui/")
def home() -> ResponseReturnValue:
    store = get_store()
    applications = [
        (name, [store.version(name, release, None) for release in store.releases(name)])
        for name in store.applications()
    ]
    frozen = {
        (info.application, info.release): store.gate(info.application, info.release).frozen()
        for _, infos in applications
        for info in infos
    }
    return render_template(
        "ui/home.html",
        applications=applications,
        describe=builds.describe,
        frozen=frozen,
        running=whereabouts.running(store.in_service()),
    )


def page_args() -> tuple[int, int | None]:
    config = current_app.config
    maximum = int(config["MAX_LIST_LIMIT"])
    limit = parse_int_arg("limit", request.args.get("limit"), maximum=maximum)
    before = parse_int_arg("before", request.args.get("before"), maximum=10**18)
    return limit or int(config["DEFAULT_LIST_LIMIT"]), before


Query = dict[str, Any]


def pager(
    numbers: list[int], total: int, limit: int, before: int | None
) -> tuple[Query | None, Query | None, str]:
    """The query of the newer and the older page (None: there is none) and this page's,
    for a list numbered 1..``total`` shown newest first (``numbers``: this page's)."""
    newer: Query | None = None
    if numbers and numbers[0] < total:
        top = numbers[0] + limit + 1
        newer = {"limit": limit} | ({"before": top} if top <= total else {})
    older = {"limit": limit, "before": numbers[-1]} if numbers and numbers[-1] > 1 else None
    query = "&".join(f"{k}={v}" for k, v in (("limit", limit), ("before", before)) if v)
    return newer, older, query


@bp.get(RELEASE)
def release(application: str, release: str) -> ResponseReturnValue:
    """Newest first, paged like ``GET .../versions`` (``limit``, ``before``)."""
    limit, before = page_args()
    store = get_store()
    latest = store.version(application, release, None).number
    versions = store.versions(application, release, limit=limit, before=before)
    numbers = [v.number for v in versions]
    newer, older, query = pager(numbers, latest, limit, before)
    gate = store.gate(application, release)
    return render_template(
        "ui/release.html",
        standing={v.number: gate.standing(v.number) for v in versions},
        badges={
            n: whereabouts.badges(records, n)
            for n, records in store.deployments_of_versions(
                application, release, [v.number for v in versions]
            ).items()
        },
        frozen=gate.frozen(),
        application=application,
        release=release,
        latest=latest,
        versions=versions,
        limit=limit,
        newer=newer,
        older=older,
        json_url=links.release_api(application, release)
        + "/versions"
        + (f"?{query}" if query else ""),
        describe=builds.describe,
    )


def promoted_notice(info: VersionInfo) -> dict[str, Any] | None:
    """What the promotion that led here made (read once: a reload shows the page alone)."""
    made = session.get(PROMOTED)
    if not isinstance(made, dict) or (
        made.get("application"),
        made.get("release"),
        made.get("version"),
    ) != (
        info.application,
        info.release,
        info.number,
    ):
        return None
    session.pop(PROMOTED, None)
    return made


def git_commands(info: VersionInfo) -> list[str]:
    tag = shlex.quote(info.tag)
    return [
        f"git clone {shlex.quote(links.git_url())} descriptors && cd descriptors",
        f"git checkout {tag}",
        f"git show {shlex.quote(info.tag + ':docker-compose.yml')} > docker-compose.yml",
    ]


def deploy_command(info: VersionInfo) -> str:
    quoted = " ".join(shlex.quote(s) for s in (info.application, info.release, str(info.number)))
    return f"consign deploy {quoted} --registry {shlex.quote(request.root_url.rstrip('/'))}"


@bp.get(f"{RELEASE}/versions/<version>")
def version(application: str, release: str, version: str) -> ResponseReturnValue:
    number = parse_version(version)
    store = get_store()
    if number is None:  # "latest" moves: send the browser to the numbered, stable URL
        latest = store.version(application, release, None).number
        target = url_for("ui.version", application=application, release=release, version=latest)
        return redirect(target, 302)
    info, text = store.descriptor(application, release, number)
    latest = store.version(application, release, None).number
    template = str(current_app.config.get("UI_RUNDECK_URL_TEMPLATE") or "")
    gate = store.gate(application, release)
    now = [
        r
        for r in whereabouts.running(store.in_service()).get((application, release), [])
        if r.deployed_version == number
    ]
    viewer = identity.current()
    return render_template(
        "ui/version.html",
        promoted=promoted_notice(info),
        releases=store.existing_releases(application),
        applications=store.applications(),
        sign_in_for=[(role, doing) for role, doing in GATE_ROLES if not viewer.can(role)],
        standing=gate.standing(number),
        frozen=gate.frozen(),
        promoted_to=store.promoted_to(application, release, number),
        running_now=now,
        history=store.deployments_of_version(application, release, number),
        info=info,
        latest=latest,
        components=[(c, builds.describe(c.build)) for c in info.components],
        made_by=builds.describe(info.build),
        descriptor_html=yaml_html(masked(text.decode("utf-8"))),
        git=git_commands(info),
        deploy=deploy_command(info),
        rundeck=links.rundeck(template, application, release, number),
        json_url=links.release_api(application, release) + f"/versions/{number}",
        yaml_url=links.descriptor(application, release, number),
    )
