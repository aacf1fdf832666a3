"""ComposeRunner: find Compose v2 and run config/up/down through consign.process.run.

Compose is ``CONSIGN_COMPOSE`` (a command line) when set, else the ``docker compose``
plugin when it answers, else a ``docker-compose`` on PATH that says it is v2. Compose v1
is refused: it reads descriptors differently and has no ``config --format json``.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from consign.process import CommandFailed, Completed, run, stop


class ComposeMissing(Exception):
    """No usable Compose v2 (missing, or only v1)."""


class InvalidDescriptor(Exception):
    """Compose rejects the descriptor, or it refers to services it does not define."""


_VERSION = re.compile(r"v?(\d+)\.(\d+)")


class ComposeRunner:
    def __init__(self, host: str | None = None, command: str | None = None) -> None:
        """``command`` is a Compose command line (``CONSIGN_COMPOSE``), shlex-split."""
        self.host = host
        self.command = self._discover(command or os.environ.get("CONSIGN_COMPOSE", ""))

    @property
    def env(self) -> dict[str, str]:
        return {"DOCKER_HOST": self.host} if self.host else {}

    def _discover(self, override: str) -> list[str]:
        override = override.strip()
        candidates = (
            [shlex.split(override)] if override else [["docker", "compose"], ["docker-compose"]]
        )
        seen: list[str] = []
        for argv in candidates:
            try:
                out = run([*argv, "version", "--short"], env=self.env, timeout=30).stdout.strip()
            except CommandFailed as e:
                seen.append(f"`{shlex.join(argv)}`: {e}")
                continue
            major = _major(out)
            if major is None or major < 2:
                raise ComposeMissing(
                    f"`{shlex.join(argv)}` is Compose {out or 'of unknown version'}; "
                    "Consignment needs Compose v2 (install the docker compose plugin)"
                )
            return argv
        raise ComposeMissing("no Compose v2 found: " + "; ".join(seen))

    def _argv(self, project: str, files: Sequence[str | Path], *args: str) -> list[str]:
        argv = [*self.command, "-p", project]
        for f in files:
            argv += ["-f", str(f)]
        return [*argv, *args]

    def config(self, project: str, files: Sequence[str | Path]) -> dict[str, Any]:
        """The resolved model (``config --format json``); InvalidDescriptor when refused."""
        try:
            done = run(self._argv(project, files, "config", "--format", "json"), env=self.env)
        except CommandFailed as e:
            raise InvalidDescriptor(_clean(e.stderr or e.stdout) or str(e)) from e
        model: dict[str, Any] = json.loads(done.stdout)
        return model

    def check(self, project: str, files: Sequence[str | Path]) -> None:
        """``config -q``: is the descriptor plus overrides acceptable to Compose?"""
        try:
            run(self._argv(project, files, "config", "-q"), env=self.env)
        except CommandFailed as e:
            raise InvalidDescriptor(_clean(e.stderr or e.stdout) or str(e)) from e

    def up(self, project: str, files: Sequence[str | Path], *, pull: str = "missing") -> Completed:
        """``up -d --remove-orphans``; never raises for a failed up (the caller reports it)."""
        args = ("up", "-d", "--remove-orphans", "--pull", pull)
        return run(self._argv(project, files, *args), env=self.env, check=False)

    def down(self, project: str, *, volumes: bool = False) -> Completed:
        args = ["down", "--remove-orphans"] + (["--volumes"] if volumes else [])
        return run(self._argv(project, [], *args), env=self.env)


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


def engine(host: str | None) -> Any:
    """A Docker SDK client for ``host`` (unix socket, tcp://, ssh://) or the environment's.

    ``ssh://`` goes through the ``ssh`` client (the user's keys and ssh config apply), with
    :func:`_ssh_adapter` replacing the SDK's adapter, which leaks one ``ssh`` process per
    request and never reaps them.
    """
    import docker

    if not host:
        return docker.from_env()
    if not host.startswith("ssh://"):
        return docker.DockerClient(base_url=host)
    # A fixed version first: "auto" would ask the engine through the SDK's own adapter.
    client = docker.DockerClient(
        base_url=host, use_ssh_client=True, version=docker.constants.DEFAULT_DOCKER_API_VERSION
    )
    adapter = _ssh_adapter(host)
    client.api.mount("http+docker://ssh", adapter)
    client.api._custom_adapter = adapter
    client.api._version = client.api._retrieve_server_version()
    return client


def _ssh_adapter(host: str) -> Any:
    """The SDK's shell-out adapter, but every ``ssh`` it starts is reaped.

    The SDK cannot reuse these connections (a response closes the process's stdout), so
    each request starts one ``ssh ... docker system dial-stdio``. Finished ones are reaped
    when the next starts; the rest (e.g. an event stream) when the client closes.
    """
    import socket
    import subprocess

    from docker.transport import sshconn

    made: list[sshconn.SSHSocket] = []

    class Socket(sshconn.SSHSocket):
        def close(self) -> None:
            proc: subprocess.Popen[bytes] | None = self.proc  # type: ignore[has-type]
            self.proc = None
            socket.socket.close(self)
            if proc is None:
                return
            stop(proc, terminate=True, timeout=5)  # EOF first: dial-stdio ends by itself

    def finished(sock: sshconn.SSHSocket) -> bool:
        return sock.proc is None or sock.proc.stdout is None or sock.proc.stdout.closed

    class Connection(sshconn.SSHConnection):
        def connect(self) -> None:
            for old in [s for s in made if finished(s)]:
                made.remove(old)
                old.close()
            sock = Socket(self.ssh_host)
            sock.settimeout(self.timeout)
            sock.connect()
            made.append(sock)
            self.sock = sock

    class Pool(sshconn.SSHConnectionPool):
        def _new_conn(self) -> Connection:
            return Connection(None, self.timeout, self.ssh_host)

    class Adapter(sshconn.SSHHTTPAdapter):
        def get_connection(self, url: str, proxies: Any = None) -> Pool:
            return Pool(timeout=self.timeout, maxsize=self.max_pool_size, host=self.ssh_host)

        def close(self) -> None:
            super().close()
            while made:
                made.pop().close()

    return Adapter(host, shell_out=True)
