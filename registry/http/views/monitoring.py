"""``GET /metrics``: Prometheus' text format, following the read-token rule of the API."""

from __future__ import annotations

from flask import Blueprint, Response

from registry.http import metrics
from registry.http.auth import require_read

bp = Blueprint("monitoring", __name__)
bp.before_request(require_read)


@bp.get("/metrics")
def scrape() -> Response:
    """Every counter and histogram, summed across gunicorn workers."""
    return metrics.exposition()
