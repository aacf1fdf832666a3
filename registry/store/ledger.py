"""The deployment ledger: a commit chain per environment, read into a per-process index.

Layout (see README, "The deployment ledger"):

- ``refs/ledger/<environment>``: each commit is one deployment record, its tree holding
  ``record.json``; the first parent is the environment's previous record (arrival order).
- ``refs/deployed/<environment>/<app>/<release>``: the version commit (the same commit as
  the version's tag) running there now; deleted by a teardown.

Both move in ONE ``update-ref --stdin`` transaction per report, under the store's writer
lock, after the record's objects are written, exactly like a publish: a killed worker
leaves only unreferenced objects. The index of an environment (records, ids, the current
record per application/release) is keyed by its tip commit: when another process moves
the tip, only the new commits are read (one ``git rev-list`` plus one pipelined
``cat-file`` round trip).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from consign.process import CommandFailed, run
from registry import refnames
from registry.errors import Conflict, InvalidName, StoreError
from registry.store import records
from registry.store.gitobjects import FILE_MODE, ObjectStore
from registry.store.refs import ZERO, RefDB, RefUpdate
from registry.store.types import DeploymentRecord

LEDGER = "refs/ledger/"
DEPLOYED = "refs/deployed/"
RECORD = "record.json"
RETRY_DELAY = 0.2

Key = tuple[str, str]  # (application, release)
# Compose's own project-name rule, so a project name is always a valid environment name;
# also a valid Git ref component, URL segment and file name as it is.
ENVIRONMENT_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")


def check_environment(name: object, where: str = "environment") -> str:
    if not isinstance(name, str) or not ENVIRONMENT_RE.fullmatch(name):
        raise InvalidName(
            f"{where} must be 1 to 63 lower-case letters, digits, '-' or '_', starting with "
            f"a letter or digit, not {name!r}",
            details={"field": where},
        )
    return name


def ledger_ref(environment: str) -> str:
    return LEDGER + check_environment(environment)


def deployed_ref(environment: str, application: str, release: str) -> str:
    app, rel = refnames.encode(application, "application"), refnames.encode(release, "release")
    return f"{DEPLOYED}{environment}/{app}/{rel}"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def newer(a: DeploymentRecord, b: DeploymentRecord | None) -> bool:
    """Whether ``a`` says more recently than ``b`` what runs (finish time, then arrival)."""
    return b is None or (a.finished, a.seq) >= (b.finished, b.seq)


def apply(current: dict[Key, DeploymentRecord], record: DeploymentRecord) -> bool:
    """Fold one record into a "what runs now" map; True when it became current.

    Drift records are events, not deployments. A teardown stays in the map (so a late
    record of an earlier deploy cannot resurrect the application); readers skip it.
    """
    if record.kind == "drift":
        return False
    key = (record.application, record.release)
    if not newer(record, current.get(key)):
        return False
    current[key] = record
    return True


@dataclass
class EnvIndex:
    tip: str | None = None
    records: list[DeploymentRecord] = field(default_factory=list)  # oldest first
    ids: dict[str, int] = field(default_factory=dict)  # record id -> seq
    current: dict[Key, DeploymentRecord] = field(default_factory=dict)

    def add(self, record: DeploymentRecord) -> None:
        self.records.append(record)
        self.ids[record.id] = record.seq
        apply(self.current, record)

    def deployed(self) -> list[DeploymentRecord]:
        """What runs now, per application/release (torn down ones left out), sorted."""
        return [
            self.current[k] for k in sorted(self.current) if self.current[k].outcome != "torn_down"
        ]

    def at(self, when: str) -> list[DeploymentRecord]:
        """What ran at ``when`` (a normalised ISO-8601 UTC time), per application/release."""
        state: dict[Key, DeploymentRecord] = {}
        for record in self.records:
            if record.finished <= when:
                apply(state, record)
        return [state[k] for k in sorted(state) if state[k].outcome != "torn_down"]

    def page(self, limit: int, before: int | None) -> list[DeploymentRecord]:
        """Newest first: at most ``limit`` records with ``seq < before``."""
        end = len(self.records) if before is None else max(0, min(before - 1, len(self.records)))
        return self.records[max(0, end - limit) : end][::-1]


class Ledger:
    """Reads and writes the ledger; the caller holds the per-process guard (and, to write,
    the writer lock)."""

    def __init__(self, gitdir: Path, objects: ObjectStore, refs: RefDB) -> None:
        self.gitdir = gitdir
        self.objects = objects
        self.refs = refs
        self._index: dict[str, EnvIndex] = {}

    def environments(self) -> list[str]:
        return sorted(self.refs.children(LEDGER))

    def index(self, environment: str) -> EnvIndex:
        """The environment's index, brought up to its current tip."""
        idx = self._index.setdefault(environment, EnvIndex())
        tip = self.refs.resolve(ledger_ref(environment))
        if tip == idx.tip:
            return idx
        if tip is None:  # never happens (refs only move forward); start afresh
            idx = self._index[environment] = EnvIndex()
            return idx
        for record in self._read_since(tip, idx.tip):
            idx.add(record)
        idx.tip = tip
        return idx

    def _read_since(self, tip: str, known: str | None) -> list[DeploymentRecord]:
        argv = ["git", "--git-dir", str(self.gitdir), "rev-list", "--first-parent", "--reverse"]
        argv += [tip] + ([f"^{known}"] if known else [])
        try:
            commits = run(argv).stdout.split()
        except CommandFailed as e:
            raise StoreError(f"cannot list the ledger: {e}") from e
        blobs = self.objects.read_many([f"{c}:{RECORD}" for c in commits])
        found = []
        for commit, blob in zip(commits, blobs, strict=True):
            if blob is None or blob.kind != "blob":
                raise StoreError(f"ledger commit {commit} has no {RECORD}")
            try:
                found.append(records.load(blob.data))
            except (ValueError, TypeError, KeyError) as e:
                raise StoreError(f"ledger commit {commit} has an unreadable record: {e}") from e
        return found

    def all_records(self) -> Iterable[DeploymentRecord]:
        for environment in self.environments():
            yield from self.index(environment).records

    def append(
        self, record: DeploymentRecord, version_commits: dict[int, str]
    ) -> tuple[DeploymentRecord, bool]:
        """Write ``record`` (hold the writer lock); (stored record, False) for a retry.

        ``version_commits`` maps the version numbers the record names to their commits
        (for ``refs/deployed/...``). A known id with a different content is a Conflict.
        """
        for attempt in (1, 2):
            idx = self.index(record.environment)
            seen = idx.ids.get(record.id)
            if seen is not None:
                stored = idx.records[seen - 1]
                if records.same_report(stored, record):
                    return stored, False
                raise Conflict(
                    f"record {record.id} was already reported to {record.environment} with a "
                    "different content; a new deployment needs a new id",
                    details={"field": "id"},
                )
            stored = replace(record, seq=len(idx.records) + 1, received=now_iso())
            commit, updates = self._write(idx, stored, version_commits)
            try:
                self.refs.transaction(updates)
            except StoreError:
                # A `git update-ref` orphaned by a killed worker may still be finishing:
                # re-read the refs and try once more.
                if attempt == 2:
                    raise
                self._index.pop(record.environment, None)
                time.sleep(RETRY_DELAY)
                continue
            idx.add(stored)
            idx.tip = commit
            return stored, True
        raise AssertionError("unreachable")

    def _write(
        self, idx: EnvIndex, record: DeploymentRecord, version_commits: dict[int, str]
    ) -> tuple[str, list[RefUpdate]]:
        blob = self.objects.write("blob", records.dump(record))
        tree = self.objects.write_tree({RECORD: (FILE_MODE, blob)})
        when = int(time.time())
        commit = self.objects.write_commit(tree, idx.tip, records.commit_message(record), when)
        updates = [RefUpdate(ledger_ref(record.environment), commit, idx.tip or ZERO)]
        if newer(record, idx.current.get((record.application, record.release))) and (
            record.kind != "drift"
        ):
            ref = deployed_ref(record.environment, record.application, record.release)
            old = self.refs.resolve(ref)
            running = record.deployed_version
            target = version_commits.get(running) if running is not None else None
            if target is not None and target != old:
                updates.append(RefUpdate(ref, target, old or ZERO))
            elif target is None and old is not None:
                updates.append(RefUpdate(ref, ZERO, old))
        return commit, updates
