"""Options more than one deployer command declares, declared once: ``--env-file`` (the deploy
host's values for ``${VAR}``) and ``--verify-timeout`` (the verification services' time).
Each command says in a few words what the option means for it; the name, the environment
variable, the type and the default are the same everywhere."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

ENV_FILE_HELP = (
    "Values for the descriptor's ${VAR} on this host (Compose's env file format; the "
    "environment wins; refused unless only its owner can read it). Never written down: "
    "its values are masked in the output, the report and the ledger (docs/secrets.md)."
)


def env_file_option(help: str = ENV_FILE_HELP) -> Callable[[Any], Any]:
    """``--env-file`` / ``CONSIGN_ENV_FILE`` (deployer/deploy/hostvars.py reads it)."""
    return click.option(
        "--env-file", envvar="CONSIGN_ENV_FILE", type=click.Path(dir_okay=False), help=help
    )


def verify_timeout_option(help: str) -> Callable[[Any], Any]:
    """``--verify-timeout`` / ``CONSIGN_VERIFY_TIMEOUT``, 300 s (docs/deployer.md,
    "Verification")."""
    return click.option(
        "--verify-timeout",
        envvar="CONSIGN_VERIFY_TIMEOUT",
        type=click.FloatRange(0),
        default=300.0,
        show_default=True,
        help=help,
    )
