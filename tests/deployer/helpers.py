"""Running `consign` commands in tests and reading what they left on the engine."""

from __future__ import annotations

import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
from click.testing import CliRunner

from consign.process import run
from consignment.cli import main


@dataclass
class Result:
    code: int
    output: str
    report: dict[str, Any]
    seconds: float

    def verdicts(self, key: str = "verdicts") -> dict[str, str]:
        part = self.report if key == "verdicts" else self.report[key]
        return {name: v["label"] for name, v in part["verdicts"].items()}


def consign(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.output


def deploy(tmp_path: Path, *args: str) -> Result:
    """`consign deploy ... --report FILE` through click; the report parsed."""
    report = tmp_path / f"report-{time.monotonic_ns()}.json"
    started = time.monotonic()
    code, output = consign("deploy", *args, "--report", str(report))
    seconds = time.monotonic() - started
    doc = json.loads(report.read_text()) if report.exists() else {}
    return Result(code, output, doc, seconds)


def containers(project: str) -> list[Any]:
    client = docker.from_env()
    try:
        filters = {"label": f"com.docker.compose.project={project}"}
        return list(client.containers.list(all=True, filters=filters, ignore_removed=True))
    finally:
        client.close()


def ids(project: str) -> dict[str, str]:
    return {c.name: c.id for c in containers(project)}


def recorded(project: str) -> Any:
    """The project record (deployer.deploy.record): which version the project is at."""
    from deployer.deploy import record

    client = docker.from_env()
    try:
        return record.read(client, project)
    finally:
        client.close()


def anonymous_volumes(project: str) -> list[str]:
    """The unnamed volumes the project's containers mount (a ``- /path`` in a descriptor,
    shared through ``volumes_from``): ``compose down -v`` removes each with the container
    that made it, but not while another container of the project still mounts it, and
    Compose removes the containers concurrently, so one can be left behind."""
    listed = run(
        ["docker", "ps", "-a", "-q", "--filter", f"label=com.docker.compose.project={project}"],
        check=False,
        timeout=60,
    ).stdout.split()
    if not listed:
        return []
    found = run(
        ["docker", "inspect", "--format", "{{json .Mounts}}", *listed], check=False, timeout=60
    ).stdout.splitlines()
    names = {
        mount["Name"]
        for line in found
        for mount in json.loads(line or "[]")
        if mount.get("Type") == "volume" and re.fullmatch(r"[0-9a-f]{64}", mount.get("Name", ""))
    }
    return sorted(names)


def take_down(project: str) -> None:
    """Everything a test's Compose project left on the engine: its containers and networks,
    its volumes (the unnamed ones too, see :func:`anonymous_volumes`) and its records."""
    unnamed = anonymous_volumes(project)
    run(
        ["docker", "compose", "-p", project, "down", "--remove-orphans", "-v", "-t", "0"],
        check=False,
        timeout=120,
    )
    if unnamed:
        run(["docker", "volume", "rm", "-f", *unnamed], check=False, timeout=60)
    remove_records(project)


def take_down_all(projects: list[str]) -> None:
    """:func:`take_down` for each project, a few at a time: a test that made twenty
    projects need not wait for twenty teardowns one after the other."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(take_down, projects))


def remove_records(project: str) -> None:
    """Remove the project's record volumes (deployer.deploy.record), which Compose leaves,
    its environment volume (deployer.ledger.projectenv) and a lock container left by a
    killed deployer (deployer.ledger.projectlock)."""
    names = []
    for key in ("record-of", "environment-of"):
        label = f"label=io.consignment.{key}={project}"
        found = run(["docker", "volume", "ls", "-q", "--filter", label], check=False).stdout
        names += found.split()
    if names:
        run(["docker", "volume", "rm", "-f", *names], check=False, timeout=60)
    run(["docker", "rm", "-f", f"consign-lock.{project}"], check=False, timeout=60)
