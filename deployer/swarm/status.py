"""`consign status` and `consign down` with ``--orchestrator swarm``: what Consignment
deployed as stacks, and is it well.

A one-shot look: every service carrying ``io.consignment.*`` labels is judged once by the
deploy's rules with no stability window; failures of tasks started in the last
``RECENT`` seconds count (a crash loop shows up). What runs now is judged: after Swarm
rolled an update back, the service's labels are the previous version's again, and so is
what it runs. Services scaled to 0 are left out, as a deploy leaves them.
"""

from __future__ import annotations

import time
from typing import Any

from consign.errors import ConsignError
from deployer import label_keys as keys
from deployer.deploy.labels import service_origin
from deployer.engine.fields import engine_offset
from deployer.status import ProjectStatus
from deployer.swarm.labels import deployed, labels_of
from deployer.swarm.rules import ServiceJudge, ServicePoll, desired_slots
from deployer.swarm.stack import StackRunner
from deployer.swarm.watch import NAMESPACE, service_tasks, stack_services

#: Seconds back a task failure still makes a running service "crash-looping".
RECENT = 60.0


def collect(client: Any, stack: str | None = None) -> list[ProjectStatus]:
    """Status of every Consignment stack on the swarm (or just ``stack``)."""
    rows = client.api.services(filters={"label": [keys.VERSION]}, status=True)
    stacks = sorted({str(r["Spec"].get("Labels", {}).get(NAMESPACE, "")) for r in rows} - {""})
    found = [_judge(client, s) for s in stacks if stack is None or s == stack]
    return [status for status in found if status is not None]


def _judge(client: Any, stack: str) -> ProjectStatus | None:
    docs = {n: d for n, d in stack_services(client, stack).items() if keys.VERSION in labels_of(d)}
    at = deployed(stack, docs.values())
    if at is None:
        return None  # removed since it was listed
    status = ProjectStatus(at)
    tasks = service_tasks(client, [d["ID"] for d in docs.values()])
    wall = time.time() + engine_offset(client)
    now = time.monotonic()
    for name, doc in sorted(docs.items()):
        if desired_slots(doc) == 0:
            continue  # scaled to 0: nothing should run, as a deploy skips it
        judge = ServiceJudge(name, since=wall - RECENT, started=now, stable=0.0)
        judge.since_update = float("inf")  # judge what runs now, whatever the last update did
        status.verdicts[name] = judge.observe(ServicePoll(doc, tasks.get(doc["ID"], []), wall), now)
        origin = service_origin(labels_of(doc))
        if origin is not None:
            status.origins[name] = origin
    return status


class StackNotGone(ConsignError):
    """``docker stack rm`` returned but the stack's services or networks stayed."""

    label = "stack not removed"


def down(runner: StackRunner, client: Any, stack: str, *, wait: float = 300.0) -> bool:
    """Remove the stack and wait until its services and networks are gone (at most
    ``wait`` seconds); False when there was no such stack."""
    if not stack_services(client, stack):
        return False
    runner.remove(stack)
    deadline = time.monotonic() + wait
    label = {"label": f"{NAMESPACE}={stack}"}
    while stack_services(client, stack) or client.api.networks(filters=label):
        if time.monotonic() > deadline:
            raise StackNotGone(f"stack {stack} was not gone {wait:.0f}s after `docker stack rm`")
        time.sleep(0.25)  # polling the manager: it sends no event when a stack is gone
    return True
