"""The gate's records in the repository: one commit chain per application/release.

Ref ``refs/consign/gate/<app>/<release>`` (names encoded by :mod:`consign.compose.refnames`; not
under ``refs/heads``, so it is never taken for a release). Each change is a new commit on
top of the previous one, whose tree holds:

- ``policy.json``: the release's promotion policy (absent: none);
- ``freeze.json``: the freeze in force (absent: thawed);
- ``decisions.jsonl``: every approval and rejection, one JSON object a line, appended to
  and never rewritten (each commit's file starts with the previous commit's bytes).

The commit message says what changed and who did it (``Consign-Gate:`` and
``Consign-Identity:`` trailers), so ``git log`` of the ref is the gate's audit trail. Writes
happen under the store's writer lock and move the ref in one ``update-ref`` transaction,
like a publish; reads are cached by gate commit (commits never change).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from consign.cache import LRU
from registry.errors import StoreError
from registry.gate import Decision, Freeze, GateState, Policy
from registry.store import manifest
from registry.store.gitobjects import FILE_MODE, ObjectStore
from registry.store.layout import gate_ref
from registry.store.refs import ZERO, RefDB, RefUpdate

POLICY = "policy.json"
FREEZE = "freeze.json"
DECISIONS = "decisions.jsonl"
FILES = (POLICY, FREEZE, DECISIONS)


@dataclass(frozen=True)
class GateSnapshot:
    """A gate commit: its parsed state and the raw files it was parsed from."""

    state: GateState
    files: dict[str, bytes]


EMPTY = GateSnapshot(GateState(), {})


def _parse(commit: str, files: Mapping[str, bytes]) -> GateState:
    try:
        policy = Policy.from_json(json.loads(files[POLICY])) if POLICY in files else None
        freeze = Freeze.from_json(json.loads(files[FREEZE])) if FREEZE in files else None
        lines = files.get(DECISIONS, b"").decode("utf-8").splitlines()
        decisions = tuple(Decision.from_json(json.loads(line)) for line in lines if line)
    except (ValueError, KeyError, TypeError) as e:
        raise StoreError(f"gate commit {commit} has an unreadable record: {e}") from e
    return GateState(policy, freeze, decisions, commit)


class GateStore:
    def __init__(self, objects: ObjectStore, refs: RefDB) -> None:
        self._objects = objects
        self._refs = refs
        self._snapshots: LRU[str, GateSnapshot] = LRU(1024)

    def snapshot(self, application: str, release: str) -> GateSnapshot:
        commit = self._refs.resolve(gate_ref(application, release))
        if commit is None:
            return EMPTY
        cached = self._snapshots.get(commit)
        if cached is None:
            found = self._objects.read_many([f"{commit}:{name}" for name in FILES])
            files = {n: o.data for n, o in zip(FILES, found, strict=True) if o is not None}
            cached = self._snapshots.put(commit, GateSnapshot(_parse(commit, files), files))
        return cached

    def state(self, application: str, release: str) -> GateState:
        return self.snapshot(application, release).state

    def change(
        self,
        application: str,
        release: str,
        files: Mapping[str, bytes | None],
        summary: str,
        trailers: Mapping[str, str],
    ) -> GateState:
        """Commit a new gate state (``files``: name -> new bytes, None to remove; others are
        kept) and move the ref; the caller holds the writer lock."""
        before = self.snapshot(application, release)
        after = dict(before.files)
        for name, data in files.items():
            if data is None:
                after.pop(name, None)
            else:
                after[name] = data
        tree = self._objects.write_tree(
            {name: (FILE_MODE, self._objects.write("blob", data)) for name, data in after.items()}
        )
        lines = [f"Consign-Application: {application}", f"Consign-Release: {release}"]
        lines += [f"{key}: {value}" for key, value in trailers.items()]
        message = "\n".join([summary, "", *lines]) + "\n"
        parent = before.state.commit
        commit = self._objects.write_commit(tree, parent, message, int(time.time()))
        ref = gate_ref(application, release)
        self._refs.transaction([RefUpdate(ref, commit, parent or ZERO)])
        return self._snapshots.put(commit, GateSnapshot(_parse(commit, after), after)).state


def policy_bytes(policy: Policy) -> bytes:
    return manifest.dump(policy.to_json())


def freeze_bytes(freeze: Freeze) -> bytes:
    return manifest.dump(freeze.to_json())


def appended(files: Mapping[str, bytes], decision: Decision) -> bytes:
    """``decisions.jsonl`` with one more record: the old bytes untouched, one line added."""
    record: dict[str, Any] = decision.to_json()
    return files.get(DECISIONS, b"") + manifest.compact(record).encode() + b"\n"
