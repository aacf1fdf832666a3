"""The store handle of the current app (flaskr's ``db.py``): ``get_store()`` + ``init_app``.

Blueprints call :func:`get_store` inside a request and never import the app, so there is
no import cycle between ``registry.http.app`` and the views.
"""

from __future__ import annotations

from flask import Flask, Response, current_app, request

from registry.http import events, metrics
from registry.store import DescriptorStore

STORE_EXTENSION = "consign.store"


def init_app(app: Flask) -> None:
    """Open the store named by ``app.config["REPO"]`` and attach it to ``app`` (one that
    emits events when a webhooks file is set: registry/http/events.py)."""
    app.extensions[STORE_EXTENSION] = events.open_store(
        app,
        app.config["REPO"],
        durable=bool(app.config["DURABLE"]),
        lock_waited=metrics.LOCK_WAIT_SECONDS.observe,
        max_descriptor_bytes=int(app.config["MAX_DESCRIPTOR_BYTES"]),
    )
    app.extensions[STORE_EXTENSION].replenish()  # for the first write (best effort)
    app.after_request(_replenish_after_writes)


READS = frozenset({"GET", "HEAD", "OPTIONS"})


def _replenish_after_writes(response: Response) -> Response:
    """After a write has been answered (the WSGI server closes the response once it is
    sent), make the files the next write will fill: off the next publish's path."""
    if request.method not in READS:
        response.call_on_close(get_store().replenish)
    return response


def get_store() -> DescriptorStore:
    """The current app's store (call inside a request or an app context)."""
    found: DescriptorStore = current_app.extensions[STORE_EXTENSION]
    return found


def close(app: Flask) -> None:
    """Release the store's Git helper processes (``consign serve``'s master, after its check:
    only the workers keep children)."""
    store: DescriptorStore | None = app.extensions.get(STORE_EXTENSION)
    if store is not None:
        store.close()
