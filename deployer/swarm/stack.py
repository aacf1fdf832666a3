"""The docker CLI's stack commands, through consign.process.run.

Why the CLI and not the SDK: a stack is a client-side idea. ``docker stack deploy`` is
the CLI's own Compose loader plus conversion to service, network, secret and config specs
(with its ``com.docker.stack.*`` labels, image digest resolution and ``--prune``); the
Engine API only knows services. Using it means the stack is read exactly the way
``docker stack deploy`` reads it (the issue asks for that) and stays manageable with
``docker stack ls/ps/rm``. The watch, which the CLI does badly, uses the SDK.
"""

from __future__ import annotations

import functools
import os
import re
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from consign.errors import ConsignError, EngineUnreachable, InvalidDescriptor
from consign.process import CommandFailed, Completed, run


class StackInvalid(InvalidDescriptor):
    """``docker stack config`` refuses the descriptor (or our checks do): nothing deployed."""

    label = "invalid descriptor for Swarm, nothing deployed"


class DockerCliMissing(EngineUnreachable):
    """No docker CLI with the ``stack`` command."""

    label = "no docker CLI"


class NotAManager(EngineUnreachable):
    """The engine is not a swarm manager."""

    label = "cannot use the swarm"


class StackCommandFailed(ConsignError):
    """A ``docker stack`` command failed for another reason than the descriptor."""

    label = "docker stack"


def manager(host: str | None) -> Any:
    """A Docker SDK client for a swarm manager (``host`` as for Compose); NotAManager
    otherwise, with the engine's swarm state. An engine that does not answer is
    EngineUnreachable, as for Compose."""
    from deployer.engine.sdk import engine, engine_errors

    client = engine(host)
    try:
        with engine_errors(host):
            swarm = client.info().get("Swarm") or {}
    except BaseException:
        client.close()
        raise
    if not swarm.get("ControlAvailable"):
        client.close()
        state = swarm.get("LocalNodeState", "unknown")
        raise NotAManager(
            f"the engine is not a swarm manager (swarm state: {state}); "
            "run this against a manager (`docker swarm init` makes one)"
        )
    return client


class StackRunner:
    """``docker [--host H] stack ...``; ``CONSIGN_DOCKER`` overrides the CLI's command line."""

    def __init__(
        self,
        host: str | None = None,
        command: str | None = None,
        variables: Mapping[str, str] | None = None,
    ) -> None:
        """``variables``: added to the CLI's environment, which ``stack deploy``
        interpolates ``${VAR}`` from (``--env-file``'s values: never on a command line)."""
        self.host = host
        self.variables = dict(variables or {})
        self.command = shlex.split(command or os.environ.get("CONSIGN_DOCKER", "") or "docker")

    @property
    def env(self) -> dict[str, str]:
        return {**self.variables, **({"DOCKER_HOST": self.host} if self.host else {})}

    def _run(self, *args: str, check: bool = True, timeout: float | None = None) -> Completed:
        try:
            return run([*self.command, *args], env=self.env, check=check, timeout=timeout)
        except CommandFailed as e:
            if e.returncode == 127:
                raise DockerCliMissing(str(e)) from e
            raise StackCommandFailed(str(e)) from e

    @functools.cached_property
    def _features(self) -> frozenset[str]:
        """What this CLI offers beyond Debian's 20.10 (which the image carries): ``config``
        (``stack config``, CLI 25+), ``detach`` (``stack deploy --detach``)."""
        found = set()
        if re.search(r"^\s+config\s", self._run("stack", "--help", check=False).stdout, re.M):
            found.add("config")
        if "--detach" in self._run("stack", "deploy", "--help", check=False).stdout:
            found.add("detach")
        return frozenset(found)

    @property
    def needs_version(self) -> bool:
        """Does this CLI refuse a Compose file without ``version:`` (before CLI 25)?"""
        return "config" not in self._features

    def config(self, files: Sequence[str | Path]) -> str | None:
        """The merged descriptor as ``docker stack deploy`` reads it (YAML text); None when
        this CLI has no ``stack config`` (then ``deploy`` itself is the check)."""
        if "config" not in self._features:
            return None
        done = self._run("stack", "config", *_files(files), check=False)
        if done.returncode != 0:
            words = (done.stderr or done.stdout).strip() or f"exit {done.returncode}"
            raise StackInvalid(f"`docker stack config` refuses it: {words}")
        return done.stdout

    def deploy(self, stack: str, files: Sequence[str | Path], *, resolve_image: str) -> Completed:
        """``stack deploy --prune --detach``: never raises for a refused deploy (the caller
        reports it with the CLI's words)."""
        args = ["--prune", "--resolve-image", resolve_image]
        if "detach" in self._features:  # older CLIs never wait
            args.append("--detach=true")
        return self._run("stack", "deploy", *_files(files), *args, stack, check=False)

    def remove(self, stack: str) -> Completed:
        """``stack rm`` (returns at once; :func:`deployer.swarm.status.down` waits). Not
        ``--detach=false``: CLI 28 was seen waiting on a removed crash-looping stack for
        minutes after every service, task and network of it was gone."""
        return self._run("stack", "rm", stack, timeout=300)


def _files(files: Sequence[str | Path]) -> list[str]:
    out: list[str] = []
    for f in files:
        out += ["-c", str(f)]
    return out
