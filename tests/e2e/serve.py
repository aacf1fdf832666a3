"""Publish to a served registry with the real `consign publish` client, as Bamboo does.

(The registry itself: :class:`tests.serving.ServedRegistry`.)"""

from __future__ import annotations

import os
from pathlib import Path


def publish(
    registry: str,
    compose_file: Path,
    application: str,
    release: str,
    *,
    component: str | None = None,
    build: dict[str, str] | None = None,
    token: str | None = None,
) -> str:
    """Publish with the real `consign publish` client (in process), as a Bamboo task would."""
    from click.testing import CliRunner

    from consignment.cli import main

    argv = ["publish", str(compose_file), "-a", application, "-r", release, "--registry", registry]
    argv += ["-c", component] if component else []
    env: dict[str, str | None] = {
        k: None for k in os.environ if k.startswith(("bamboo_", "CONSIGN_"))
    }
    env.update(build or {})
    env["CONSIGN_TOKEN"] = token
    result = CliRunner(env=env).invoke(main, argv, catch_exceptions=False)
    if result.exit_code != 0:
        raise AssertionError(f"consign publish exited {result.exit_code}: {result.output}")
    return result.output
