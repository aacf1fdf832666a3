"""Publish-time validation: the Compose Specification's schema and the checks Compose makes
beyond it. Refusals go through a real `consign serve`: one 422 naming every violation with
its path, nothing written; each consistency refusal is also one that `docker compose config`
makes (checked against the real Compose)."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from jsonschema import Draft7Validator

from consign.compose.errors import InvalidFragment
from consign.compose.fragments import parse_fragment
from consign.compose.schema import validator
from consign.process import CommandFailed, run
from tests.serving import ServedRegistry

TYPOS = """\
services:
  api:
    image: shop/web:1
    helthcheck:
      test: [CMD, "true"]
    restart: sometimes
    healthcheck:
      tst: [CMD, "true"]
      interval: 5
    deploy:
      resources:
        limits:
          memry: 1g
    environment: 5
    depends_on:
      db:
        condition: sometimes
    ports:
      - target: 80
        protocl: tcp
  db:
    image: postgres:16
    pull_policy: sometimes
volumes:
  data:
    drivr: local
bogus: 1
"""
EXPECTED = {
    "bogus": "unknown key",
    "services.api.helthcheck": "unknown key",
    "services.api.restart": "'sometimes' is not a restart policy",  # all stages run
    "services.api.healthcheck.tst": "unknown key",
    "services.api.healthcheck.interval": "must be a string, not 5",
    "services.api.deploy.resources.limits.memry": "unknown key",
    "services.api.environment": "must be a mapping or a list, not 5",
    "services.api.depends_on.db.condition": (
        '"sometimes" is not one of "service_started", "service_healthy", '
        '"service_completed_successfully"'
    ),
    "services.api.ports[0].protocl": "unknown key",
    "services.db.pull_policy": '"sometimes" does not match',
    "volumes.data.drivr": "unknown key",
}


def test_the_vendored_schema_is_a_valid_draft7_schema() -> None:
    Draft7Validator.check_schema(validator().schema)
    assert validator() is validator()  # built once per process


def test_every_schema_violation_is_named_with_its_path() -> None:
    with pytest.raises(InvalidFragment) as info:
        parse_fragment(TYPOS)
    found = {v["path"]: v["message"] for v in info.value.details["violations"]}
    assert set(found) == set(EXPECTED)
    for path, message in EXPECTED.items():
        assert found[path].startswith(message), (path, found[path])
        assert path in info.value.message
    assert info.value.message.startswith(f"the fragment is not valid Compose ({len(EXPECTED)} ")


def test_v1_fragments_are_checked_after_conversion() -> None:
    spec, _ = parse_fragment("web:\n  image: x:1\n  net: host\n  log_driver: syslog\n")
    assert spec["services"]["web"]["network_mode"] == "host"
    with pytest.raises(InvalidFragment) as info:
        parse_fragment("web:\n  image: x:1\n  net: host\n  memlimit: 1g\n")
    assert [v["path"] for v in info.value.details["violations"]] == ["services.web.memlimit"]


def test_reset_and_override_tags_are_validated_as_compose_reads_them() -> None:
    parse_fragment(
        "services:\n  base: {image: x:1, ports: ['80']}\n"
        "  web:\n    extends: base\n    ports: !reset []\n    environment: !override {A: '1'}\n"
    )


CONSISTENCY = {
    "volume": (
        "services:\n  a:\n    image: busybox\n    volumes: [data:/d]\n",
        "services.a.volumes",
        "refers to undefined volume data",
    ),
    "network": (
        "services:\n  a:\n    image: busybox\n    networks: [front]\n",
        "services.a.networks[0]",
        "refers to undefined network front",
    ),
    "secret": (
        "services:\n  a:\n    image: busybox\n    secrets: [token]\n",
        "services.a.secrets[0]",
        "refers to undefined secret token",
    ),
    "config": (
        "services:\n  a:\n    image: busybox\n    configs: [{source: conf}]\n",
        "services.a.configs[0]",
        "refers to undefined config conf",
    ),
    "network_mode": (
        "services:\n  a:\n    image: busybox\n    network_mode: host\n    networks: [default]\n",
        "services.a.networks",
        "mutually exclusive",
    ),
    "scale": (
        "services:\n  a:\n    image: busybox\n    scale: 2\n    deploy: {replicas: 3}\n",
        "services.a",
        "can't set distinct values on 'scale' and 'deploy.replicas'",
    ),
    "no_image": (
        "services:\n  a:\n    environment: [A=1]\n",
        "services.a",
        "neither an image nor a build context",
    ),
}


@pytest.mark.parametrize("case", sorted(CONSISTENCY))
def test_what_compose_config_refuses_beyond_the_schema(case: str) -> None:
    text, path, _ = CONSISTENCY[case]
    with pytest.raises(InvalidFragment) as info:
        parse_fragment(text)
    assert [v["path"] for v in info.value.details["violations"]] == [path]


@pytest.mark.docker
@pytest.mark.parametrize("case", sorted(CONSISTENCY))
def test_compose_itself_refuses_the_same(case: str, tmp_path: Path) -> None:
    text, _, compose_says = CONSISTENCY[case]
    (tmp_path / "compose.yaml").write_text(text)
    argv = ["docker", "compose", "-p", f"schema-{uuid.uuid4().hex[:8]}", "config", "-q"]
    with pytest.raises(CommandFailed) as info:
        run(argv, cwd=tmp_path, timeout=60)
    assert compose_says in str(info.value)


def test_defined_resources_and_variables_pass() -> None:
    parse_fragment(
        "services:\n  a:\n    image: busybox\n    restart: on-failure:3\n"
        "    volumes: [data:/d, ./x:/x, '${DATA}:/y']\n    networks: {front: {aliases: [w]}}\n"
        "    secrets: [token]\n    configs: [conf]\n"
        "volumes: {data: {}}\nnetworks: {front: {}}\nsecrets: {token: {environment: T}}\n"
        "configs: {conf: {content: x}}\n"
    )


def test_a_restart_policy_the_engine_would_refuse() -> None:
    with pytest.raises(InvalidFragment) as info:
        parse_fragment("services:\n  a:\n    image: busybox\n    restart: sometimes\n")
    assert "services.a.restart: 'sometimes' is not a restart policy" in info.value.message


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServedRegistry]:
    with ServedRegistry(tmp_path / "registry.git", tmp_path / "serve.log") as server:
        yield server.start()


def _publish(url: str, text: str) -> requests.Response:
    body = {
        "fragment": base64.b64encode(text.encode()).decode(),
        "applications": ["Shop"],
        "releases": ["R1"],
    }
    return requests.put(f"{url}/fragment", json=body, timeout=30)


def test_served_registry_refuses_with_every_violation_and_writes_nothing(
    served: ServedRegistry,
) -> None:
    response = _publish(served.url, TYPOS)
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_fragment"
    assert {v["path"] for v in body["violations"]} == set(EXPECTED)
    refs = run(["git", "--git-dir", str(served.repo), "for-each-ref"], timeout=30).stdout
    assert [line.split()[-1] for line in refs.splitlines()] == ["refs/heads/registry.readme"]
    fixed = TYPOS.replace("helthcheck", "x-helthcheck")
    assert _publish(served.url, fixed).status_code == 422  # the other typos are still there
    good = "services:\n  api:\n    image: shop/web:1\n    restart: unless-stopped\n"
    assert _publish(served.url, good).status_code == 201
    assert json.loads(requests.get(f"{served.url}/api/applications", timeout=30).text) == {
        "applications": ["Shop"]
    }
