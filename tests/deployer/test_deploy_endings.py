"""How deploys end, on the real engine and a real registry under gunicorn (issue 19, items
3 and 4): a dependent that restarts while the service it needs is replaced does not fail
a rollback; one that keeps crashing once it is back does; `status --project`, `status
--environment` and `drift` give one answer for one state."""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from consign.exit_codes import ExitCode
from tests.deployer.helpers import consign, deploy, ids
from tests.e2e.serve import publish
from tests.serving import CONSIGN, ROOT, ServedRegistry

pytestmark = pytest.mark.docker

WEB_OK = """    command:
      - sh
      - -c
      - mkdir -p /www; echo ok > /www/index.html; exec httpd -f -p 8080 -h /www
    healthcheck:
      test: ["CMD", "sh", "-c", "nc -w 1 127.0.0.1 8080 </dev/null"]
      interval: 1s
      retries: 30
"""
WEB_BROKEN = """    restart: always
    command: ["sh", "-c", "echo 'FATAL: broken build'; exit 1"]
"""
#: Needs web (no depends_on: it is needed because the deploy replaces it): exits 3 when it
#: cannot reach web, restarted by the engine. (The static busybox resolves names with its
#: own nslookup only.)
WORKER_NEEDS_WEB = """    restart: always
    command:
      - sh
      - -c
      - |
        at() { nslookup web 127.0.0.11 2>/dev/null | sed -n 's/^Address: //p' | tail -1; }
        while ip=$$(at) && [ -n "$$ip" ] && nc -w 2 "$$ip" 8080 </dev/null; do sleep 0.5; done
        echo web away; exit 3
"""
WORKER_CRASHES = """    restart: always
    command: ["sh", "-c", "sleep 1; echo FATAL; exit 3"]
"""


def fragment(folder: Path, service: str, text: str) -> Path:
    path = folder / f"{service}-{secrets.token_hex(3)}.yml"
    head = f"services:\n  {service}:\n    image: busybox:latest\n    stop_grace_period: 1s\n"
    path.write_text(head + text)
    return path


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[ServedRegistry]:
    with ServedRegistry(tmp_path / "registry.git", tmp_path / "serve.log", workers=2) as server:
        yield server.start()


def drift(registry: ServedRegistry, env: str, spool: Path) -> subprocess.CompletedProcess[str]:
    argv = [*CONSIGN, "drift", "--environment", env, "--registry", registry.url, "--no-record"]
    environ = {**os.environ, "CONSIGN_SPOOL": str(spool)}
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120, env=environ)


def test_a_rollback_whose_unchanged_dependent_restarts_while_web_is_replaced_is_ok_and_the_three_views_agree(  # noqa: E501
    tmp_path: Path, project: str, registry: ServedRegistry
) -> None:
    env, spool = f"qa-{secrets.token_hex(4)}", tmp_path / "spool"
    # two components: v1 = web + worker; v2 changes web only (the worker is left as it is)
    publish(registry.url, fragment(tmp_path, "web", WEB_OK), "Shop", "Dev", component="web")
    worker = fragment(tmp_path, "worker", WORKER_NEEDS_WEB)
    publish(registry.url, worker, "Shop", "Dev", component="worker")
    publish(registry.url, fragment(tmp_path, "web", WEB_BROKEN), "Shop", "Dev", component="web")
    args = [
        "--registry", registry.url, "--project", project, "--environment", env,
        "--spool", str(spool), "--stable", "3", "--timeout", "120",
    ]  # fmt: skip

    first = deploy(tmp_path, "Shop", "Dev", "2", *args)
    assert first.code == ExitCode.OK, first.output
    worker_id = ids(project)[f"{project}-worker-1"]
    second = deploy(tmp_path, "Shop", "Dev", "3", *args)
    assert second.code == ExitCode.FAILED, second.output
    assert second.verdicts()["web"] == "crash-looping", second.output
    assert ids(project)[f"{project}-worker-1"] == worker_id  # unchanged: kept by Compose
    # the worker lost web during the failed deploy and restarted: not the rollback's failure
    assert second.verdicts("rollback") == {"web": "healthy", "worker": "running"}, second.output
    assert "rollback" in second.output and "OK" in second.output.split("rollback")[-1]

    local = consign("status", "--project", project)
    ledger = consign("status", "--environment", env, "--registry", registry.url)
    compared = drift(registry, env, spool)
    assert (local[0], ledger[0], compared.returncode) == (0, 0, 0), (
        local[1] + ledger[1] + compared.stdout + compared.stderr
    )
    assert "Shop/Dev v2" in local[1] and "Shop/Dev v2" in ledger[1]
    assert "no drift" in compared.stdout


def test_a_dependent_that_keeps_crashing_once_web_is_back_is_crash_looping(
    tmp_path: Path, project: str
) -> None:
    path = tmp_path / "d.yml"
    web, worker = fragment(tmp_path, "web", WEB_OK), fragment(tmp_path, "worker", WORKER_CRASHES)
    path.write_text(web.read_text() + worker.read_text().removeprefix("services:\n"))
    r = deploy(tmp_path, "--file", str(path), "--project", project, "--stable", "3",
               "--timeout", "120")  # fmt: skip
    assert r.code == ExitCode.FAILED, r.output
    assert r.verdicts() == {"web": "healthy", "worker": "crash-looping"}, r.output
    assert r.report["verdicts"]["worker"]["exit_code"] == 3
