"""The Consignment registry: Compose fragments in, immutable numbered descriptors out.

``registry.create_app`` is the app factory's stable name (for a WSGI server of one's own:
``gunicorn 'registry:create_app()'``); it lives in :mod:`registry.http.app` and is imported
on first use, so importing the domain or the store does not import Flask.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from registry.http.app import create_app

        return create_app
    raise AttributeError(f"module 'registry' has no attribute {name!r}")
