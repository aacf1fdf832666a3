"""The local spool: records the registry could not take, delivered with the next report.

One JSON file per record (``<id>.json``: the registry URL and the record), written
atomically; delivered oldest first before the new record, each removed once the registry
has it (201, or 200 for a record it already had: the client-made id makes a redelivery
harmless). A record the registry refuses for good (a 4xx other than auth/rate limits) is
moved to ``rejected/`` with the reason, never retried forever. Delivery stops at the first
registry that does not answer and starts no new request after ``deadline`` seconds (each
request is bounded by the client's timeouts).

The directory is ``CONSIGN_SPOOL`` (default ``$XDG_STATE_HOME/consign/spool``, i.e.
``~/.local/state/consign/spool``); in a deployer container, mount a volume there.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deployer.ledger.client import LedgerClient, LedgerError

DEADLINE = 20.0


def default_directory(environ: dict[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    if env.get("CONSIGN_SPOOL"):
        return Path(env["CONSIGN_SPOOL"])
    state = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "consign" / "spool"


@dataclass
class Delivery:
    """What became of a report: delivered now, kept for later, or refused for good."""

    delivered: list[str] = field(default_factory=list)  # record ids, the spooled ones too
    kept: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)  # undeliverable and the spool unwritable
    problem: str = ""  # the reason of the first failure

    @property
    def line(self) -> str:
        """The one line a deploy prints about its report."""
        if not self.kept and not self.rejected and not self.lost:
            return f"reported to the ledger ({len(self.delivered)} record(s))"
        parts = []
        if self.lost:
            parts.append(f"{len(self.lost)} record(s) NOT recorded")
        if self.kept:
            parts.append(f"{len(self.kept)} record(s) kept in the spool for the next report")
        if self.rejected:
            parts.append(f"{len(self.rejected)} refused by the registry")
        return f"ledger: {'; '.join(parts)}: {self.problem}"


class Spool:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def put(self, registry: str, record: dict[str, Any]) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{record['id']}.json"
        tmp = self.directory / f".{record['id']}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps({"registry": registry, "record": record}), "utf-8")
        os.replace(tmp, path)
        return path

    def pending(self, registry: str) -> list[tuple[Path, dict[str, Any]]]:
        """Spooled records for ``registry``, oldest first."""
        found = []
        try:
            paths = sorted(self.directory.glob("*.json"), key=lambda p: p.stat().st_mtime)
        except FileNotFoundError:
            return []
        for path in paths:
            try:
                entry = json.loads(path.read_text("utf-8"))
            except (OSError, ValueError):
                continue  # delivered and removed meanwhile, or not ours
            if entry.get("registry", "").rstrip("/") == registry.rstrip("/"):
                found.append((path, entry["record"]))
        return found

    def reject(self, path: Path, reason: str) -> None:
        folder = self.directory / "rejected"
        folder.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            os.replace(path, folder / path.name)
            (folder / f"{path.stem}.reason").write_text(reason + "\n", "utf-8")


def deliver(
    client: LedgerClient,
    record: dict[str, Any] | None,
    spool: Spool,
    *,
    deadline: float = DEADLINE,
    clock: Callable[[], float] = time.monotonic,
) -> Delivery:
    """Send the spooled records for this registry, then ``record``; never raises.

    ``record`` is spooled first, so it survives this process being killed mid-delivery.
    """
    result = Delivery()
    if record is not None:
        try:
            spool.put(client.registry, record)
        except OSError as e:  # an unwritable spool: still try to deliver directly
            result.problem = f"cannot write the spool {spool.directory}: {e}"
            return _direct(client, record, result)
    stop = clock() + deadline
    for path, pending in spool.pending(client.registry):
        if clock() > stop:
            result.kept.append(pending["id"])
            result.problem = result.problem or f"spool delivery took over {deadline:g}s"
            continue
        if result.kept and not result.delivered:
            result.kept.append(pending["id"])  # the registry is down: don't try every one
            continue
        try:
            client.report(pending)
        except LedgerError as e:
            if e.transient:
                result.kept.append(pending["id"])
            else:
                spool.reject(path, e.message)
                result.rejected.append(pending["id"])
            result.problem = result.problem or e.message
            continue
        result.delivered.append(pending["id"])
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    return result


def _direct(client: LedgerClient, record: dict[str, Any], result: Delivery) -> Delivery:
    try:
        client.report(record)
    except LedgerError as e:
        (result.lost if e.transient else result.rejected).append(record["id"])
        result.problem += f"; {e.message}"
    else:
        result.delivered.append(record["id"])
    return result
