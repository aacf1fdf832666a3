"""Schema fuzzing: Schemathesis against ``/openapi.json`` of a real `consign serve`.

Every operation the document lists (so routes added later are covered without touching
this file), every phase (examples, coverage, fuzzing, and the stateful phase that follows
the document's links from a publish to the version it created), a fixed seed and a
bounded number of examples per operation. The registry must answer no 5xx, only the
statuses and content types the document lists, and bodies that match its schemas.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.serving import ServedRegistry

SEED = 14
EXAMPLES = 30  # per operation and phase: ~1 minute for the 15 operations of today
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_registry_keeps_its_openapi_document(tmp_path: Path) -> None:
    with ServedRegistry(tmp_path / "registry.git", tmp_path / "serve.log", workers=2) as server:
        server.start()
        argv = [
            sys.executable, "-m", "schemathesis.cli", "run", f"{server.url}/openapi.json",
            "--checks", ",".join(CHECKS),
            "--phases", "examples,coverage,fuzzing,stateful",
            "--seed", str(SEED),
            "--max-examples", str(EXAMPLES),
            "--workers", "1",
            "--request-timeout", "30",
            "--generation-database", "none",
            "--no-color",
            "--output-truncate", "false",
        ]  # fmt: skip
        done = subprocess.run(
            argv, cwd=tmp_path, capture_output=True, text=True, timeout=840, env=_env()
        )
    report = done.stdout + done.stderr
    assert done.returncode == 0, report[-20000:]
    selected = re.search(r"Selected: (\d+)/(\d+)", report)
    tested = re.search(r"Tested: (\d+)", report)
    assert selected and tested, report[-3000:]
    assert selected[1] == selected[2] == tested[1], report[-3000:]  # every operation tested
    assert re.search(r"Stateful.*\n.*\n.*Scenarios:\s+[1-9]", report), report[-3000:]


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("CONSIGN_")}
