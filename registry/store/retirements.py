"""Retired environments: an environment that is gone (a test VM deleted) leaves the lists
but keeps its ledger, readable, and can be restored.

Ref ``refs/consign/retired/<environment>`` (an environment name is a valid ref component
as it is; not under ``refs/ledger``, so the ledger's readers never see it). Each retirement
or restoration is a commit on top of the previous one, whose tree holds:

- ``retirement.json``: the retirement in force (absent: the environment is in service);
- ``events.jsonl``: every retirement and restoration, one JSON object a line, appended to
  and never rewritten.

The commit message says what happened, who did it and why (``Consign-Environment:``,
``Consign-Retirement:`` and ``Consign-Identity:`` trailers), so ``git log`` of the ref is
the audit trail next to the environment's ledger. Writes happen under the store's writer
lock and move the ref in one ``update-ref`` transaction; reads are cached by commit.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from consign.cache import LRU
from registry.errors import StoreError
from registry.store import layout, manifest
from registry.store.gitobjects import FILE_MODE, ObjectStore
from registry.store.layout import ENVIRONMENT_RE, retired_ref
from registry.store.refs import ZERO, RefDB, RefUpdate

CURRENT = "retirement.json"
EVENTS = "events.jsonl"
FILES = (CURRENT, EVENTS)
RETIRED, RESTORED = "retired", "restored"


@dataclass(frozen=True)
class RetirementEvent:
    """One retirement or restoration: who (``by`` as the client said, ``identity`` as its
    token said), why, when."""

    kind: str  # "retired" | "restored"
    environment: str
    by: str
    identity: str | None
    reason: str
    at: str  # ISO-8601 UTC

    @property
    def who(self) -> str:
        return self.identity or self.by or "anonymous"

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "environment": self.environment,
            "by": self.by,
            "identity": self.identity,
            "reason": self.reason,
            "at": self.at,
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> RetirementEvent:
        return cls(
            str(value["kind"]),
            str(value["environment"]),
            str(value["by"]),
            None if value.get("identity") is None else str(value["identity"]),
            str(value.get("reason") or ""),
            str(value["at"]),
        )

    def describe(self) -> str:
        because = f": {self.reason}" if self.reason else ""
        return f"{self.kind} by {self.who} at {self.at}{because}"


@dataclass(frozen=True)
class RetirementSnapshot:
    commit: str | None
    current: RetirementEvent | None  # the retirement in force
    events: tuple[RetirementEvent, ...]
    files: dict[str, bytes]


EMPTY = RetirementSnapshot(None, None, (), {})


def _parse(commit: str, files: Mapping[str, bytes]) -> RetirementSnapshot:
    try:
        current = (
            RetirementEvent.from_json(json.loads(files[CURRENT])) if CURRENT in files else None
        )
        lines = files.get(EVENTS, b"").decode("utf-8").splitlines()
        events = tuple(RetirementEvent.from_json(json.loads(line)) for line in lines if line)
    except (ValueError, KeyError, TypeError) as e:
        raise StoreError(f"retirement commit {commit} has an unreadable record: {e}") from e
    return RetirementSnapshot(commit, current, events, dict(files))


class Retirements:
    def __init__(self, objects: ObjectStore, refs: RefDB) -> None:
        self._objects = objects
        self._refs = refs
        self._snapshots: LRU[str, RetirementSnapshot] = LRU(1024)

    def names(self) -> list[str]:
        """Every environment that was ever retired (retired now or restored since)."""
        return sorted(n for n in self._refs.children(layout.RETIRED) if ENVIRONMENT_RE.fullmatch(n))

    def snapshot(self, environment: str) -> RetirementSnapshot:
        commit = self._refs.resolve(retired_ref(environment))
        if commit is None:
            return EMPTY
        cached = self._snapshots.get(commit)
        if cached is None:
            found = self._objects.read_many([f"{commit}:{name}" for name in FILES])
            files = {n: o.data for n, o in zip(FILES, found, strict=True) if o is not None}
            cached = self._snapshots.put(commit, _parse(commit, files))
        return cached

    def record(self, event: RetirementEvent) -> RetirementSnapshot:
        """Commit the event (a retirement puts it in force, a restoration lifts it) and move
        the ref; the caller holds the writer lock."""
        before = self.snapshot(event.environment)
        files = dict(before.files)
        line = manifest.compact(event.to_json()).encode() + b"\n"
        files[EVENTS] = files.get(EVENTS, b"") + line
        if event.kind == RETIRED:
            files[CURRENT] = manifest.dump(event.to_json())
        else:
            files.pop(CURRENT, None)
        tree = self._objects.write_tree(
            {name: (FILE_MODE, self._objects.write("blob", data)) for name, data in files.items()}
        )
        because = f": {event.reason}" if event.reason else ""
        summary = f"environment {event.environment} {event.kind} by {event.who}{because}"
        trailers = [
            f"Consign-Environment: {event.environment}",
            f"Consign-Retirement: {event.kind}",
            f"Consign-Identity: {event.who}",
        ]
        message = "\n".join([summary.splitlines()[0][:200], "", *trailers]) + "\n"
        commit = self._objects.write_commit(tree, before.commit, message, int(time.time()))
        self._refs.transaction(
            [RefUpdate(retired_ref(event.environment), commit, before.commit or ZERO)]
        )
        return self._snapshots.put(commit, _parse(commit, files))
