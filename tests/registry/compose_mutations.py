"""Mutated Compose fragments for the differential test against the real Compose binary.

Each case is one service (taken from a real-world file of the corpus, or a fixture of
ours) changed in one way: a typo at some depth, a value of a field Compose converts (just
inside and just outside its grammar, or of the wrong type), a project-level rule, or a
``${VAR}`` form (with the environment Compose is given, as the deploy host would have it).
"""

from __future__ import annotations

import copy
import csv
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from consign.compose.casts import DECODED, INTERPOLATED

SEED = 20

# The parts of a service that refer to other things: dropped so the service stands alone.
_ELSEWHERE = (
    "depends_on",
    "networks",
    "volumes",
    "volumes_from",
    "secrets",
    "configs",
    "extends",
    "env_file",
    "links",
    "network_mode",
    "ipc",
    "pid",
    "label_file",
    "external_links",
    "models",
    "provider",
    "develop",
)

FIXTURES: dict[str, dict[str, Any]] = {
    "fixture-plain": {"image": "shop/web:1.4"},
    "fixture-full": {
        "image": "shop/api:2",
        "restart": "unless-stopped",
        "healthcheck": {"test": ["CMD", "true"], "interval": "10s", "retries": 3},
        "deploy": {"resources": {"limits": {"memory": "256m"}}},
        "ports": ["8080:80"],
        "environment": {"MODE": "prod"},
    },
}


@dataclass(frozen=True)
class Case:
    """One fragment, the environment Compose reads it with, and what it is."""

    name: str
    text: str
    env: dict[str, str] = field(default_factory=dict)


def _set(service: dict[str, Any], path: str, value: Any) -> None:
    node = service
    parts = path.split(".")
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[parts[-1]] = value


