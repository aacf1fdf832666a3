"""``consign serve``: the registry under gunicorn.

gunicorn is driven programmatically (a ``BaseApplication``) so the command needs no config
file. Each worker builds its own app with :func:`registry.app.create_app` (no preload: a Git
store must not be shared across ``fork``); the bare repo is created once, in the master,
before any worker starts. gunicorn's own access log is off: the app logs every request.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import click

from registry import compose_schema
from registry.errors import RegistryError

log = logging.getLogger("registry.serve")


def _parse_bind(value: str) -> str:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise click.BadParameter(f"expected HOST:PORT, got {value!r}")
    return value


@click.command()
@click.option(
    "--repo",
    envvar="CONSIGN_REPO",
    default="./var/registry.git",
    show_default=True,
    show_envvar=True,
    type=click.Path(file_okay=False, path_type=str),
    help="The bare Git repository holding the descriptors (created if missing).",
)
@click.option(
    "--bind",
    envvar="CONSIGN_BIND",
    default="127.0.0.1:9090",
    show_default=True,
    show_envvar=True,
    callback=lambda _ctx, _param, value: _parse_bind(value),
    help="HOST:PORT to listen on.",
)
@click.option(
    "--workers",
    envvar="CONSIGN_WORKERS",
    default=4,
    show_default=True,
    show_envvar=True,
    type=click.IntRange(1, 64),
    help="gunicorn worker processes.",
)
@click.option(
    "--timeout",
    envvar="CONSIGN_WORKER_TIMEOUT",
    default=60,
    show_default=True,
    show_envvar=True,
    type=click.IntRange(1, 3600),
    help="Seconds before a silent worker is killed and restarted.",
)
def serve(repo: str, bind: str, workers: int, timeout: int) -> None:
    """Run the descriptor registry (HTTP API) under gunicorn."""
    from registry.app import create_app

    repo = os.path.abspath(repo)
    os.environ["CONSIGN_REPO"] = repo  # the workers' create_app() reads it
    try:  # fail here, once and clearly, rather than in every worker; creates the bare repo
        create_app()
    except (ValueError, RegistryError) as e:
        raise click.ClickException(str(e)) from e
    compose_schema.warm()  # compiled once here; the forked workers inherit it
    log.info("serving %s on http://%s with %d workers", repo, bind, workers)
    options: dict[str, Any] = {
        "bind": bind,
        "workers": workers,
        "timeout": timeout,
        "graceful_timeout": min(timeout, 30),
        "accesslog": None,
        "preload_app": False,
        "proc_name": "consign-registry",
        # gunicorn >= 25 opens a control socket at one fixed path per user; two registries on
        # one host would fight over it, and nothing here uses it.
        "control_socket_disable": True,
    }
    from registry.gunicorn_app import RegistryServer  # gunicorn only when serving

    RegistryServer(options).run()
