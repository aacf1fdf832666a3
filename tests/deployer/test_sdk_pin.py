"""The ssh:// adapter (deployer.engine.sdk) subclasses the Docker SDK's sshconn classes
and overrides four hooks. This test fails when an SDK release changes them, so the pin in
pyproject.toml (docker < 8) is raised only together with a look at the adapter."""

from __future__ import annotations

import inspect
from importlib.metadata import version

from docker.transport import sshconn

from deployer.engine.sdk import _ssh_adapter


def test_the_sdk_hooks_the_adapter_overrides_are_as_it_expects() -> None:
    major = int(version("docker").split(".")[0])
    assert major == 7, "docker SDK outside the pinned range: review deployer/engine/sdk.py"
    hooks = {
        sshconn.SSHSocket: ["connect", "close"],
        sshconn.SSHConnection: ["connect"],
        sshconn.SSHConnectionPool: ["_new_conn"],
        sshconn.SSHHTTPAdapter: ["get_connection", "close"],
    }
    for cls, names in hooks.items():
        for name in names:
            assert callable(getattr(cls, name, None)), f"{cls.__name__}.{name} is gone"
    assert list(inspect.signature(sshconn.SSHSocket.__init__).parameters) == ["self", "host"]
    assert list(inspect.signature(sshconn.SSHConnection.__init__).parameters)[:4] == [
        "self",
        "ssh_transport",
        "timeout",
        "host",
    ]
    params = inspect.signature(sshconn.SSHHTTPAdapter.__init__).parameters
    assert {"base_url", "shell_out"} <= set(params)
    assert "proc" in inspect.getsource(sshconn.SSHSocket.connect)  # the ssh child it keeps


def test_the_adapter_builds_on_the_sdk_without_starting_ssh() -> None:
    adapter = _ssh_adapter("ssh://nobody@127.0.0.1:1")
    try:
        assert isinstance(adapter, sshconn.SSHHTTPAdapter)
        pool = adapter.get_connection("http+docker://ssh/v1.41/_ping")
        assert isinstance(pool, sshconn.SSHConnectionPool)
        assert isinstance(pool._new_conn(), sshconn.SSHConnection)
    finally:
        adapter.close()
