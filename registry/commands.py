"""The registry's commands for the ``consign`` group (assembled by :mod:`consignment.cli`).

``serve`` imports Flask and gunicorn only when it runs, so a deploy host's ``consign
deploy`` never loads them.
"""

from __future__ import annotations

import click

from registry.cli import serve

commands: list[click.Command] = [serve]
