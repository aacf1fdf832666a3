"""What the `consign` command prints while its HTTP clients retry (issue 19, trial minor):
urllib3's own WARNING per retry (``Retrying (Retry(total=3, ...))``) is not shown (the
filter in consign/registryclient/); the failure is said once in our words. Real process,
a port where nothing listens."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.serving import CONSIGN, ROOT, free_port


def status(*extra: str) -> str:
    dead = f"http://127.0.0.1:{free_port()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONSIGN_")}
    argv = [*CONSIGN, *extra, "status", "--environment", "x", "--registry", dead]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    return done.stdout + done.stderr


@pytest.mark.parametrize("level", ["INFO", "WARNING"])
def test_retries_are_not_printed_in_urllib3s_words(level: str) -> None:
    output = status("--log-level", level)
    assert "Retrying (Retry(" not in output, output
    assert output.count("cannot reach the registry at http://127.0.0.1:") == 1, output
