"""A stack's verification service as a one-shot Swarm service, pure (unit-tested on
recorded specs and tasks): what it may declare, the service spec made of its merged model
(``docker stack config``), and one look at its task for :class:`TestsWatch`.

What was chosen (docs/swarm.md, "Verification"): one service per test, ``replicated``
with one replica and ``restart_policy: none`` (not ``replicated-job``: the same one task
on every engine since API 1.25, and its end state, ``complete`` or ``failed`` with the
container's exit code, is the same), named ``<stack>_<test>`` and labelled with the stack's
namespace (``docker stack rm`` / ``consign down`` and the next deploy's ``--prune`` remove a
leftover) and ``io.consignment.verification`` (watch, status and drift skip it), attached to
the stack's networks the test names (``default`` when it names none), as ``docker stack
deploy`` attaches the stack's own services.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from deployer import label_keys as keys
from deployer.verification.rules import LookAtTest

#: What a test may declare: what a one-shot service carries over, and what is already
#: resolved into those (``env_file`` into ``environment``) or means nothing for one run.
CARRIED = frozenset(
    {"image", "command", "entrypoint", "environment", "networks", "working_dir", "user",
     "hostname", "extra_hosts", "labels", "deploy", "stop_grace_period", "init", "tty"}
)  # fmt: skip
IGNORED = frozenset(
    {"env_file", "profiles", "depends_on", "healthcheck", "restart", "container_name",
     "logging", "stdin_open"}
)  # fmt: skip
#: Of ``deploy``: placement is kept; the rest describes a long-running service.
DEPLOY_KEPT = frozenset({"placement", "labels"})

#: Task states after which the task runs no more (``docker service ps``'s words).
ENDED = frozenset({"complete", "failed", "rejected", "shutdown", "orphaned", "remove"})


def unsupported(spec: Mapping[str, Any]) -> list[str]:
    """The keys of a test's model the one-shot service cannot honour (the deploy refuses
    them before anything is touched, rather than run the test without them)."""
    return sorted(str(k) for k in spec if k not in CARRIED and k not in IGNORED)


def network_names(stack: str, spec: Mapping[str, Any], declared: Mapping[str, Any]) -> list[str]:
    """The Swarm network names of the stack networks the test joins: ``<stack>_<key>``, or
    the ``name:`` given, or an external network's own name (``docker stack deploy``'s
    naming)."""
    wanted = spec.get("networks") or ["default"]
    keys_ = list(wanted) if isinstance(wanted, (list, dict)) else ["default"]
    names = []
    for key in keys_:
        net = declared.get(str(key)) or {}
        if not isinstance(net, Mapping):
            net = {}
        external = net.get("external")
        if isinstance(external, Mapping) and external.get("name"):
            names.append(str(external["name"]))
        elif net.get("name"):
            names.append(str(net["name"]))
        elif external:
            names.append(str(key))
        else:
            names.append(f"{stack}_{key}")
    return names


def _words(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return ["/bin/sh", "-c", value]  # (stack config splits a string; belt and braces)
    return [str(v) for v in value]


def _environment(value: Any) -> list[str]:
    if isinstance(value, Mapping):
        return [f"{k}={'' if v is None else v}" for k, v in value.items()]
    return [str(v) for v in value or []]


def _hosts(value: Any) -> list[str]:
    """Compose's ``host:ip`` (or a mapping) as the Engine's ``ip host``."""
    if isinstance(value, Mapping):
        return [f"{ip} {host}" for host, ip in value.items()]
    out = []
    for entry in value or []:
        host, _, ip = str(entry).partition(":")
        out.append(f"{ip} {host}" if ip else str(entry))
    return out


def _nanos(value: Any) -> int | None:
    """``stop_grace_period`` (``10s``, ``1m30s``, seconds) in nanoseconds."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return int(value * 1e9)
    total, number = 0.0, ""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
    text = str(value).strip()
    i = 0
    while i < len(text):
        c = text[i]
        if c.isdigit() or c == ".":
            number += c
            i += 1
            continue
        unit = text[i : i + 2] if text[i : i + 2] in units else c
        total += float(number or 0) * units.get(unit, 1.0)
        number, i = "", i + len(unit)
    return int((total + float(number or 0)) * 1e9)


