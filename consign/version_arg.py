"""A VERSION argument: a version number (1, 2, ...) or ``latest``; anything else is a usage
error (exit 2) before any request, not a registry failure."""

from __future__ import annotations

from typing import Any

import click


class VersionArgument(click.ParamType):
    name = "version"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value).strip()
        if text == "latest" or (text.isdigit() and text.isascii() and int(text) > 0):
            return str(int(text)) if text != "latest" else text
        self.fail(f"{value!r} is not a version: give a number (1, 2, ...) or 'latest'", param, ctx)


VERSION = VersionArgument()
