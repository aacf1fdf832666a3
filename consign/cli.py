"""The `consign` command: one group, one subcommand per job.

`serve` runs the registry; `deploy`, `status`, `down`, `versions`, `show`, `diff`, `drift`,
`unlock` are the deployer's, `publish` the CI client's, `promote` moves a version through the gate
(publisher/promote.py), `environment retire|restore` takes a gone environment out of
the lists and back (deployer/ledger/retire.py). Subcommands live beside the code they
drive and are added here; every one maps its failures to exit codes through :mod:`consign.errors`.
"""

from __future__ import annotations

import logging

import click


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
    if log_level.upper() != "DEBUG":
        # urllib3 logs each retry of a request as a WARNING in its own words (``Retrying
        # (Retry(total=3, ...))``); the retries are expected (the HTTP clients mount them)
        # and a request that still fails is said once, in ours (consign/registry_url.py).
        logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)


def _register() -> None:
    from publisher.promote import promote
    from registry.cli import serve

    main.add_command(serve)
    main.add_command(promote)
    from deployer.ledger.retire import environment

    main.add_command(environment)
    try:
        from deployer.cli import commands
    except ImportError:  # pragma: no cover - the deployer is installed with the package
        return
    for command in commands:
        main.add_command(command)
    from deployer.ledger.command import drift_cmd
    from deployer.ledger.unlock import unlock_cmd

    main.add_command(drift_cmd)
    main.add_command(unlock_cmd)


_register()
