"""The deployer's commands for the ``consign`` group (assembled by :mod:`consignment.cli`):
``deploy``, ``status``, ``down``, ``versions``, ``show``, ``diff`` (:mod:`deployer.cli`) and
the ledger's ``drift``, ``unlock`` and ``environment retire|restore``, ``bisect``
(:mod:`deployer.bisect`) and ``verify`` (:mod:`deployer.verifycmd`)."""

from __future__ import annotations

import click

from deployer import cli
from deployer.bisect.command import bisect_cmd
from deployer.ledger.command import drift_cmd
from deployer.ledger.retire import environment
from deployer.ledger.unlock import unlock_cmd
from deployer.verifycmd import verify_cmd

commands: list[click.Command] = [
    *cli.commands, drift_cmd, unlock_cmd, environment, bisect_cmd, verify_cmd,
]  # fmt: skip
