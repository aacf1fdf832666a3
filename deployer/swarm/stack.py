"""The docker CLI's stack commands, through consign.process.run.

Why the CLI and not the SDK: a stack is a client-side idea. ``docker stack deploy`` is
the CLI's own Compose loader plus conversion to service, network, secret and config specs
(with its ``com.docker.stack.*`` labels, image digest resolution and ``--prune``); the
Engine API only knows services. Using it means the stack is read exactly the way
``docker stack deploy`` reads it (the issue asks for that) and stays manageable with
``docker stack ls/ps/rm``. The watch, which the CLI does badly, uses the SDK.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence
from pathlib import Path

from consign.process import CommandFailed, Completed, run


class StackInvalid(Exception):
    """``docker stack config`` refuses the descriptor (or our checks do): nothing deployed."""


class DockerCliMissing(Exception):
    """No docker CLI with the ``stack`` command."""


class StackRunner:
    """``docker [--host H] stack ...``; ``CONSIGN_DOCKER`` overrides the CLI's command line."""

    def __init__(self, host: str | None = None, command: str | None = None) -> None:
        self.host = host
        self.command = shlex.split(command or os.environ.get("CONSIGN_DOCKER", "") or "docker")

    @property
    def env(self) -> dict[str, str]:
        return {"DOCKER_HOST": self.host} if self.host else {}

    def _run(self, *args: str, check: bool = True, timeout: float | None = None) -> Completed:
        try:
            return run([*self.command, *args], env=self.env, check=check, timeout=timeout)
        except CommandFailed as e:
            if e.returncode == 127:
                raise DockerCliMissing(str(e)) from e
            raise

    def config(self, files: Sequence[str | Path]) -> str:
        """The merged descriptor as ``docker stack deploy`` reads it (YAML text)."""
        try:
            return self._run("stack", "config", *_files(files)).stdout
        except DockerCliMissing:
            raise
        except CommandFailed as e:
            words = (e.stderr or e.stdout).strip() or str(e)
            raise StackInvalid(f"`docker stack config` refuses it: {words}") from e

    def deploy(self, stack: str, files: Sequence[str | Path], *, resolve_image: str) -> Completed:
        """``stack deploy --prune --detach``: never raises for a refused deploy (the caller
        reports it with the CLI's words)."""
        args = ["--prune", "--detach=true", "--resolve-image", resolve_image]
        return self._run("stack", "deploy", *_files(files), *args, stack, check=False)

    def remove(self, stack: str) -> Completed:
        """``stack rm`` and wait until its services, tasks and networks are gone."""
        return self._run("stack", "rm", "--detach=false", stack, timeout=600)


def _files(files: Sequence[str | Path]) -> list[str]:
    out: list[str] = []
    for f in files:
        out += ["-c", str(f)]
    return out
