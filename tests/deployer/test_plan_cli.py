"""`consign deploy --plan`'s errors: the usual exit codes, nothing planned."""

from __future__ import annotations

from pathlib import Path

import pytest

from consign.exit_codes import ExitCode
from tests.deployer.helpers import consign


def _descriptor(tmp_path: Path, text: str) -> str:
    path = tmp_path / "docker-compose.yml"
    path.write_text(text)
    return str(path)


def test_json_without_plan_is_a_usage_error(tmp_path: Path) -> None:
    path = _descriptor(tmp_path, "services:\n  a:\n    image: busybox\n")
    code, out = consign("deploy", "--file", path, "--project", "p", "--json")
    assert code == ExitCode.USAGE and "--json applies to --plan" in out


def test_an_engine_that_does_not_answer_is_exit_6(tmp_path: Path) -> None:
    path = _descriptor(tmp_path, "services:\n  a:\n    image: busybox\n")
    host = f"unix://{tmp_path}/nothing.sock"
    code, out = consign("deploy", "--file", path, "--project", "p", "--plan", "--host", host)
    assert code == ExitCode.ENGINE_UNREACHABLE, out


@pytest.mark.docker
def test_a_descriptor_compose_refuses_is_exit_4(tmp_path: Path) -> None:
    path = _descriptor(tmp_path, "services:\n  a:\n    image: busybox\n    ports: [nonsense]\n")
    code, out = consign("deploy", "--file", path, "--project", "plan-bad", "--plan")
    assert code == ExitCode.INVALID_DESCRIPTOR, out
