"""A failing dependency on the real engine: its own verdict and logs stay, the services
waiting for it are BLOCKED naming it and the condition, and the summary names it first.

Compose's `depends_on` conditions `service_healthy` and `service_completed_successfully`,
each with a crash-looping, an unhealthy and an exiting dependency (issue 7).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from consign.exit_codes import ExitCode
from tests.deployer.helpers import containers, deploy

pytestmark = pytest.mark.docker

API = {
    "crash-looping": """
    restart: always
    command: ["sh", "-c", "echo 'FATAL: config missing'; sleep 1; exit 3"]
    healthcheck:
      test: ["CMD", "true"]
      interval: 1s""",
    "unhealthy": """
    command: ["sh", "-c", "echo 'FATAL: config missing'; exec sleep 100000"]
    healthcheck:
      test: ["CMD-SHELL", "echo probe says no config; exit 1"]
      interval: 1s
      timeout: 2s
      retries: 2""",
    "exited(3)": """
    command: ["sh", "-c", "echo 'FATAL: config missing'; exit 3"]
    healthcheck:
      test: ["CMD", "true"]
      interval: 1s""",
}


def descriptor(api: str, condition: str) -> str:
    return f"""services:
  api:
    image: busybox:latest
    stop_grace_period: 1s{API[api]}
  web:
    image: busybox:latest
    stop_grace_period: 1s
    command: ["sleep", "100000"]
    depends_on:
      api:
        condition: {condition}
  proxy:
    image: busybox:latest
    stop_grace_period: 1s
    command: ["sleep", "100000"]
    depends_on: [web]
"""


@pytest.mark.parametrize("condition", ["service_healthy", "service_completed_successfully"])
@pytest.mark.parametrize("api", list(API))
def test_a_failing_dependency_keeps_its_verdict_and_logs_and_blocks_its_dependents(
    tmp_path: Path, project: str, api: str, condition: str
) -> None:
    path = tmp_path / "d.yml"
    path.write_text(descriptor(api, condition))
    r = deploy(tmp_path, "--file", str(path), "--project", project, "--timeout", "120")
    assert r.code == ExitCode.FAILED, r.output
    verdicts = r.report["verdicts"]
    assert verdicts["api"]["label"] == api, verdicts
    assert verdicts["api"]["containers"], "the observed container stays in the report"
    assert "FATAL: config missing" in r.report["logs"]["api"]
    if api == "unhealthy":
        assert "last healthcheck (exit 1): probe says no config" in r.report["logs"]["api"]
    assert verdicts["web"]["label"] == "blocked", verdicts
    assert verdicts["web"]["detail"].startswith(f"waits for api ({condition}), which is ")
    assert verdicts["proxy"]["label"] == "blocked", verdicts
    assert "waits for web (service_started), which is blocked" in verdicts["proxy"]["detail"]
    assert r.report["summary"].startswith("api "), r.report["summary"]
    # Compose created web and proxy, then never started them: removed, and said so
    assert "container(s) this deploy created but never started: " in r.output, r.output
    assert f"{project}-web-1" in r.output and f"{project}-proxy-1" in r.output
    assert not [c.name for c in containers(project) if c.status == "created"]
    assert (
        "blocked: web, proxy" in r.report["summary"]
        or "blocked: proxy, web" in (r.report["summary"])
    )
    assert "FATAL: config missing" in r.output
    first = r.output.index("FAILED: api ")  # the cause comes first in the summary line
    assert first < r.output.index("--- last log lines of api ---")
