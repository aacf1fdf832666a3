"""The gunicorn application behind ``consign serve``.

Imported only when serving, so the deployer commands do not pay for importing gunicorn.
"""

from __future__ import annotations

import glob
import os
import shutil
import tempfile
from typing import Any

from gunicorn.app.base import BaseApplication

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # registry.http.metrics reads it; not imported here


def metrics_hooks() -> dict[str, Any]:
    """Prepare ``PROMETHEUS_MULTIPROC_DIR`` before any worker (or the app) imports the
    metrics library, and return the gunicorn hooks that keep it right.

    The operator's directory is used when set (emptied of an earlier run's files, as the
    library asks); otherwise a private temporary one, removed when the server exits.
    """
    path = os.environ.get(MULTIPROC_ENV)
    owned = not path
    if path:
        os.makedirs(path, exist_ok=True)
        for stale in glob.glob(os.path.join(path, "*.db")):
            os.unlink(stale)
    else:
        path = tempfile.mkdtemp(prefix="consign-metrics-")
        os.environ[MULTIPROC_ENV] = path

    def child_exit(_server: Any, worker: Any) -> None:
        from registry.http.metrics import mark_worker_dead

        mark_worker_dead(worker.pid)

    def on_exit(_server: Any) -> None:
        if owned:
            shutil.rmtree(path, ignore_errors=True)

    return {"child_exit": child_exit, "on_exit": on_exit}


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
        from registry.http.app import create_app

        # the master already warned; workers (not the master's check) deliver webhooks
        return create_app({"ANNOUNCE_OPEN_PUBLISH": False, "WEBHOOKS_DELIVER": True})
