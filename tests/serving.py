"""A real `consign serve` (gunicorn master + workers) on a loopback port, for every suite
that talks to the registry over HTTP, and the small helpers such servers need: a free
port, a free loopback alias, and stopping a child process for good."""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import requests

from consign.process import stop

ROOT = Path(__file__).resolve().parents[1]
CONSIGN = [sys.executable, "-c", "from consignment.cli import main; main()"]
#: The port the Rundeck job files write into every valuesUrl (the registry's default).
JOB_PORT = 9090


def private_ca(folder: Path) -> tuple[Path, Path, Path]:
    """A CA made here and a certificate it issued for 127.0.0.1, written to ``folder``:
    (cert.pem, key.pem, ca.pem), as ``ServedRegistry(tls=...)`` takes them."""
    import trustme  # the test extra's; only the HTTPS tests need it

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert.private_key_pem.write_to_path(str(folder / "key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(folder / "cert.pem"))
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    return folder / "cert.pem", folder / "key.pem", folder / "ca.pem"


#: The lowest port free_port() hands out: below it, ports services are configured with.
LOWEST_FREE_PORT = 10000


def ephemeral_ports() -> tuple[int, int]:
    """The kernel's range for ports it picks itself: a connect()'s local port, a bind to
    port 0 (/proc/sys/net/ipv4/ip_local_port_range; Linux's default when unreadable)."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on at ``host`` right now, chosen at random BELOW the
    kernel's ephemeral range. A free port is not reserved until the server binds it, and
    under load that takes seconds (the interpreter starts first); a port from the
    ephemeral range (``bind(("", 0))``) may meanwhile become the local port of any
    outgoing connection on this machine (every HTTP request of every test run) or be
    handed to another run asking the kernel the same question, and the server then
    fails to bind. Below the range only another random choice can collide."""
    low, _ = ephemeral_ports()
    if low - LOWEST_FREE_PORT >= 1000:
        for _ in range(100):
            port = LOWEST_FREE_PORT + secrets.randbelow(low - LOWEST_FREE_PORT)
            with socket.socket() as s:
                try:
                    s.bind((host, port))
                except OSError:
                    continue
                return port
    with socket.socket() as s:  # a narrow range below: the kernel's choice
        s.bind((host, 0))
        return int(s.getsockname()[1])


def loopback_alias(port: int = JOB_PORT) -> str:
    """A random 127.x.y.z where ``port`` is free: a registry there answers the job files'
    ``http://${globals.registry_host}:9090`` without taking 127.0.0.1:9090 from anyone."""
    for _ in range(20):
        a, b, c = (secrets.randbelow(n) for n in (250, 256, 254))
        host = f"127.{a + 2}.{b}.{c + 1}"
        with socket.socket() as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            return host
    raise RuntimeError(f"no free loopback address for port {port}")


def stop_process(proc: subprocess.Popen[bytes] | None, timeout: float) -> None:
    """SIGTERM, then SIGKILL if ``proc`` is still there after ``timeout`` seconds."""
    if proc is not None and proc.poll() is None:
        stop(proc, terminate=True, timeout=timeout)


class Stopping:
    """Servers told to stop (SIGTERM) whose exit nobody needs to wait for: a gunicorn's
    graceful exit takes seconds (each worker's interpreter shutdown, the master's exit
    hooks), which a fixture's teardown would otherwise add to every test. The session
    waits for them all at its end (tests/conftest.py), SIGKILL after 30 s, so none
    outlives the run."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []

    def add(self, proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            proc.terminate()
        self.procs = [p for p in self.procs if p.poll() is None] + [proc]

    def wait_all(self) -> None:
        while self.procs:
            stop_process(self.procs.pop(), timeout=30)


STOPPING = Stopping()


@dataclass
class ServedRegistry:
    """`consign serve` as a real process. The port is chosen when the object is made (so a
    test may hand out the URL before it starts the server); ``env`` is added to this
    process's environment without its CONSIGN_* (a developer's settings must not leak in);
    ``workers`` is passed as ``--workers`` (None: the CLI's default); ``log`` receives the
    server's stdout and stderr and is quoted when it exits early or never answers."""

    repo: Path
    log: Path
    env: Mapping[str, str] = field(default_factory=dict)
    host: str = "127.0.0.1"
    port: int = 0
    workers: int | None = None
    proc: subprocess.Popen[bytes] | None = None
    #: (certfile, keyfile, CA bundle): serve HTTPS with --certfile/--keyfile, trust the CA
    tls: tuple[Path, Path, Path] | None = None

    def __post_init__(self) -> None:
        self.port = self.port or free_port(self.host)

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    @property
    def verify(self) -> str | bool:
        """What requests' ``verify=`` needs to trust this server."""
        return str(self.tls[2]) if self.tls else True

    def start(self, timeout: float = 30) -> ServedRegistry:
        """Start and wait until /healthz answers 200; stopped again if that fails."""
        argv = [*CONSIGN, "serve", "--repo", str(self.repo), "--bind", f"{self.host}:{self.port}"]
        argv += ["--workers", str(self.workers)] if self.workers is not None else []
        if self.tls:
            argv += ["--certfile", str(self.tls[0]), "--keyfile", str(self.tls[1])]
        env = {k: v for k, v in os.environ.items() if not k.startswith("CONSIGN_")}
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env={**env, **self.env}
            )
        try:
            self._wait(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait(self, timeout: float) -> None:
        """Until this process listens (gunicorn's "Listening at: <url> (<pid>)") and
        /healthz answers. The port was free when chosen, not reserved: under load another
        process (another test run's registry, any client's ephemeral port) may take it
        first, and then /healthz could answer 200 from someone else's server; gunicorn
        says whose port it bound, so only our own answer counts."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        bound = f"Listening at: {self.url} ({self.proc.pid})"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"consign serve exited early:\n{self.log.read_text()}")
            if bound not in self.log.read_text(errors="replace"):
                time.sleep(0.1)
                continue
            try:
                if (
                    requests.get(f"{self.url}/healthz", timeout=5, verify=self.verify).status_code
                    == 200
                ):
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"consign serve did not answer in {timeout}s:\n{self.log.read_text()}")

    def worker_pids(self) -> list[int]:
        """The gunicorn workers: the children of the master process."""
        assert self.proc is not None
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        return [int(pid) for pid in children.split()]

    def stop(self) -> None:
        """Graceful gunicorn shutdown (SIGTERM), SIGKILL after 30 s; safe to call twice."""
        stop_process(self.proc, timeout=30)
        self.proc = None

    def stop_soon(self) -> None:
        """SIGTERM (the same graceful shutdown as :meth:`stop`) without waiting for the
        exit: for a fixture's teardown, when nothing else uses the repository or the port
        afterwards. The session reaps it (:class:`Stopping`)."""
        if self.proc is not None:
            STOPPING.add(self.proc)
        self.proc = None

    def __enter__(self) -> ServedRegistry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def serving(server: ServedRegistry) -> Iterator[ServedRegistry]:
    """``server`` started for a fixture, and told to stop when it ends without waiting for
    the exit (:meth:`ServedRegistry.stop_soon`): for fixtures after which nothing reads the
    repository (a ``git fsck`` of it, say, wants the server gone)."""
    try:
        yield server.start()
    finally:
        server.stop_soon()
