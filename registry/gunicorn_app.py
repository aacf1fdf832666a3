"""The gunicorn application behind ``consign serve``.

Imported only when serving, so the deployer commands do not pay for importing gunicorn.
"""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication


class RegistryServer(BaseApplication):
    """A gunicorn application whose workers each call ``create_app()``."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings:  # settings newer than the installed gunicorn are skipped
                self.cfg.set(key, value)

    def load(self) -> Any:
        from registry.app import create_app

        return create_app({"ANNOUNCE_OPEN_PUBLISH": False})  # the master already warned
