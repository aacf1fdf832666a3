"""``GET /descriptor/application/<application>/<release>/<version>``: the seed's URL.

Numbered versions never change, so they are served with a strong ETag (the commit) and an
immutable year-long Cache-Control; ``latest`` moves, so it must be revalidated every time.
"""

from __future__ import annotations

import hashlib
from urllib.parse import quote

from flask import Blueprint, Response, request

from registry import names, ocinames
from registry.errors import NotFound
from registry.http.auth import require_read
from registry.http.parsing.fields import parse_version
from registry.http.storage import get_store
from registry.store import VersionInfo

bp = Blueprint("descriptors", __name__)
bp.before_request(require_read)

YAML = "application/yaml; charset=utf-8"
IMMUTABLE = "public, max-age=31536000, immutable"


def _segment(name: str) -> str:
    """A name as one path segment: everything but unreserved characters percent-encoded, and
    ``.``/``..`` too, which clients would otherwise resolve as dot-segments."""
    encoded = quote(name, safe="")
    return encoded.replace(".", "%2E") if encoded in (".", "..") else encoded


def descriptor_url(application: str, release: str, number: int) -> str:
    """The absolute URL of a numbered descriptor, for answers (call inside a request)."""
    path = f"descriptor/application/{_segment(application)}/{_segment(release)}/{number}"
    return request.root_url + path


def oci_reference(application: str, release: str, number: int) -> str:
    """``oci://HOST:PORT/<name>:<N>``: what ``docker compose -f`` runs (call inside a request)."""
    return f"oci://{request.host}/{ocinames.repository(application, release)}:{number}"


def file_url(application: str, release: str, number: int, stored: str) -> str:
    """The URL of an attached file (``stored``: its path in the version's tree)."""
    base = descriptor_url(application, release, number)
    return f"{base}/files/{quote(stored, safe='/')}"


CONDITIONAL = ("HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE", "HTTP_IF_MATCH", "HTTP_RANGE")


def _yaml_response(info: VersionInfo, data: bytes, latest: bool, etag: str) -> Response:
    headers = {
        "Content-Type": YAML,
        "X-Consign-Version": str(info.number),
        "X-Consign-Commit": info.commit,
        "Cache-Control": "no-cache" if latest else IMMUTABLE,
        "ETag": f'"{etag}"',  # strong: a numbered version's bytes never change
    }
    response = Response(data, headers=headers)
    if any(name in request.environ for name in CONDITIONAL):
        response.make_conditional(request)  # a 304 when If-None-Match matches
    return response


@bp.get("/descriptor/application/<application>/<release>/<version>")
def descriptor(application: str, release: str, version: str) -> Response:
    number = parse_version(version)
    info, data = get_store().descriptor(application, release, number)
    return _yaml_response(info, data, number is None, info.commit)


@bp.get("/descriptor/application/<application>/<release>/<version>/fragments/<component>")
def fragment(application: str, release: str, version: str, component: str) -> Response:
    """One component's fragment exactly as it was published into that version."""
    number = parse_version(version)
    info = get_store().version(application, release, number)
    components = get_store().components(application, release, info.number)
    component = names.stored_spelling(component, [c.name for c in components])
    for found in components:
        if found.name == component:
            data = found.fragment.encode("utf-8")
            return _yaml_response(info, data, number is None, f"{info.commit}-{found.sha256}")
    raise NotFound(
        f"version {info.number} of {application}/{release} has no component {component!r}",
        details={"components": [c.name for c in components]},
    )


@bp.get("/descriptor/application/<application>/<release>/<version>/files/<path:stored>")
def file(application: str, release: str, version: str, stored: str) -> Response:
    """A file published with a fragment (an env file), by its path in the version's tree
    (``fragments/<component>/<path>``, as the descriptor names it). Env files often hold
    secrets: set read tokens (CONSIGN_READ_TOKENS) on a registry that serves them."""
    number = parse_version(version)
    info = get_store().version(application, release, number)
    data = get_store().file(application, release, info.number, stored)
    etag = hashlib.sha256(data).hexdigest()
    response = _yaml_response(info, data, number is None, etag)
    response.headers["Content-Type"] = "application/octet-stream"
    return response
