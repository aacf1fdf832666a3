"""Every command that talks to the registry, against `consign serve --certfile/--keyfile`
whose certificate comes from a private CA, while ``REQUESTS_CA_BUNDLE`` points at ANOTHER
CA's bundle (as on a machine whose environment trusts some other internal CA): each works
with ``--ca-file`` (which must win over the environment) and fails clearly without it.
A real deploy takes the environment's lock and its ledger record is there (issue 22)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from consign.exit_codes import ExitCode
from deployer.ledger import record
from deployer.ledger.client import LedgerClient, LedgerError
from tests.deployer.helpers import consign, deploy
from tests.serving import ServedRegistry, private_ca

UNTRUSTED = "TLS verification failed"


@pytest.fixture
def https(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServedRegistry]:
    (tmp_path / "served").mkdir()
    (tmp_path / "other").mkdir()
    tls = private_ca(tmp_path / "served")
    other = private_ca(tmp_path / "other")[2]  # a CA that did not issue the server's cert
    with ServedRegistry(tmp_path / "r.git", tmp_path / "serve.log", workers=1, tls=tls) as server:
        server.start()
        for name in list(os.environ):
            if name.startswith("CONSIGN_"):
                monkeypatch.delenv(name)
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(other))
        monkeypatch.setenv("CONSIGN_SPOOL", str(tmp_path / "spool"))
        yield server


def both(*args: str, ca: str, expect: int = ExitCode.OK) -> str:
    """Run the command without --ca-file (a clear TLS failure, nothing done), then with it
    (``expect``); the second's output."""
    code, out = consign(*args)
    assert code != ExitCode.OK, out
    assert UNTRUSTED in out and "--ca-file" in out, out
    assert "Traceback" not in out
    code, out = consign(*args, "--ca-file", ca)
    assert code == expect, out
    return out


def api(server: ServedRegistry, path: str) -> dict:  # type: ignore[type-arg]
    answer = requests.get(f"{server.url}/api/{path}", timeout=30, verify=str(server.verify))
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_every_registry_command_takes_the_ca_file(tmp_path: Path, https: ServedRegistry) -> None:
    ca, url = str(https.verify), https.url
    fragment = tmp_path / "docker-compose.yml"
    fragment.write_text("services:\n  web: {image: busybox:latest}\n")
    publish = ("publish", str(fragment), "-a", "App", "-r", "R", "--registry", url)
    assert "App / R v1" in both(*publish, "--attempts", "1", ca=ca)
    fragment.write_text("services:\n  web: {image: busybox:1}\n")
    assert "App / R v2" in both(*publish, "--attempts", "1", ca=ca)

    promote = ("promote", "App", "--from-release", "R", "--version", "2", "--to-release", "S")
    out = both(*promote, "--create-release", "--registry", url, "--attempts", "1", ca=ca)
    assert "App / S v1" in out

    assert "v2" in both("versions", "App", "R", "--registry", url, ca=ca)
    assert "App/R v1" in both("show", "App", "R", "1", "--registry", url, ca=ca)
    out = both("diff", "App", "R", "1", "2", "--registry", url, "--json", ca=ca)
    assert json.loads(out)["to"] == 2

    # the ledger client (a deploy's report) with and without the CA file
    now = record.utc_now()
    body = record.build(
        kind="deploy", environment="gone-vm", application="App", release="R", version=2,
        commit=None, outcome="ok", started=now, finished=now, by="tester",
        engine={"name": "test", "project": "p"}, source=None, service_entries=[],
    )  # fmt: skip
    with pytest.raises(LedgerError, match=UNTRUSTED):
        LedgerClient(url).report(body)
    LedgerClient(url, ca_file=ca).report(body)
    status = ("status", "--environment", "gone-vm", "--registry", url)
    assert "App/R v2" in both(*status, ca=ca)

    retire = ("environment", "retire", "gone-vm", "--registry", url, "--reason", "deleted")
    assert "gone-vm retired" in both(*retire, "--attempts", "1", ca=ca)
    restore = ("environment", "restore", "gone-vm", "--registry", url, "--attempts", "1")
    assert "gone-vm restored" in both(*restore, ca=ca)

    unlock = ("unlock", "--environment", "gone-vm", "--registry", url, "--reason", "stuck")
    assert "not locked; nothing to break" in both(*unlock, ca=ca)


@pytest.mark.docker
def test_a_tls_deploy_is_locked_and_recorded(
    tmp_path: Path, project: str, https: ServedRegistry
) -> None:
    ca, url, env = str(https.verify), https.url, f"tls-{project}"
    fragment = tmp_path / "docker-compose.yml"
    fragment.write_text("services:\n  web: {image: busybox:latest, command: sleep 100000}\n")
    code, out = consign(
        "publish", str(fragment), "-a", "App", "-r", "R", "--registry", url, "--ca-file", ca
    )
    assert code == ExitCode.OK, out
    args = ("App", "R", "latest", "--registry", url, "--project", project, "--stable", "1")
    args += ("--environment", env, "--require-lock")  # no lock, no deploy (exit 8)

    untrusted = deploy(tmp_path, *args)
    assert untrusted.code == ExitCode.REGISTRY_UNREACHABLE, untrusted.output
    assert UNTRUSTED in untrusted.output

    done = deploy(tmp_path, *args, "--ca-file", ca)
    assert done.code == ExitCode.OK, done.output
    assert "kept in the spool" not in done.output and "WITHOUT" not in done.output, done.output
    listed = api(https, "environments")["environments"]
    assert env in [e["name"] for e in listed]
    (now,) = api(https, f"environments/{env}")["deployed"]
    assert (now["version"], now["outcome"], now["engine"]["project"]) == (1, "ok", project)

    drift = ("drift", "--environment", env, "--registry", url, "--project", project)
    both(*drift, ca=ca)

    down = ("down", "--project", project, "--registry", url, "--environment", env, "--require-lock")
    code, out = consign(*down)
    assert code == ExitCode.LOCKED and UNTRUSTED in out, out
    code, out = consign(*down, "--ca-file", ca)
    assert code == ExitCode.OK, out
    assert api(https, f"environments/{env}")["deployed"] == []  # the teardown is recorded
    kinds = [d["kind"] for d in api(https, f"environments/{env}/deployments")["deployments"]]
    assert sorted(kinds) == ["deploy", "teardown"], kinds