# Fields Compose converts, with values inside and outside their grammars (and wrong types).
VALUES: dict[str, list[Any]] = {
    "deploy.replicas": ["many", "3", "-1", "0x10", "1_000", "+2", 2, "2.5", 2.5, True],
    "scale": ["2", "two", -1],
    "healthcheck.retries": ["three", "3", "-1", -2, "1e3"],
    "cpu_shares": ["lots", "512", "-5", 1.5],
    "cpu_count": ["2", "x"],
    "cpu_period": ["100000", "1ms"],
    "cpu_quota": ["-1", "q"],
    "pids_limit": ["some", "100", "-1", "9223372036854775808"],
    "oom_score_adj": ["high", "500", "2000", "-1000", "-1001", 1001],
    "cpu_percent": ["50", "fifty", "0.5"],
    "tty": ["maybe", "yes", "True", "off", "1", 1, "Y"],
    "privileged": ["perhaps", "false", "FALSE"],
    "read_only": ["nah", "on", "no"],
    "init": ["sure", "y", "n"],
    "stdin_open": ["perhaps", "true"],
    "oom_kill_disable": ["nah", "false"],
    "attach": ["maybe", "false", "yes"],
    "use_api_socket": ["maybe", "true"],
    "stop_grace_period": [
        "soon",
        "1m30s",
        "1.5h",
        "90",
        "90s",
        "1d",
        "2w",
        "-1s",
        "1 minute",
        90,
        "0",
        ".5s",
        "1.s",
        "1h1h",
        "5S",
    ],
    "healthcheck.interval": ["1 minute", "5s", "1m30s", "0", "10", "1.5h", "100ms", "1us", "3x"],
    "healthcheck.timeout": ["5 secs", "5s", "1d"],
    "healthcheck.start_period": ["later", "30s"],
    "healthcheck.start_interval": ["2s", "two"],
    "deploy.restart_policy.delay": ["5s", "soon"],
    "deploy.restart_policy.window": ["2m", "a while"],
    "deploy.restart_policy.max_attempts": ["3", "-1", "x", -1],
    "deploy.update_config.delay": ["10s", "later"],
    "deploy.update_config.parallelism": ["2", "-2", "all"],
    "deploy.update_config.max_failure_ratio": ["0.1", "tenth"],
    "deploy.rollback_config.monitor": ["1m", "1 min"],
    "deploy.placement.max_replicas_per_node": ["2", "-1", "two"],
    "mem_limit": [
        "lots",
        "512m",
        "1GiB",
        "1.5g",
        "1gb",
        "1 GB",
        "100",
        "-1",
        "0x10",
        "1kib2",
        "512M",
        "1e3",
        "10mib",
        1024,
        "1t",
        "1q",
        "b",
    ],
    "mem_reservation": ["256m", "some"],
    "memswap_limit": ["1g", "-1", "much"],
    "shm_size": ["big", "64m", "64mb", "64 m"],
    "cpus": ["0.5", "half", "1e400", "2", 1.5],
    "deploy.resources.limits.memory": ["512m", "huge"],
    "deploy.resources.limits.cpus": ["0.5", "lots", "1"],
    "deploy.resources.limits.pids": ["10", "ten"],
    "deploy.resources.reservations.memory": ["128m", "small"],
    "blkio_config.weight": [10, "10", -1],
    "blkio_config.device_read_bps": [
        [{"path": "/dev/sda", "rate": "1mb"}],
        [{"path": "/dev/sda", "rate": "fast"}],
    ],
    "blkio_config.device_write_iops": [
        [{"path": "/dev/sda", "rate": 100}],
        [{"path": "/dev/sda", "rate": "many"}],
    ],
    "ulimits": [
        {"nofile": "65535"},
        {"nofile": "lots"},
        {"nofile": {"soft": "10", "hard": "x"}},
        {"nofile": {"soft": 10, "hard": 20}},
        {"nproc": 65535},
    ],
    "ports": [
        ["8080:80"],
        ["99999:80"],
        ["80:abc"],
        ["8080-8081:80-81/udp"],
        ["[::1]:80:80"],
        ["127.0.0.1:8080:80"],
        ["8080-8082:80-81"],
        ["80/xyz"],
        ["::1:80:80"],
        ["0:80"],
        ["65535:80"],
        ["65536:80"],
        [80],
        [-1],
        ["1.2.3.4:80:80/sctp"],
        ["80-79:80"],
        ["8080:80-81"],
        ["[::1]:80"],
        ["300.1.1.1:80:80"],
        ["80/UDP"],
        [""],
        [{"target": "80"}],
        [{"target": "abc"}],
        [{"target": 80, "host_ip": "nope"}],
        [{"target": -1}],
        [{"target": 80, "published": "8080-8081"}],
        [{"target": 80, "host_ip": "::1"}],
    ],
    "tmpfs": [["/run"], ["/run:size=64m"]],
    "volumes": [
        [{"type": "tmpfs", "target": "/t", "tmpfs": {"size": "1g"}}],
        [{"type": "tmpfs", "target": "/t", "tmpfs": {"size": "big"}}],
        [{"type": "tmpfs", "target": "/t", "tmpfs": {"mode": "0755"}}],
        [{"type": "tmpfs", "target": "/t", "tmpfs": {"mode": 493}}],
        [{"type": "bind", "source": "/srv", "target": "/t", "read_only": "maybe"}],
        [{"type": "bind", "source": "/srv", "target": "/t", "read_only": "yes"}],
        ["/srv:/t", "/opt:/t"],
        ["/srv:/t:ro:z"],
        ["/srv::/t"],
        ["/srv:/t:ro"],
    ],
    "healthcheck.test": [["CMD", "true"], ["BOGUS", "true"], "true", ["NONE"]],
    "healthcheck.disable": ["maybe", "true"],
    "build": [
        {"context": ".", "dockerfile": "D", "dockerfile_inline": "FROM x"},
        {"context": ".", "shm_size": "2g"},
        {"context": ".", "shm_size": "huge"},
        {"context": ".", "no_cache": "maybe"},
        {"context": ".", "pull": "yes"},
    ],
    "devices": [["/dev/a:/dev/b:rwm"], ["/dev/a:/dev/b:rwm:x"]],
}

# Project-level rules: (name, changes to the service).
PROJECT: list[tuple[str, dict[str, Any]]] = [
    ("container_name+replicas3", {"container_name": "one", "deploy.replicas": 3}),
    ("container_name+replicas1", {"container_name": "one", "deploy.replicas": 1}),
    (
        "profiled-container_name+replicas3",
        {"profiles": ["debug"], "container_name": "one", "deploy.replicas": 3},
    ),
    ("container_name+scale2", {"container_name": "one", "scale": 2}),
    ("container_name+replicas'3'", {"container_name": "one", "deploy.replicas": "3"}),
    ("cpus-vs-limits", {"cpus": 0.5, "deploy.resources.limits.cpus": "1"}),
    ("cpus-equal-limits", {"cpus": 0.5, "deploy.resources.limits.cpus": "0.5"}),
    ("mem-vs-limits", {"mem_limit": "1g", "deploy.resources.limits.memory": "512m"}),
    ("mem-equal-limits", {"mem_limit": "1g", "deploy.resources.limits.memory": "1024m"}),
    ("pids-vs-limits", {"pids_limit": 10, "deploy.resources.limits.pids": 20}),
    ("scale-vs-replicas", {"scale": 2, "deploy.replicas": 3}),
    ("replicas-negative", {"deploy.replicas": -1}),
    ("restart-sometimes", {"restart": "sometimes"}),
    ("restart-on-failure", {"restart": "on-failure:3"}),
    ("tmpfs+volume-same-target", {"tmpfs": ["/t"], "volumes": ["/srv:/t"]}),
    ("gpus-count-and-ids", {"gpus": [{"count": 1, "device_ids": ["0"]}]}),
    ("gpus-count-all", {"gpus": [{"count": "all"}]}),
    ("gpus-count-bad", {"gpus": [{"count": "some"}]}),
]

