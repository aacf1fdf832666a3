"""Building a deployment record (the JSON the registry's ledger takes) from a finished
deploy: its verdicts, the containers' image IDs and config hashes, the component and build
each service came from, the engine it ran on. Pure functions apart from :func:`engine_info`,
which asks the engine (the containers' ``docker inspect``: :mod:`deployer.engine.inspect`)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from consign.textclip import clip_utf8
from deployer.verdicts import ServiceVerdict
from deployer.verification.rules import Verification, outcome_word

CONFIG_HASH = "com.docker.compose.config-hash"
SERVICE = "com.docker.compose.service"
PROJECT = "com.docker.compose.project"
_NOT_NAME = re.compile(r"[^a-z0-9_-]+")
#: What the registry takes as a container ID: hex, or a Swarm task ID (25 of base 36).
_ID = re.compile(r"[0-9a-f]{12,64}|[0-9a-z]{25}")


def new_id() -> str:
    """A record id made by the client, so a retried report is recognised."""
    return str(uuid.uuid4())


def utc_now() -> str:
    return utc_stamp(datetime.now(UTC).timestamp())


def utc_stamp(epoch: float) -> str:
    """A record's time (``2026-12-01T10:00:00.000Z``) of epoch seconds."""
    return (
        datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def default_environment(engine_name: str, project: str) -> str:
    """``<engine name>-<project>`` made a valid environment name (the documented default)."""
    name = _NOT_NAME.sub("-", f"{engine_name}-{project}".lower()).strip("-_")
    return (name or "default")[:63].rstrip("-_")


@dataclass(frozen=True)
class Origin:
    """Where a service's containers came from: its component and that component's build."""

    component: str | None
    build: dict[str, Any]


def origins(components: Iterable[Mapping[str, Any]]) -> dict[str, Origin]:
    """service -> Origin from a version's ``components`` (the registry's version details or
    the ``consign.json`` manifest: ``[{"name", "build", "services": [...]}]``)."""
    found: dict[str, Origin] = {}
    for c in components:
        for service in c.get("services") or []:
            found[str(service)] = Origin(c.get("name"), dict(c.get("build") or {}))
    return found


def engine_info(client: Any, host: str | None, project: str) -> dict[str, Any]:
    """The engine's name and ID, the ``--host`` used, and the Compose project."""
    info = client.info()
    return {"name": info.get("Name"), "id": info.get("ID"), "host": host, "project": project}


def services(
    verdicts: Mapping[str, ServiceVerdict],
    inspected: Mapping[str, Mapping[str, Any]],
    origin: Mapping[str, Origin],
) -> list[dict[str, Any]]:
    """One entry per service: verdict, containers, the image ID they run, config hash, origin.

    ``inspected`` maps each ID a verdict names to what runs there: ``docker inspect`` of a
    container, or for a Swarm task without one ``{"Id": task ID, "Image": spec image}``."""
    out = []
    for name, sv in verdicts.items():
        found = [inspected[c] for c in sv.containers if c in inspected]
        images = sorted({str(i.get("Image")) for i in found if i.get("Image")})
        hashes = sorted(
            {
                str(h)
                for i in found
                if (h := ((i.get("Config") or {}).get("Labels") or {}).get(CONFIG_HASH))
            }
        )
        where = origin.get(name, Origin(None, {}))
        # the verdicts may name containers by name; the record keeps their (or, for a
        # Swarm task without an inspectable container, the task's) IDs
        ids = [str(i["Id"]) for i in found if i.get("Id")] or [
            c for c in sv.containers if _ID.fullmatch(c)
        ]
        out.append(
            {
                "service": name,
                "verdict": sv.verdict.value,
                "detail": clip_utf8(sv.detail, 4000),  # the registry's limit, in bytes
                "containers": ids,
                "image": images[0] if len(images) == 1 else (",".join(images) or None),
                "config_hash": hashes[0] if len(hashes) == 1 else None,
                "component": where.component,
                "build": where.build,
            }
        )
    return out


def build(
    *,
    kind: str,
    environment: str,
    application: str,
    release: str,
    version: int | None,
    commit: str | None,
    outcome: str,
    started: str,
    finished: str,
    by: str,
    engine: Mapping[str, Any],
    source: str | None,
    service_entries: list[dict[str, Any]],
    rolled_back_to: int | None = None,
    record_id: str | None = None,
    verification: Verification | None = None,
) -> dict[str, Any]:
    """The report body (see the registry's ``DeploymentReport`` schema); ``verification``
    only when the descriptor declared one (and the deploy got as far as it)."""
    extra = {} if verification is None else {"verification": verification.as_json()}
    return {
        **extra,
        "id": record_id or new_id(),
        "kind": kind,
        "environment": environment,
        "application": application,
        "release": release,
        "version": version,
        "commit": commit,
        "outcome": outcome,
        "rolled_back_to": rolled_back_to,
        "started": started,
        "finished": finished,
        "by": by,
        "engine": dict(engine),
        "source": source,
        "services": service_entries,
    }


def deploy_outcome(
    verdicts: Mapping[str, ServiceVerdict],
    rolled_back_to: int | None,
    verification: Verification | None = None,
) -> str:
    """ok / verified / verification_failed / timed_out / failed / rolled_back, the way the
    exit code is decided (:func:`deployer.verification.rules.outcome_word`)."""
    return outcome_word(verdicts, rolled_back_to, verification)
