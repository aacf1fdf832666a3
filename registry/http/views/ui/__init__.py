"""The web UI for QA and ops under ``/ui/``: server-rendered pages (Jinja, no script needed)
over the same store and tokens as the API. ``bp`` is registered like every blueprint; the
route modules below attach their pages to it."""

from __future__ import annotations

from registry.http.views.ui import compare, environments, gate, pages, signin
from registry.http.views.ui.blueprint import bp

__all__ = ["bp", "compare", "environments", "gate", "pages", "signin"]