# ${VAR} forms: (name, field, value, environment of the deploy host).
VARIABLES: list[tuple[str, str, Any, dict[str, str]]] = [
    ("replicas-bare", "deploy.replicas", "${R}", {"R": "2"}),
    ("replicas-default", "deploy.replicas", "${R:-2}", {}),
    ("replicas-bad-default", "deploy.replicas", "${R:-many}", {}),
    ("replicas-required", "deploy.replicas", "${R:?set R}", {"R": "2"}),
    ("replicas-dash-default", "deploy.replicas", "${R-3}", {}),
    ("mem-default", "mem_limit", "${M:-512m}", {}),
    ("mem-bad-default", "mem_limit", "${M:-lots}", {}),
    ("mem-bare", "mem_limit", "${M}", {"M": "256m"}),  # fixture-full's limit
    ("tty-bad-default", "tty", "${T:-maybe}", {}),
    ("tty-default", "tty", "${T:-true}", {}),
    ("ports-default", "ports", "${P:-8080}:80", {}),
    ("ports-bad-default", "ports", "${P:-99999}:80", {}),
    ("ports-bare", "ports", "${P}:80", {"P": "8080"}),
    ("grace-nested-default", "stop_grace_period", "${A:-${B:-10s}}", {}),
    ("grace-bad-nested", "stop_grace_period", "${A:-${B:-soon}}", {}),
    ("grace-escaped", "stop_grace_period", "$${A}", {}),
    ("shares-required", "cpu_shares", "${C:?cpu shares}", {"C": "512"}),
    ("shares-alternative", "cpu_shares", "${C:+1024}", {"C": "yes"}),
    ("tty-bare", "tty", "${T}", {"T": "true"}),
    ("template-empty", "environment", {"A": "${}"}, {}),
    ("template-space", "environment", {"A": "${A B}"}, {}),
    ("template-unclosed", "command", "echo ${A", {}),
    ("template-dollar-digit", "command", "echo cost $5", {}),
    ("template-escaped", "command", "echo $${A}", {}),
    ("template-brace-after", "labels", {"a": "${A:-x}y}"}, {}),
    ("template-nested-bad", "labels", {"a": "${A:-${}}"}, {}),
    ("template-dot", "labels", {"a": "${A.B}"}, {}),
    ("template-required-default", "labels", {"a": "${A:?}"}, {"A": "1"}),
]

TYPOS: list[tuple[str, str, Any]] = [
    ("depth1", "imagee", "x:1"),
    ("depth1-restart", "restrat", "always"),
    ("depth2", "healthcheck.intervall", "5s"),
    ("depth2-deploy", "deploy.replica", 2),
    ("depth3", "deploy.resources.limits.memry", "1g"),
    ("depth3-restart-policy", "deploy.restart_policy.conditon", "any"),
    ("depth2-logging", "logging.drivr", "json-file"),
]


def _cast_paths() -> list[str]:
    """Every service field of Compose's cast tables without wildcards (registry/casts.py)."""
    return sorted(
        {
            ".".join(path[2:])
            for path in (*INTERPOLATED, *DECODED)
            if path[:2] == ("services", "*") and "*" not in path[2:] and "[]" not in path[2:]
        }
    )


WRONG_TYPES: list[Any] = [["1"], {"a": 1}, True, 1.5, None, "", -7]


