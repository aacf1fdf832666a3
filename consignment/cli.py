"""The `consign` command: one group, one subcommand per job, assembled here at the top.

Each side exports its own ``commands`` list beside the code they drive:
:mod:`registry.commands` (``serve``), :mod:`publisher.commands` (``publish``, ``promote``),
:mod:`deployer.commands` (``deploy``, ``status``, ``down``, ``versions``, ``show``, ``diff``,
``drift``, ``unlock``, ``environment retire|restore``). Nothing below imports this module
(tests/test_layers.py); every command maps its failures to exit codes through
:mod:`consign.errors`.
"""

from __future__ import annotations

import logging

import click

import deployer.commands
import publisher.commands
import registry.commands


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "CONSIGN"}
)
@click.option(
    "--log-level",
    envvar="CONSIGN_LOG_LEVEL",
    default="INFO",
    show_default=True,
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    help="Logging level.",
)
# allow_from_autoenv=False: CONSIGN_VERSION is the version to deploy or promote, not this flag
@click.version_option(package_name="consignment", allow_from_autoenv=False)
def main(log_level: str) -> None:
    """Consignment: publish Compose fragments, deploy whole solutions, know if they came up."""
    logging.basicConfig(
        level=log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


SIDES = (registry.commands, publisher.commands, deployer.commands)


def _register() -> None:
    for side in SIDES:
        for command in side.commands:
            if command.name in main.commands:
                raise RuntimeError(f"two sides export the command {command.name!r}")
            main.add_command(command)


_register()
