"""``/healthz`` and ``/openapi.json``: about the registry itself, always open."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, jsonify

from registry.http.storage import get_store

bp = Blueprint("meta", __name__)

OPENAPI = Path(__file__).resolve().parent.parent / "openapi.json"


@bp.get("/healthz")
def healthz() -> Response | tuple[Response, int]:
    """200 when the store's bare repo is there (a stat, not a Git command: probes are frequent)."""
    path = get_store().repo_path()
    if not (path / "HEAD").is_file() or not (path / "objects").is_dir():
        return jsonify({"status": "unavailable", "message": f"no Git repository at {path}"}), 503
    return jsonify({"status": "ok"})


@bp.get("/openapi.json")
def openapi() -> Response:
    """The committed OpenAPI document, served byte for byte."""
    return Response(OPENAPI.read_bytes(), mimetype="application/json")