def _key_paths(value: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    if isinstance(value, dict) and len(prefix) < 3:
        for key, item in value.items():
            if isinstance(key, str) and not key.startswith("x-"):
                yield (*prefix, key)
                yield from _key_paths(item, (*prefix, key))


def _typo(service: dict[str, Any], path: tuple[str, ...], rng: random.Random) -> str:
    """Rename the key at ``path`` with one letter dropped, doubled or swapped."""
    node = service
    for part in path[:-1]:
        node = node[part]
    key = path[-1]
    i = rng.randrange(len(key))
    kind = rng.choice(("drop", "double", "swap"))
    if kind == "drop" and len(key) > 1:
        new = key[:i] + key[i + 1 :]
    elif kind == "swap" and i + 1 < len(key):
        new = key[:i] + key[i + 1] + key[i] + key[i + 2 :]
    else:
        new = key[: i + 1] + key[i:]
    if new in node or new == key:
        new = key + "x"
    node[new] = node.pop(key)
    return ".".join((*path[:-1], new))


# Whole fragments of several services: extends within the fragment, names across services.
SEVERAL: dict[str, str] = {
    "extends container_name+scale": (
        "services:\n  base: {image: x, container_name: one}\n"
        "  child: {extends: base, scale: 2, container_name: two}\n"
    ),
    "extends inherits container_name": (
        "services:\n  base: {image: x, container_name: one}\n"
        "  child: {extends: {service: base}, deploy: {replicas: 3}}\n"
    ),
    "extends tmpfs+volume": (
        "services:\n  base: {image: x, tmpfs: /t}\n  child: {extends: base, volumes: ['/srv:/t']}\n"
    ),
    "extends overrides healthcheck.test": (
        "services:\n  base: {image: x, healthcheck: {test: [BOGUS]}}\n"
        "  child: {extends: base, healthcheck: {test: [CMD, 'true']}}\n"
    ),
    "extends limits": (
        "services:\n  base: {image: x, deploy: {resources: {limits: {memory: 1g}}}}\n"
        "  child: {extends: base, mem_limit: 512m}\n"
    ),
    "extends fine": (
        "services:\n  base: {image: x, mem_limit: 1g, tmpfs: [/a]}\n"
        "  child: {extends: base, tmpfs: [/b], volumes: ['/srv:/c'], scale: 2}\n"
    ),
    "same container_name": (
        "services:\n  a: {image: x, container_name: one}\n  b: {image: x, container_name: one}\n"
    ),
    "distinct container_names": (
        "services:\n  a: {image: x, container_name: one}\n  b: {image: x, container_name: two}\n"
    ),
    "build context of a service without build": (
        "services:\n  a: {image: x}\n"
        "  b: {build: {context: ., additional_contexts: {base: 'service:a'}}}\n"
    ),
    "build context of a built service": (
        "services:\n  a: {build: .}\n"
        "  b: {build: {context: ., additional_contexts: {base: 'service:a'}}}\n"
    ),
}


def _corpus_bases(corpus: Path) -> list[tuple[str, dict[str, Any]]]:
    manifest = corpus / "MANIFEST.tsv"
    if not manifest.exists():
        return []
    bases: list[tuple[str, dict[str, Any]]] = []
    with manifest.open(newline="") as f:
        rows = [r for r in csv.DictReader(f, delimiter="\t") if r["config_plain_rc"] == "0"]
    for row in rows:
        try:
            doc = yaml.safe_load((corpus / row["file"]).read_text())
        except yaml.YAMLError:
            continue
        services = doc.get("services") if isinstance(doc, dict) else None
        if not isinstance(services, dict):
            continue
        for name, body in services.items():
            if not isinstance(body, dict) or "image" not in body:
                continue
            body = {k: v for k, v in body.items() if k not in _ELSEWHERE}
            text = yaml.safe_dump(body)
            if "$" in text or "container_name" in body:
                continue
            bases.append((f"{row['file']}:{name}", body))
    return bases


def _fragment(service: dict[str, Any]) -> str:
    return yaml.safe_dump({"services": {"svc": service}}, sort_keys=False)


def cases(corpus: Path, bases_wanted: int = 6) -> Iterator[Case]:
    """The cases, in a fixed order (seeded): valid controls first, then the mutations."""
    rng = random.Random(SEED)
    corpus_bases = _corpus_bases(corpus)
    chosen = rng.sample(corpus_bases, min(bases_wanted, len(corpus_bases)))
    bases = [*FIXTURES.items(), *chosen]
    for base_name, base in bases:
        yield Case(f"{base_name} control", _fragment(base))
    for name, text in SEVERAL.items():
        yield Case(name, text)
    mutations: list[tuple[str, dict[str, Any], dict[str, str]]] = []
    for path, values in VALUES.items():
        for value in values:
            mutations.append((f"{path}={value!r}", {path: value}, {}))
    for name, changes in PROJECT:
        mutations.append((name, changes, {}))
    for name, path, value, env in VARIABLES:
        mutations.append((name, {path: [value] if path == "ports" else value}, env))
    for name, path, value in TYPOS:
        mutations.append((f"typo {name}", {path: value}, {}))
    for path in _cast_paths():
        value = rng.choice(WRONG_TYPES)
        mutations.append((f"wrong type {path}={value!r}", {path: value}, {}))
    for base_name, base in bases:
        for path in rng.sample(sorted(_key_paths(base)), min(3, len(list(_key_paths(base))))):
            service = copy.deepcopy(base)
            where = _typo(service, path, rng)
            yield Case(f"{base_name} typo depth {len(path)} {where}", _fragment(service))
    for index, (name, changes, env) in enumerate(mutations):
        # every mutation on one fixture, and on two bases drawn for it
        targets = [bases[index % 2], *rng.sample(bases, 2)]
        for base_name, base in dict(targets).items():
            service = copy.deepcopy(base)
            for path, value in changes.items():
                if path in ("ports", "volumes", "tmpfs", "devices"):
                    service.pop(path, None)
                _set(service, path, copy.deepcopy(value))
            yield Case(f"{base_name} {name}", _fragment(service), env)
