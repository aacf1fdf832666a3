"""Names in lookups are compared in NFC, like names in a publish (:mod:`registry.names`).

Every route's ``<application>`` and ``<release>`` become their stored spelling before the
view runs (one app-wide URL value preprocessor), so a client that spells ``Café``
decomposed (``Cafe`` + U+0301, as macOS file names and some shells do) finds the version
published composed, and the reverse. Query parameters that name an application or release
go through :func:`stored_names` in their view.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from registry.http.storage import get_store

bp = Blueprint("lookup", __name__)


def stored_names(application: str, release: str) -> tuple[str, str]:
    """The stored spelling of an application and release named by a client."""
    found, spelled = get_store().spelling(application, release)
    return found, release if spelled is None else spelled


@bp.app_url_value_preprocessor
def _stored_spelling(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    if not values or not isinstance(values.get("application"), str):
        return
    release = values.get("release")
    if isinstance(release, str):
        values["application"], values["release"] = stored_names(values["application"], release)
    else:
        values["application"] = get_store().spelling(values["application"])[0]