@dataclass(frozen=True)
class OneShot:
    """The service to create for one test (``docker.APIClient.create_service`` arguments)."""

    name: str
    image: str
    container: dict[str, Any]
    networks: list[str]
    labels: dict[str, str]
    constraints: list[str]

    def task_template(self) -> dict[str, Any]:
        template: dict[str, Any] = {
            "ContainerSpec": self.container,
            "RestartPolicy": {"Condition": "none", "MaxAttempts": 0},
            "Networks": [{"Target": n} for n in self.networks],
        }
        if self.constraints:
            template["Placement"] = {"Constraints": self.constraints}
        return template


def one_shot(
    stack: str,
    test: str,
    spec: Mapping[str, Any],
    declared_networks: Mapping[str, Any],
    labels: Mapping[str, str],
) -> OneShot:
    """The one-shot service of test ``test`` from its merged model ``spec``."""
    image = str(spec.get("image") or "")
    own = {str(k): str(v) for k, v in _labels(spec.get("labels")).items()}
    marks = {**labels, keys.STACK_NAMESPACE: stack, keys.VERIFICATION: "true"}
    container: dict[str, Any] = {
        "Image": image,
        "Labels": {**own, **marks},
        "Env": _environment(spec.get("environment")),
    }
    entrypoint, command = _words(spec.get("entrypoint")), _words(spec.get("command"))
    if entrypoint is not None:  # Compose's entrypoint is the Engine's Command, command its Args
        container["Command"] = entrypoint
    if command is not None:
        container["Args"] = command
    for key, field in (("working_dir", "Dir"), ("user", "User"), ("hostname", "Hostname")):
        if spec.get(key):
            container[field] = str(spec[key])
    if spec.get("extra_hosts"):
        container["Hosts"] = _hosts(spec["extra_hosts"])
    if spec.get("tty"):
        container["TTY"] = True
    if spec.get("init") is not None:
        container["Init"] = bool(spec["init"])
    grace = _nanos(spec.get("stop_grace_period"))
    if grace is not None:
        container["StopGracePeriod"] = grace
    deploy = spec.get("deploy") or {}
    placement = deploy.get("placement") or {}
    service_labels = {**_labels(deploy.get("labels")), **marks}
    return OneShot(
        f"{stack}_{test}",
        image,
        container,
        network_names(stack, spec, declared_networks),
        service_labels,
        [str(c) for c in placement.get("constraints") or []],
    )


def _labels(value: Any) -> dict[str, str]:
    if isinstance(value, Mapping):
        return {str(k): "" if v is None else str(v) for k, v in value.items()}
    out = {}
    for entry in value or []:
        k, _, v = str(entry).partition("=")
        out[k] = v
    return out


def unsupported_deploy(spec: Mapping[str, Any]) -> list[str]:
    """``deploy`` keys of a test beyond placement and labels (replicas, mode, restart_policy,
    update_config: a test runs once)."""
    deploy = spec.get("deploy") or {}
    return sorted(f"deploy.{k}" for k in deploy if k not in DEPLOY_KEPT)


@dataclass(frozen=True)
class TaskEnd:
    """How a test's task ended: its exit code (None: it never ran) and why, when not 0."""

    exit_code: int | None
    detail: str


def task_end(tasks: Sequence[Mapping[str, Any]]) -> TaskEnd | None:
    """The end of the test's (one) task; None while it is yet to run or runs. A task
    ``rejected`` (no such image, a network that is gone) never ran; one ``shutdown`` or
    ``orphaned`` before it exited was stopped by someone else (or its node is gone)."""
    if not tasks:
        return None
    task = max(tasks, key=lambda t: str(t.get("CreatedAt") or ""))
    status = task.get("Status") or {}
    state = str(status.get("State") or "")
    if state not in ENDED:
        return None
    code = (status.get("ContainerStatus") or {}).get("ExitCode")
    err = str(status.get("Err") or "")
    if state == "complete":
        return TaskEnd(0, "")
    if state == "failed" and isinstance(code, int):
        return TaskEnd(code, "")
    why = err or str(status.get("Message") or state)
    return TaskEnd(None, f"its task is {state}: {why}")


def look(test: str, end: TaskEnd | None, t: float) -> LookAtTest:
    """One look at a test that ran or runs, for :class:`TestsWatch` (a task that never ran,
    ``end.exit_code`` None, is the caller's: a test that could not be started)."""
    if end is None:
        return LookAtTest(test, (("running", 0),), t)
    return LookAtTest(test, (("exited", end.exit_code or 0),), t)
