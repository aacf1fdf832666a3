"""``consign serve``: the registry under gunicorn.

gunicorn is driven programmatically (a ``BaseApplication``) so the command needs no config
file. Each worker builds its own app with :func:`registry.http.app.create_app` (no preload: a Git
store must not be shared across ``fork``); the bare repo is created once, in the master,
before any worker starts. gunicorn's own access log is off: the app logs every request.

Workers are ``gthread`` with 64 threads each: a client that sends its request slowly (a
trickle of header or body bytes, a stalled proxy) holds one thread, not a whole worker, and
a connection that has sent nothing yet holds none. With the ``sync`` class two such clients
made the registry unavailable; ``python -m bench slowclients`` measures both (README).
"""

from __future__ import annotations

import logging
import os
from typing import Any

import click

from consign.compose import schema
from registry.errors import RegistryError

log = logging.getLogger("registry.serve")


def _parse_bind(value: str) -> str:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise click.BadParameter(f"expected HOST:PORT, got {value!r}")
    return value


def _check_tls(certfile: str, keyfile: str) -> None:
    """Load the pair once here, so a bad file fails the command, not every worker."""
    import ssl

    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(certfile, keyfile)
    except (ssl.SSLError, OSError) as e:
        raise click.ClickException(f"cannot use {certfile} with {keyfile}: {e}") from e


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
@click.option(
    "--worker-class",
    envvar="CONSIGN_WORKER_CLASS",
    default="gthread",
    show_default=True,
    show_envvar=True,
    type=click.Choice(["gthread", "sync", "gevent"]),
    help="gunicorn worker class: gthread (threads; the default), sync (one request per "
    "process at a time: slow clients block it), gevent (needs the gevent package).",
)
@click.option(
    "--threads",
    envvar="CONSIGN_THREADS",
    default=64,
    show_default=True,
    show_envvar=True,
    type=click.IntRange(1, 1024),
    help="Request threads per worker (gthread): how many slow or stalled clients each "
    "worker can wait on while it still answers others.",
)
@click.option(
    "--certfile",
    envvar="CONSIGN_CERTFILE",
    default=None,
    show_envvar=True,
    type=click.Path(exists=True, dir_okay=False, path_type=str),
    help="PEM certificate (chain): serve HTTPS (gunicorn's TLS); needs --keyfile.",
)
@click.option(
    "--keyfile",
    envvar="CONSIGN_KEYFILE",
    default=None,
    show_envvar=True,
    type=click.Path(exists=True, dir_okay=False, path_type=str),
    help="PEM private key of --certfile.",
)
def serve(
    repo: str,
    bind: str,
    workers: int,
    timeout: int,
    worker_class: str,
    threads: int,
    certfile: str | None,
    keyfile: str | None,
) -> None:
    """Run the descriptor registry (HTTP API) under gunicorn; HTTPS with --certfile/--keyfile
    (Compose's oci:// client speaks HTTPS only)."""
    from registry.gunicorn_app import RegistryServer, metrics_hooks  # gunicorn only when serving

    hooks = metrics_hooks()  # before anything imports the metrics library
    from registry.http import storage
    from registry.http.app import create_app

    repo = os.path.abspath(repo)
    os.environ["CONSIGN_REPO"] = repo  # the workers' create_app() reads it
    try:  # fail here, once and clearly, rather than in every worker; creates the bare repo
        storage.close(create_app())
    except (ValueError, RegistryError) as e:
        raise click.ClickException(str(e)) from e
    if bool(certfile) != bool(keyfile):
        raise click.UsageError("--certfile and --keyfile go together (HTTPS needs both)")
    if certfile and keyfile:
        _check_tls(certfile, keyfile)
    schema.warm()  # compiled once here; the forked workers inherit it
    scheme = "https" if certfile else "http"
    log.info("serving %s on %s://%s with %d workers", repo, scheme, bind, workers)
    options: dict[str, Any] = {
        "bind": bind,
        "workers": workers,
        "timeout": timeout,
        "worker_class": worker_class,
        # gunicorn turns `sync` with threads > 1 into gthread: sync means one at a time
        "threads": threads if worker_class == "gthread" else 1,
        "graceful_timeout": min(timeout, 30),
        # gunicorn's largest request line (answered 414, as HTML, by gunicorn itself above it;
        # every operation in openapi.json documents that)
        "limit_request_line": 8190,
        "accesslog": None,
        "preload_app": False,
        "proc_name": "consign-registry",
        # gunicorn >= 25 opens a control socket at one fixed path per user; two registries on
        # one host would fight over it, and nothing here uses it.
        "control_socket_disable": True,
        **hooks,
    }
    if certfile and keyfile:
        options.update(certfile=os.path.abspath(certfile), keyfile=os.path.abspath(keyfile))
    RegistryServer(options).run()
