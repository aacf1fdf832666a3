"""Watch a stack's services and tasks until each service has a verdict.

The Engine has no task events (20.10 sends service events, not task state changes), so
the watch polls: one ``GET /services?status=1`` for the stack and one ``GET /tasks`` for
its services every ``POLL`` seconds, each stamped with the manager's clock, judged by
:mod:`deployer.swarm.rules`. Failures are final as soon as they are certain; the watch
ends when every service is final or at the timeout.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from deployer import label_keys as keys
from deployer.engine.fields import engine_offset
from deployer.swarm.rules import ServiceJudge, ServicePoll
from deployer.verdicts import ServiceVerdict, Verdict

POLL = 0.25
NAMESPACE = "com.docker.stack.namespace"


def stack_services(client: Any, stack: str) -> dict[str, dict[str, Any]]:
    """Service name in the descriptor -> its document (with ServiceStatus); a verification
    service (:mod:`deployer.swarm.verify`, labelled ``io.consignment.verification``) is not
    one of the stack's: watch, status, drift and plan skip it."""
    rows = client.api.services(filters={"label": f"{NAMESPACE}={stack}"}, status=True)
    prefix = f"{stack}_"
    return {
        str(r["Spec"]["Name"]).removeprefix(prefix): r
        for r in rows
        if keys.VERIFICATION not in (r["Spec"].get("Labels") or {})
    }


def service_tasks(client: Any, ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """Service id -> its tasks (every state the manager still keeps)."""
    out: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
    if not ids:
        return out
    for task in client.api.tasks(filters={"service": list(ids)}):
        out.setdefault(str(task.get("ServiceID")), []).append(task)
    return out


def watch_stack(
    client: Any,
    stack: str,
    services: Sequence[str],
    *,
    since: float,
    timeout: float,
    stable: float,
    missing: dict[str, str] | None = None,
    on_update: Callable[[dict[str, ServiceVerdict]], None] | None = None,
    rollback: bool = False,
) -> dict[str, ServiceVerdict]:
    """One verdict per service in ``services``; ``missing`` names services known not to
    exist (with why), which are judged not created at once. ``rollback``: judge the
    rollback Swarm made of the update (:class:`deployer.swarm.rules.ServiceJudge`)."""
    started = time.monotonic()
    offset = engine_offset(client)
    judges = {
        name: ServiceJudge(
            name, since=since, started=started, stable=stable, timeout=timeout, rollback=rollback
        )
        for name in services
    }
    for name, why in (missing or {}).items():
        if name in judges:
            judges[name].verdict = ServiceVerdict(name, Verdict.NOT_CREATED, None, why, 0.0, [])
    while True:
        now = time.monotonic()
        docs = stack_services(client, stack)
        open_ = [n for n, j in judges.items() if not j.verdict.verdict.final and n in docs]
        tasks = service_tasks(client, [docs[n]["ID"] for n in open_])
        wall = time.time() + offset
        for name in open_:
            doc = docs[name]
            judges[name].observe(ServicePoll(doc, tasks.get(doc["ID"], []), wall), now)
        for name, judge in judges.items():
            if name not in docs and not judge.verdict.verdict.final:
                gone = "the service does not exist (removed while deploying?)"
                judge.verdict = ServiceVerdict(name, Verdict.NOT_CREATED, None, gone, 0.0, [])
        verdicts = {n: j.verdict for n, j in judges.items()}
        if on_update is not None:
            on_update(verdicts)
        if all(sv.verdict.final for sv in verdicts.values()):
            return verdicts
        if now - started >= timeout:  # judges already said timed out; belt and braces
            return verdicts
        time.sleep(max(0.0, POLL - (time.monotonic() - now)))


def service_logs(client: Any, stack: str, service: str, tail: int = 50) -> str:
    """The last ``tail`` log lines of a stack service, all its tasks (for the report)."""
    import docker.errors

    try:
        raw = client.api.service_logs(
            f"{stack}_{service}", stdout=True, stderr=True, tail=tail, timestamps=False
        )
        chunks = [c if isinstance(c, bytes) else str(c).encode() for c in raw]
    except docker.errors.APIError as e:
        return f"(logs unavailable: {e.explanation or e})"
    return b"".join(chunks).decode("utf-8", "replace").rstrip("\n")
