"""The pull side of the OCI distribution API, read-only, for Compose's ``oci://`` loader.

``GET``/``HEAD`` ``/v2/``, ``/v2/<name>/manifests/<tag or digest>``, ``/v2/<name>/blobs/<digest>``
and ``/v2/<name>/tags/list``. ``<name>`` is ``<application>/<release>`` mapped by
:mod:`registry.ocinames`; tags are the version numbers and ``latest``. Errors use the
distribution spec's JSON and codes; ``HEAD`` of a layer digest under ``manifests/`` is 404
(``MANIFEST_UNKNOWN``) so clients fall back to ``blobs/``; writes answer 405 ``UNSUPPORTED``
(publishing is ``PUT /fragment``). Reads follow the read-token rule; a 401 challenges with
``Basic realm="consign"``, which the Docker client answers with ``docker login``'s
credentials (the token as the password).

Finding a digest: the artifacts this process built are indexed by digest; otherwise the
release's versions are searched newest first, and a digest not found is remembered with
the newest version searched, so asking again only searches versions published since.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from flask import Blueprint, Response, current_app, jsonify, request

from consign.cache import LRU
from registry import oci, ocinames
from registry.errors import Forbidden, NotFound, OCIError, Unauthorized
from registry.http.auth import require_read
from registry.http.storage import get_store
from registry.store import VersionInfo

bp = Blueprint("oci", __name__, url_prefix="/v2")

API_VERSION = {"Docker-Distribution-API-Version": "registry/2.0"}
CHALLENGE = 'Basic realm="consign"'
_SHA256 = re.compile(r"^sha256:[a-f0-9]{64}$")
_NUMBER = re.compile(r"^[1-9][0-9]{0,17}$")
PAGE = 100

EXTENSION = "consign.oci"


class _Caches:
    """Per app (so per repository): artifacts built, where digests are, misses. Each is
    thread-safe on its own (:class:`consign.cache.LRU`); ``where`` and ``searched`` are
    hints, checked against the artifact found."""

    def __init__(self) -> None:
        self.artifacts: LRU[str, oci.Artifact] = LRU(256)  # commit -> artifact
        self.where: LRU[tuple[str, str, str], int] = LRU(20_000)  # (app, rel, digest) -> N
        self.searched: LRU[tuple[str, str, str], int] = LRU(20_000)  # -> newest N searched


def _caches() -> _Caches:
    found = current_app.extensions.get(EXTENSION)
    if found is None:
        found = current_app.extensions.setdefault(EXTENSION, _Caches())
    assert isinstance(found, _Caches)
    return found


@bp.before_request
def _authorise() -> None:
    try:
        require_read()
    except Unauthorized as e:
        challenge = {"WWW-Authenticate": CHALLENGE}
        raise OCIError(401, "UNAUTHORIZED", e.message, headers=challenge) from e
    except Forbidden as e:
        raise OCIError(403, "DENIED", e.message) from e


@bp.after_request
def _api_version(response: Response) -> Response:
    response.headers.update(API_VERSION)
    return response


@bp.get("/")
def base() -> Response:
    return jsonify({})


def _repository(name: str) -> tuple[str, str]:
    """``<app>/<release>`` (OCI names) -> the application and release; NAME_UNKNOWN if none."""
    parts = name.split("/")
    if len(parts) == 2:
        store = get_store()
        for application in store.applications():
            if ocinames.component(application) == parts[0]:
                for release in store.releases(application):
                    if ocinames.component(release) == parts[1]:
                        return application, release
    raise OCIError(404, "NAME_UNKNOWN", f"repository {name!r} is not known to this registry")


def _artifact(info: VersionInfo) -> oci.Artifact:
    return _artifacts([info])[0]


def _artifacts(versions: list[VersionInfo]) -> list[oci.Artifact]:
    """The artifacts of these versions: cached, or built (their layers read in one go)."""
    caches = _caches()
    found = {v.commit: caches.artifacts.get(v.commit) for v in versions}
    todo = [v for v in versions if found[v.commit] is None]
    for info, layer in zip(todo, get_store().oci_layers(todo) if todo else [], strict=True):
        built = found[info.commit] = oci.build(info, layer)
        caches.artifacts.put(info.commit, built)
        for digest in (built.digest, *built.blobs):
            caches.where.put((info.application, info.release, digest), info.number)
    return [a for a in found.values() if a is not None]


def _version(application: str, release: str, number: int | None) -> VersionInfo:
    try:
        return get_store().version(application, release, number)
    except NotFound as e:
        raise OCIError(404, "MANIFEST_UNKNOWN", e.message) from e


def _find(
    application: str, release: str, digest: str, has: Callable[[oci.Artifact], bool]
) -> oci.Artifact | None:
    """The artifact of this release that ``has`` the digest, newest first (see the module)."""
    key = (application, release, digest)
    caches = _caches()
    known, searched = caches.where.get(key), caches.searched.get(key) or 0
    if known is not None:
        found = _artifact(_version(application, release, known))
        if has(found):
            return found
    newest = get_store().version(application, release, None).number
    before: int | None = None
    while True:
        page = get_store().versions(application, release, limit=PAGE, before=before)
        page = [info for info in page if info.number > searched]
        for found in _artifacts(page):
            if has(found):
                return found
        if len(page) < PAGE:
            break
        before = page[-1].number
    caches.searched.put(key, newest)
    return None


def _check_digest(digest: str) -> None:
    """Every digest this registry makes is sha256; anything else is refused as invalid."""
    if not _SHA256.match(digest):
        raise OCIError(
            400, "DIGEST_INVALID", f"{digest[:200]!r} is not a sha256 digest (sha256:<64 hex>)"
        )


@bp.get("/<path:name>/manifests/<reference>")
def manifest(name: str, reference: str) -> Response:
    application, release = _repository(name)
    if ":" in reference:
        _check_digest(reference)
        found = _find(application, release, reference, lambda a: a.digest == reference)
        if found is None:
            raise OCIError(404, "MANIFEST_UNKNOWN", f"no manifest {reference} in {name}")
        immutable = True
    elif reference == "latest" or _NUMBER.match(reference):
        number = None if reference == "latest" else int(reference)
        found = _artifact(_version(application, release, number))
        immutable = number is not None
    else:
        raise OCIError(404, "MANIFEST_UNKNOWN", f"{name} has no tag {reference!r}")
    headers = {
        "Content-Type": oci.MANIFEST_TYPE,
        "Docker-Content-Digest": found.digest,
        "ETag": f'"{found.digest}"',
        "Cache-Control": "public, max-age=31536000, immutable" if immutable else "no-cache",
    }
    return Response(found.manifest, headers=headers)


@bp.get("/<path:name>/blobs/<digest>")
def blob(name: str, digest: str) -> Response:
    application, release = _repository(name)
    _check_digest(digest)
    found = _find(application, release, digest, lambda a: digest in a.blobs)
    if found is None:
        raise OCIError(404, "BLOB_UNKNOWN", f"no blob {digest} in {name}")
    found_blob = found.blobs[digest]
    data = found_blob.data
    if data is None:  # an env file: read when served
        assert found_blob.stored is not None
        data = get_store().file(application, release, found.version, found_blob.stored)
    headers = {
        "Content-Type": "application/octet-stream",
        "Docker-Content-Digest": digest,
        "ETag": f'"{digest}"',
        "Cache-Control": "public, max-age=31536000, immutable",
    }
    return Response(data, headers=headers)


@bp.get("/<path:name>/tags/list")
def tags(name: str) -> Response:
    application, release = _repository(name)
    latest = get_store().version(application, release, None).number
    return jsonify({"name": name, "tags": [*map(str, range(1, latest + 1)), "latest"]})


@bp.get("/<path:rest>")
def unknown(rest: str) -> Response:
    raise OCIError(404, "NAME_UNKNOWN", f"no such repository or endpoint: /v2/{rest}")


@bp.route("/", methods=["PUT", "POST", "DELETE", "PATCH"])
@bp.route("/<path:rest>", methods=["PUT", "POST", "DELETE", "PATCH"])
def write(rest: str = "") -> Response:
    raise OCIError(
        405,
        "UNSUPPORTED",
        f"this registry is read-only over OCI ({request.method} /v2/{rest}); "
        "publish fragments with PUT /fragment",
        headers={"Allow": "GET, HEAD"},
    )
