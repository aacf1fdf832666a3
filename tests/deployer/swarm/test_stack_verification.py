"""Verification on a real swarm (issue 23): a stack with a web service and a verify service
run as a one-shot service on the stack's network. A version whose web serves the right body
is `verified`; one serving the wrong body fails its verification (the test's logs shown,
exit 1) and is rolled back; `consign verify` re-runs the verification of what runs; the
one-shot service is removed each time and never judged as one of the stack's services."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from consign.exit_codes import ExitCode
from tests.deployer.conftest import GitRegistry
from tests.deployer.helpers import consign
from tests.deployer.swarm.conftest import FAST, services, stack_deploy

pytestmark = pytest.mark.docker


def stack_text(body: str) -> str:
    return f"""services:
  web:
    image: busybox:latest
    command:
      - sh
      - -c
      - mkdir -p /www && echo {body} > /www/index.html && exec httpd -f -p 8080 -h /www
    deploy:
      endpoint_mode: dnsrr  # (this machine's kernel has no IPVS for the virtual IP)
  smoke:
    image: busybox:latest
    profiles: [verify]
    environment:
      WANT: ${{SV_WANT:-GOOD}}
      TOKEN: ${{SV_API_TOKEN:-none}}
    command:
      - sh
      - -c
      - >-
        body=$$(wget -qO- http://web:8080/); echo token $$TOKEN; echo got $$body;
        test "$$body" = "$$WANT"
"""


def test_verify_service_runs_as_a_one_shot_and_a_failed_one_rolls_back(
    tmp_path: Path, stack: str, git_registry: GitRegistry
) -> None:
    git_registry.publish("SV Shop", "R1", 1, stack_text("GOOD"))
    git_registry.publish("SV Shop", "R1", 2, stack_text("BAD"))
    src = ("--git", str(git_registry.repo), "--project", stack, *FAST, "--verify-timeout", "60")

    secret = "sv-tok-8c1f2e"  # a host variable the test prints: masked (docs/secrets.md)
    first = stack_deploy(tmp_path, "SV Shop", "R1", "1", *src, env={"SV_API_TOKEN": secret})
    assert first.code == ExitCode.OK, first.output
    assert secret not in first.output and secret not in json.dumps(first.report)
    assert first.report["outcome"] == "verified", first.report
    [smoke] = first.report["verification"]["tests"]
    assert (smoke["service"], smoke["verdict"], smoke["exit_code"]) == ("smoke", "passed", 0)
    assert "got GOOD" in smoke["logs"] and "token " in smoke["logs"]
    assert "token none" not in smoke["logs"]  # the value reached the test, masked
    assert set(first.verdicts()) == {"web"}  # the test is not one of the stack's services
    assert set(services(stack)) == {"web"}  # its one-shot service was removed

    r = stack_deploy(tmp_path, "SV Shop", "R1", "2", *src)
    assert r.code == ExitCode.FAILED, r.output
    assert r.report["outcome"] == "verification_failed", r.report
    [smoke] = r.report["verification"]["tests"]
    assert (smoke["verdict"], smoke["exit_code"]) == ("failed", 1)
    assert "got BAD" in smoke["logs"] and "got BAD" in r.output  # the test's logs shown
    assert "verification failed: smoke failed(1)" in r.output
    back = r.report["rollback"]
    assert back["version"] == "1" and back["ok"], r.output
    found = services(stack)
    assert set(found) == {"web"}
    assert found["web"]["Spec"]["Labels"]["io.consignment.version"] == "1"

    code, out = consign("status", "--orchestrator", "swarm", "--project", stack)
    assert code == ExitCode.OK and "smoke" not in out, out  # status skips the test

    # `consign verify` of the stack: v1's test re-run beside what runs, nothing redeployed
    updated = found["web"]["UpdatedAt"]
    code, out = consign(
        "verify", "--orchestrator", "swarm", "--project", stack, "--git", str(git_registry.repo)
    )
    assert code == ExitCode.OK, out
    assert f"verifying stack {stack} at v1: smoke" in out and "passed" in out, out
    assert services(stack)["web"]["UpdatedAt"] == updated
    assert set(services(stack)) == {"web"}
