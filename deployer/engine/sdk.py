"""The Docker SDK client for a target engine, and what its failures mean.

:func:`engine` returns a client for ``--host``/``DOCKER_HOST`` (unix socket, ``tcp://``,
``ssh://``) that has answered once; :func:`engine_errors` turns the SDK's and requests'
exceptions into one-line errors that name the engine and what to check (exit code 6 only
when the engine does not answer; an engine that answers with an error is exit code 1).
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from typing import Any

import requests

from consign.errors import EngineRefused, EngineUnreachable
from consign.process import stop

DEFAULT_SOCKET = "unix:///var/run/docker.sock"


def target(host: str | None) -> str:
    """The engine address in words: ``unix:///var/run/docker.sock (DOCKER_HOST unset)``."""
    env = os.environ.get("DOCKER_HOST")
    if host and host != env:
        return f"{host} (from --host)"
    return f"{env} (from DOCKER_HOST)" if env else f"{DEFAULT_SOCKET} (DOCKER_HOST unset)"


def _reason(error: BaseException) -> str:
    """The innermost useful words of a connection error (``Connection refused``...)."""
    seen: list[str] = []
    e: BaseException | None = error
    while e is not None and len(seen) < 10:
        seen.append(str(e))
        e = e.__cause__ or e.__context__
    text = " ".join(seen)
    for pattern in (r"\[Errno -?\d+\] ([^'\")\]]+)", r"(Connection (?:refused|reset)[^'\")]*)"):
        m = re.search(pattern, text)
        if m:
            return m.group(1).strip().rstrip(",.:")
    first = str(error).splitlines()[0] if str(error) else type(error).__name__
    return first[:200]


def unreachable(host: str | None, error: BaseException) -> EngineUnreachable:
    where = target(host)
    hint = (
        "is the daemon running there and may this user use its socket?"
        if where.startswith("unix://") or not where.split(" ")[0].startswith(("tcp", "ssh"))
        else "is the engine up and reachable from here (address, port, ssh access)?"
    )
    return EngineUnreachable(
        f"cannot reach the Docker Engine at {where}: {_reason(error)}; {hint} "
        "(--host or DOCKER_HOST chooses the engine)"
    )


@contextlib.contextmanager
def engine_errors(host: str | None) -> Iterator[None]:
    """Turn SDK/requests failures inside the block into EngineUnreachable/EngineRefused."""
    import docker.errors

    try:
        yield
    except docker.errors.APIError as e:
        raise EngineRefused(" ".join(str(e.explanation or e).split())) from e
    except (requests.ConnectionError, requests.Timeout, docker.errors.DockerException) as e:
        raise unreachable(host, e) from e


def engine(host: str | None) -> Any:
    """A Docker SDK client for ``host`` (or the environment's) that has answered once.

    ``ssh://`` goes through the ``ssh`` client (the user's keys and ssh config apply), with
    :func:`_ssh_adapter` replacing the SDK's adapter, which leaks one ``ssh`` process per
    request and never reaps them.
    """
    import docker

    address = host or os.environ.get("DOCKER_HOST") or DEFAULT_SOCKET
    if address.startswith("unix://") and not os.path.exists(address.removeprefix("unix://")):
        # Said before the SDK tries (its failed unix connection leaks the socket).
        raise unreachable(host, FileNotFoundError(2, "No such file or directory"))
    with engine_errors(host):
        if not host:
            return docker.from_env()
        if not host.startswith("ssh://"):
            return docker.DockerClient(base_url=host)
        return _ssh_client(host)


def _ssh_client(host: str) -> Any:
    """An ssh:// client through public SDK API: ask the engine its API version with a
    client at the SDK's default version, then open the client at the engine's version.
    Both mount :func:`_ssh_adapter` in place of the SDK's own (``requests`` ``mount``)."""
    import docker

    probe = docker.DockerClient(
        base_url=host, use_ssh_client=True, version=docker.constants.DEFAULT_DOCKER_API_VERSION
    )
    probe.api.mount("http+docker://ssh", _ssh_adapter(host))
    try:
        version = str(probe.api.version(api_version=False)["ApiVersion"])
    finally:
        probe.close()
    client = docker.DockerClient(base_url=host, use_ssh_client=True, version=version)
    client.api.mount("http+docker://ssh", _ssh_adapter(host))
    return client


def _ssh_adapter(host: str) -> Any:
    """The SDK's shell-out adapter, but every ``ssh`` it starts is reaped.

    It subclasses ``docker.transport.sshconn`` and overrides ``SSHSocket.close``,
    ``SSHConnection.connect``, ``SSHConnectionPool._new_conn`` and
    ``SSHHTTPAdapter.get_connection``: the SDK is pinned below 8 in pyproject.toml and
    ``tests/deployer/test_sdk_pin.py`` fails when those hooks change shape.

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
