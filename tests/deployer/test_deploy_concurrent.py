"""The watch runs beside `compose up` (ProjectWatch, deployer/watch/project.py): services
are judged while compose still starts others, and containers compose is about to replace
never lend their verdict, good or bad, to the new deploy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from consign.exit_codes import ExitCode
from tests.deployer.helpers import containers, deploy

pytestmark = pytest.mark.docker

FAST = ("--timeout", "120", "--stable", "1", "--no-rollback")
HTTPD = "mkdir -p /www; echo ok > /www/index.html; exec httpd -f -p 8080 -h /www"


def web(check: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "image": "busybox:latest",
        "stop_grace_period": "1s",
        "command": ["sh", "-c", HTTPD],
        "healthcheck": {"test": check, "interval": "1s", "timeout": "2s", "retries": 2},
        **extra,
    }


PASSES = ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/index.html"]
FAILS = ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/no-such-page"]


def write(path: Path, services: dict[str, Any]) -> str:
    path.write_text(yaml.safe_dump({"services": services}, sort_keys=False))
    return str(path)


def test_replaced_unhealthy_container_does_not_fail_the_fix(tmp_path: Path, project: str) -> None:
    """Same file, same labels: only the edit makes compose recreate `web`."""
    path = tmp_path / "app.yml"
    broken = deploy(
        tmp_path, "--file", write(path, {"web": web(FAILS)}), "--project", project, *FAST
    )
    assert broken.code == ExitCode.FAILED, broken.output
    assert broken.verdicts() == {"web": "unhealthy"}
    old = {c.id for c in containers(project)}

    fixed = deploy(
        tmp_path, "--file", write(path, {"web": web(PASSES)}), "--project", project, *FAST
    )
    assert fixed.code == ExitCode.OK, fixed.output
    assert fixed.verdicts() == {"web": "healthy"}
    assert {c.id for c in containers(project)}.isdisjoint(old)  # it was recreated


def test_replaced_healthy_container_does_not_pass_the_broken(tmp_path: Path, project: str) -> None:
    path = tmp_path / "app.yml"
    good = deploy(
        tmp_path, "--file", write(path, {"web": web(PASSES)}), "--project", project, *FAST
    )
    assert good.code == ExitCode.OK, good.output

    bad = deploy(tmp_path, "--file", write(path, {"web": web(FAILS)}), "--project", project, *FAST)
    assert bad.code == ExitCode.FAILED, bad.output
    assert bad.verdicts() == {"web": "unhealthy"}


def test_services_are_judged_while_compose_still_starts_others(
    tmp_path: Path, project: str
) -> None:
    """`late` starts only after `first` is healthy, so `compose up` is still running when
    `first` turns healthy: the watch must say so before `late` even exists."""
    services = {
        "first": web(PASSES),
        "late": web(PASSES, depends_on={"first": {"condition": "service_healthy"}}),
    }
    r = deploy(
        tmp_path, "--file", write(tmp_path / "app.yml", services), "--project", project, *FAST
    )
    assert r.code == ExitCode.OK, r.output
    assert r.verdicts() == {"first": "healthy", "late": "healthy"}
    lines = r.output.splitlines()
    first_healthy = next(i for i, line in enumerate(lines) if ": first healthy" in line)
    late_seen = next(
        i for i, line in enumerate(lines) if ": late " in line and "0 of 1 container" not in line
    )
    assert first_healthy < late_seen, r.output
    # seconds count from the deploy's start, which includes compose's own work
    assert r.report["verdicts"]["first"]["seconds"] < r.report["verdicts"]["late"]["seconds"]
