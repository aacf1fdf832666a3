"""The CI client's commands for the ``consign`` group (assembled by :mod:`consignment.cli`):
``publish`` a fragment, ``promote`` a version through the gate."""

from __future__ import annotations

import click

from publisher.command import publish
from publisher.promote import promote

commands: list[click.Command] = [publish, promote]
