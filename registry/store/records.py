"""Deployment records as stored in the ledger: ``record.json`` bytes <-> typed records.

The stored JSON is deterministic (sorted keys, indent 1, UTF-8, trailing newline), so a
record's blob id depends only on its content.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from registry.store.types import DeploymentRecord, ServiceRecord

FORMAT = 1


_SERVICE_FIELDS = tuple(ServiceRecord.__dataclass_fields__)
_RECORD_FIELDS = tuple(DeploymentRecord.__dataclass_fields__)
#: Fields only some kinds have (an ``unlock``'s): left out when None, so the records of
#: every other kind keep their stored bytes.
_OPTIONAL = ("reason", "lock", "bisect", "verification")
#: Kinds that are events: they never change what runs (``ledger.apply``); a ``verify``
#: re-runs the verification of what runs.
EVENTS = frozenset({"drift", "unlock", "verify"})
#: Outcomes after which nothing of the application/release runs in the environment: torn
#: down, or moved to another environment (``consign deploy --move-environment``).
GONE = frozenset({"torn_down", "moved"})


def to_json(record: DeploymentRecord) -> dict[str, Any]:
    """The record as a JSON object (the API's and the stored shape).

    Shallow, unlike ``dataclasses.asdict`` (which deep-copies every build dict and costs
    ~1 ms a record): records are frozen and their dicts are never mutated, so the JSON
    encoder may read them as they are.
    """
    body = {
        name: getattr(record, name)
        for name in _RECORD_FIELDS
        if name not in _OPTIONAL or getattr(record, name) is not None
    }
    body["services"] = [{n: getattr(s, n) for n in _SERVICE_FIELDS} for s in record.services]
    return body


def from_json(data: dict[str, Any]) -> DeploymentRecord:
    fields = {k: v for k, v in data.items() if k in DeploymentRecord.__dataclass_fields__}
    services = [ServiceRecord(**s) for s in fields.pop("services", [])]
    return DeploymentRecord(**fields, services=services)


def dump(record: DeploymentRecord) -> bytes:
    body = {"format": FORMAT, **to_json(record)}
    return (json.dumps(body, sort_keys=True, indent=1, ensure_ascii=False) + "\n").encode()


def load(data: bytes) -> DeploymentRecord:
    body = json.loads(data.decode("utf-8"))
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise ValueError("not a format-1 deployment record")
    return from_json(body)


def same_report(a: DeploymentRecord, b: DeploymentRecord) -> bool:
    """Equal apart from what the registry adds (a retried report of the same record)."""
    return replace(a, seq=0, received="") == replace(b, seq=0, received="")


def commit_message(record: DeploymentRecord) -> str:
    """Summary (what, where, outcome) and ``Consign-*`` trailers, like a version's commit."""
    version = "?" if record.version is None else str(record.version)
    outcome = record.outcome.replace("_", " ")
    if record.rolled_back_to is not None:
        outcome += f", rolled back to {record.rolled_back_to}"
        if record.outcome == "rolled_back":
            outcome = f"rolled back to {record.rolled_back_to}"
    summary = (
        f"{record.environment}: {record.kind} {record.application}/{record.release} "
        f"v{version}: {outcome}"
    )
    body = [
        f"{s.service}: {s.verdict}" + (f" ({s.detail})" if s.detail else "")
        for s in record.services
    ] or ([f"Reason: {record.reason}"] if record.reason is not None else ["No services."])
    if record.verification is not None:
        body.append(f"Verification: {record.verification['status']}")
        body += [f"  {t['service']}: {t['verdict']}" for t in record.verification["tests"]]
    trailers = [
        f"Consign-Record: {record.id}",
        f"Consign-Environment: {record.environment}",
        f"Consign-Application: {record.application}",
        f"Consign-Release: {record.release}",
        f"Consign-Version: {version}",
        f"Consign-Outcome: {record.outcome}",
        f"Consign-By: {record.by}",
    ]
    if record.rolled_back_to is not None:
        trailers.append(f"Consign-Rolled-Back-To: {record.rolled_back_to}")
    lines = [summary, "", *(line.replace("\n", " ") for line in body), "", *trailers]
    return "\n".join(lines) + "\n"
