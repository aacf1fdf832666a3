"""Prometheus metrics (``prometheus_client``), in multi-process mode under gunicorn.

Every gunicorn worker is its own process, so counters live in files under
``PROMETHEUS_MULTIPROC_DIR`` (``consign serve`` makes that directory before any worker
starts, and tells the library when a worker dies) and ``/metrics`` adds them up across
workers. Outside gunicorn (the Flask test client, a single process) the library's default
in-memory registry serves. The mode is chosen by the library when it is first imported, from
that environment variable, which is why nothing else should import it earlier.
"""

from __future__ import annotations

import os
import time

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

REQUESTS = Counter(
    "consign_http_requests",
    "HTTP requests answered, by route (the URL rule, not the URL), method and status.",
    ["route", "method", "status"],
)
REQUEST_SECONDS = Histogram(
    "consign_http_request_duration_seconds",
    "Time to answer an HTTP request, by route and method.",
    ["route", "method"],
)
PUBLISH_SECONDS = Histogram(
    "consign_publish_duration_seconds",
    "Time to answer a publish (PUT/POST /fragment), whatever its outcome.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
VERSIONS_CREATED = Counter(
    "consign_versions_created", "Descriptor versions created by publishes and promotions."
)
CONFLICTS = Counter(
    "consign_publish_conflicts", "Publishes refused with 409 (ownership, names, cycles)."
)
DEPLOYMENTS_REPORTED = Counter(
    "consign_deployments_reported",
    "Deployment records accepted into the ledger, by outcome.",
    ["outcome"],
)
LOCK_WAIT_SECONDS = Histogram(
    "consign_store_lock_wait_seconds",
    "Time spent waiting for the repository's writer lock.",
    buckets=(0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0),
)
WEBHOOK_DELIVERIES = Counter(
    "consign_webhook_deliveries",
    "Webhook delivery attempts, by subscription and result (delivered, retry, gave_up, "
    "refused: every result but delivered is a failure).",
    ["subscription", "result"],
)

PUBLISH_ENDPOINT = "publish.publish_fragment"  # registry/http/views/publish.py
#: The endpoints whose ``g.consign_created`` names new versions (a report names a record).
VERSION_ENDPOINTS = (PUBLISH_ENDPOINT, "gate.promote")


def exposition() -> Response:
    """The metrics in Prometheus' text format, summed across workers in multi-process mode."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> None:
    """Count and time every request (after it is answered, whatever the outcome)."""

    @app.before_request
    def start() -> None:
        g.consign_metrics_started = time.monotonic()

    @app.after_request
    def record(response: Response) -> Response:
        seconds = time.monotonic() - g.get("consign_metrics_started", time.monotonic())
        route = request.url_rule.rule if request.url_rule is not None else "(unmatched)"
        REQUESTS.labels(route, request.method, str(response.status_code)).inc()
        REQUEST_SECONDS.labels(route, request.method).observe(seconds)
        if request.endpoint == PUBLISH_ENDPOINT:
            PUBLISH_SECONDS.observe(seconds)
            if response.status_code == 409:
                CONFLICTS.inc()
        created = g.get("consign_created") or []
        if created and request.endpoint in VERSION_ENDPOINTS:
            VERSIONS_CREATED.inc(len(created))
        return response


def mark_worker_dead(pid: int) -> None:
    """gunicorn's ``child_exit`` hook: let the library retire a dead worker's live gauges."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(pid)
