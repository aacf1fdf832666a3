"""Command-line options shared by the registry clients (`consign publish`, `consign promote`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def retry_options(command: str) -> Callable[[F], F]:
    """``--attempts``, ``--backoff`` and ``--timeout``, read from ``CONSIGN_<COMMAND>_*``."""
    prefix = f"CONSIGN_{command.upper()}"
    options = [
        click.option(
            "--attempts",
            envvar=f"{prefix}_ATTEMPTS",
            default=5,
            show_default=True,
            type=click.IntRange(1, 20),
            help="Tries in all for connection errors, timeouts, 5xx.",
        ),
        click.option(
            "--backoff",
            envvar=f"{prefix}_BACKOFF",
            default=1.0,
            show_default=True,
            type=click.FloatRange(0),
            help="Seconds before the first retry; doubles each retry.",
        ),
        click.option(
            "--timeout",
            envvar=f"{prefix}_TIMEOUT",
            default=30.0,
            show_default=True,
            type=click.FloatRange(0.1),
            help="Seconds per HTTP request.",
        ),
    ]

    def decorate(function: F) -> F:
        for option in reversed(options):  # click lists them in decorator order
            function = option(function)
        return function

    return decorate
