"""What Swarm would ignore or refuse in a descriptor, named per service: a pure function.

``docker stack deploy`` silently drops settings a Compose engine honours (it prints
"Ignoring unsupported options" at best) and refuses a few with one vague line
("Configuration contains forbidden properties"). Before anything is touched, every
service is checked here: a **refusal** where the stack would not run as the descriptor
says (exit 4, nothing deployed), a **warning** where Swarm merely ignores a setting and
the result still runs as described. The rules and their reasons: docs/swarm.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

#: Compose ``restart:`` -> the Swarm restart condition with the same effect.
RESTART = {"no": "none", "always": "any", "unless-stopped": "any", "on-failure": "on-failure"}
#: Settings `docker stack deploy` drops without a word of its own that do not change what
#: runs in a way the descriptor relies on; named so nobody is surprised.
IGNORED = {
    "cgroup_parent": "cgroup_parent is ignored by Swarm",
    "external_links": "external_links is ignored by Swarm (services resolve by name)",
    "userns_mode": "userns_mode is ignored by Swarm",
    "expose": "expose is informational; Swarm services reach each other on their networks",
    "domainname": "domainname is ignored by Swarm",
}
#: Settings Swarm drops where the container would run without what the descriptor asks.
REFUSED = {
    "privileged": "privileged is not supported by Swarm: the container would run unprivileged",
    "devices": "devices are not supported by Swarm: the container would run without them",
    "ipc": "ipc is not supported by Swarm: the IPC namespace would not be shared",
    "pid": "pid is not supported by Swarm: the PID namespace would not be shared",
    "security_opt": "security_opt is ignored by Swarm: the container would run without it",
    "shm_size": "shm_size is ignored by Swarm: /dev/shm would have the default 64 MB",
    "mac_address": "mac_address is ignored by Swarm: the container would get another MAC",
    "extends": "extends is forbidden by `docker stack deploy`",
    "volume_driver": "volume_driver is forbidden by `docker stack deploy` (use top-level volumes)",
}

#: add(setting, message, refuse): record one finding for the service being checked.
Add = Callable[[str, str, bool], None]


@dataclass(frozen=True)
class Finding:
    service: str
    setting: str
    message: str

    def __str__(self) -> str:
        return f"{self.service}: {self.setting}: {self.message}"


@dataclass(frozen=True)
class Findings:
    refused: list[Finding]
    warned: list[Finding]

    @property
    def ok(self) -> bool:
        return not self.refused

    def summary(self) -> str:
        """One line per refusal, then one per warning."""
        lines = [f"refused: {f}" for f in self.refused] + [f"warning: {f}" for f in self.warned]
        return "\n".join(lines)


def check(descriptor: Mapping[str, Any]) -> Findings:
    """Every finding for every service of a parsed descriptor (service order kept)."""
    refused: list[Finding] = []
    warned: list[Finding] = []
    services = descriptor.get("services") or {}
    for name, spec in services.items():
        if not isinstance(spec, Mapping):
            continue
        for finding, refuse in _service(str(name), spec, services):
            (refused if refuse else warned).append(finding)
    return Findings(refused, warned)


def _service(
    name: str, spec: Mapping[str, Any], services: Mapping[str, Any]
) -> list[tuple[Finding, bool]]:
    out: list[tuple[Finding, bool]] = []

    def add(setting: str, message: str, refuse: bool) -> None:
        out.append((Finding(name, setting, message), refuse))

    deploy = spec.get("deploy") or {}
    _container_name(spec, name, add)
    if spec.get("volumes_from"):
        shared = ", ".join(str(v) for v in spec["volumes_from"])
        add(
            "volumes_from",
            f"Swarm cannot share another container's volumes ({shared}); use named volumes",
            True,
        )
    _network_mode(spec, add)
    _links(spec, add)
    _depends_on(spec, add)
    _restart(spec, deploy, add)
    _ports(spec, add)
    if spec.get("build") is not None and not spec.get("image"):
        add("build", "Swarm cannot build images and this service has no image", True)
    elif spec.get("build") is not None:
        add("build", f"ignored: Swarm runs the image {spec['image']} as it is on the nodes", False)
    for key, message in REFUSED.items():
        if spec.get(key):
            add(key, message, True)
    for key, message in IGNORED.items():
        if spec.get(key):
            add(key, message, False)
    return out


def _container_name(spec: Mapping[str, Any], name: str, add: Add) -> None:
    given = spec.get("container_name")
    if not given:
        return
    if str(given) == name:
        add("container_name", "ignored by Swarm; the service name resolves the same", False)
    else:
        add(
            "container_name",
            f"Swarm names containers itself, so {given!r} would not exist or resolve; "
            f"others must use the service name {name!r}",
            True,
        )


def _network_mode(spec: Mapping[str, Any], add: Add) -> None:
    mode = spec.get("network_mode")
    if not mode:
        return
    mode = str(mode)
    if mode == "bridge":
        add("network_mode", "ignored: Swarm attaches the service to the stack's network", False)
    else:
        add(
            "network_mode",
            f"{mode!r} is not supported by Swarm: the service would get its own network "
            "namespace on the stack's overlay network instead",
            True,
        )


def _links(spec: Mapping[str, Any], add: Add) -> None:
    for link in spec.get("links") or []:
        target, _, alias = str(link).partition(":")
        if alias and alias != target:
            add("links", f"the alias {alias!r} of {target!r} would not resolve in Swarm", True)
        else:
            add("links", f"ignored: {target!r} resolves by its service name anyway", False)


def _depends_on(spec: Mapping[str, Any], add: Add) -> None:
    deps = spec.get("depends_on") or {}
    items = deps.items() if isinstance(deps, Mapping) else ((d, {}) for d in deps)
    for target, how in items:
        condition = (how or {}).get("condition", "service_started")
        if condition in ("service_healthy", "service_completed_successfully"):
            add(
                "depends_on",
                f"Swarm starts services in any order, so {target!r} would not be "
                f"{condition.removeprefix('service_').replace('_', ' ')} first",
                True,
            )
        else:
            add("depends_on", f"ignored: Swarm may start it before {target!r}", False)


def _ports(spec: Mapping[str, Any], add: Add) -> None:
    """A port bound to one address (``127.0.0.1:8080:80``) would be published by Swarm's
    ingress on every interface of every node."""
    for port in spec.get("ports") or []:
        if isinstance(port, Mapping):
            host_ip = str(port.get("host_ip") or "")
        else:
            text = str(port).rsplit("/", 1)[0]
            host_ip = text.rsplit(":", 2)[0].strip("[]") if text.count(":") >= 2 else ""
        if host_ip and host_ip not in ("0.0.0.0", "::"):
            add(
                "ports",
                f"{port} is bound to {host_ip}, but Swarm publishes ports on every "
                "interface of every node",
                True,
            )


def _restart(spec: Mapping[str, Any], deploy: Mapping[str, Any], add: Add) -> None:
    restart = spec.get("restart")
    if restart is None:
        return
    wanted = RESTART.get(str(restart).split(":")[0])
    policy = (deploy.get("restart_policy") or {}).get("condition")
    swarm = str(policy) if policy is not None else "any"
    if wanted is None or wanted == swarm:
        add("restart", f"ignored: Swarm uses deploy.restart_policy (condition {swarm})", False)
        return
    add(
        "restart",
        f"{restart!r} would be ignored and Swarm would restart on condition {swarm}; "
        f"set deploy.restart_policy.condition: {wanted}",
        True,
    )
