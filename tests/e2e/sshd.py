"""A real OpenSSH server on 127.0.0.1 for the Rundeck hand-off tests.

Rundeck's SSH node executor logs in with a key and hands the rendered command string to
the remote user's shell. :class:`SshServer` starts Debian's ``sshd`` in the foreground on
a free port, with a generated host key and one generated client key in a private
``authorized_keys``; :meth:`SshServer.run` does what the executor does, with the real
``ssh`` client.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from consign.process import Completed, run
from tests.serving import free_port, stop_process

SSHD = "/usr/sbin/sshd"

CONFIG = """\
Port {port}
ListenAddress 127.0.0.1
HostKey {dir}/host_ed25519
AuthorizedKeysFile {dir}/authorized_keys
PidFile {dir}/sshd.pid
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
X11Forwarding no
PrintMotd no
LogLevel VERBOSE
"""


def _wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"sshd exited with {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                if s.recv(4).startswith(b"SSH-"):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"sshd did not listen on 127.0.0.1:{port} within {timeout}s")


@dataclass
class SshServer:
    directory: Path
    user: str = field(default_factory=lambda: os.environ.get("USER") or "root")
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def client_key(self) -> Path:
        return self.directory / "client_ed25519"

    @property
    def log(self) -> Path:
        return self.directory / "sshd.log"

    def start(self) -> SshServer:
        d = self.directory
        d.mkdir(parents=True, exist_ok=True)
        for key in ("host_ed25519", "client_ed25519"):
            run(
                [
                    "ssh-keygen",
                    "-q",
                    "-t",
                    "ed25519",
                    "-N",
                    "",
                    "-C",
                    f"rd-{key}",
                    "-f",
                    str(d / key),
                ]
            )
        (d / "authorized_keys").write_text((d / "client_ed25519.pub").read_text())
        self.port = free_port()
        (d / "sshd_config").write_text(CONFIG.format(port=self.port, dir=d))
        if os.geteuid() == 0:  # root's sshd refuses to start without its privsep directory
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        argv = [SSHD, "-D", "-e", "-f", str(d / "sshd_config")]
        log = self.log.open("wb")
        self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        _wait_listening(self.port, self.proc, timeout=15)
        return self

    def ssh_argv(self, command: str) -> list[str]:
        """The ssh client invocation Rundeck's executor is equivalent to."""
        return [
            "ssh",
            "-i",
            str(self.client_key),
            "-p",
            str(self.port),
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            f"UserKnownHostsFile={self.directory / 'known_hosts'}",
            "-o",
            "BatchMode=yes",
            "-o",
            "LogLevel=ERROR",
            f"{self.user}@127.0.0.1",
            command,
        ]

    def run(self, command: str, timeout: float = 300) -> Completed:
        """Run ``command`` through the remote user's shell; never raises on exit status."""
        return run(self.ssh_argv(command), timeout=timeout, check=False)

    def stop(self) -> None:
        stop_process(self.proc, timeout=10)
        self.proc = None
