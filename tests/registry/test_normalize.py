"""consign.compose.normalize: legacy v1 -> Compose spec, by the rules of docs/v1-conversion.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from consign.compose.errors import InvalidFragment
from consign.compose.fragments import parse_fragment
from consign.compose.normalize import named_volumes, normalize
from consign.compose.yamlio import dump, load
from consign.process import run


def norm(text: str) -> tuple[dict[str, Any], list[str]]:
    return normalize(load(text))


def refused(text: str) -> str:
    with pytest.raises(InvalidFragment) as info:
        norm(text)
    return info.value.message


def test_v1_services_at_the_root_move_under_services() -> None:
    spec, warnings = norm("b:\n  image: x\na:\n  image: y\n")
    assert spec == {"services": {"b": {"image": "x"}, "a": {"image": "y"}}}
    assert list(spec["services"]) == ["b", "a"]
    assert any("legacy v1" in w for w in warnings)


def test_spec_document_is_kept_with_its_resources_and_extensions() -> None:
    text = (
        "x-top: {a: 1}\nservices:\n  web: {image: x}\nvolumes:\n  data:\nnetworks:\n  n: {}\n"
        "secrets:\n  s: {file: ./s}\nconfigs:\n  c: {file: ./c}\nmodels:\n  m: {model: ai/m}\n"
    )
    spec, warnings = norm(text)
    assert spec == {
        "services": {"web": {"image": "x"}},
        "volumes": {"data": None},
        "networks": {"n": {}},
        "secrets": {"s": {"file": "./s"}},
        "configs": {"c": {"file": "./c"}},
        "models": {"m": {"model": "ai/m"}},
        "x-top": {"a": 1},
    }
    assert warnings == []


def test_version_is_dropped_with_a_warning() -> None:
    spec, warnings = norm("version: '2'\nservices:\n  web: {image: x}\n")
    assert "version" not in spec
    assert warnings == ["top-level 'version: 2' is obsolete and was dropped"]


def test_name_is_dropped_with_a_warning() -> None:
    spec, warnings = norm("name: p\nservices:\n  web: {image: x}\n")
    assert "name" not in spec and "project name" in warnings[0]


@pytest.mark.parametrize("value", ["host", "bridge", "none", "container:elsewhere"])
def test_net_becomes_network_mode_in_place(value: str) -> None:
    spec, warnings = norm(f"web:\n  image: x\n  net: '{value}'\n  restart: always\n")
    assert list(spec["services"]["web"].items()) == [
        ("image", "x"),
        ("network_mode", value),
        ("restart", "always"),
    ]
    assert "service 'web': v1 key(s) net converted" in warnings


def test_net_container_of_a_service_becomes_service() -> None:
    spec, _ = norm("vpn: {image: v}\nweb: {image: x, net: 'container:vpn'}\n")
    assert spec["services"]["web"]["network_mode"] == "service:vpn"


def test_v1_keys_inside_services_are_converted_too() -> None:
    spec, _ = norm("services:\n  web: {image: x, net: host}\n")
    assert spec["services"]["web"] == {"image": "x", "network_mode": "host"}


def test_log_driver_and_log_opt_become_logging() -> None:
    spec, _ = norm("web:\n  image: x\n  log_driver: syslog\n  log_opt: {tag: web}\n  user: me\n")
    assert list(spec["services"]["web"].items()) == [
        ("image", "x"),
        ("logging", {"driver": "syslog", "options": {"tag": "web"}}),
        ("user", "me"),
    ]


def test_log_opt_alone() -> None:
    spec, _ = norm("web: {image: x, log_opt: {a: b}}\n")
    assert spec["services"]["web"]["logging"] == {"options": {"a": "b"}}


def test_build_with_dockerfile_becomes_a_build_mapping() -> None:
    spec, _ = norm("web:\n  build: ./app\n  dockerfile: Dockerfile.dev\n")
    assert spec["services"]["web"] == {
        "build": {"context": "./app", "dockerfile": "Dockerfile.dev"}
    }
    spec, _ = norm("web:\n  dockerfile: D\n  build: {context: ., args: {a: 1}}\n")
    assert spec["services"]["web"]["build"] == {"context": ".", "args": {"a": 1}, "dockerfile": "D"}


def test_volume_driver_becomes_top_level_volume_driver() -> None:
    text = "db:\n  image: x\n  volume_driver: flocker\n  volumes: ['data:/var/lib', '/tmp:/tmp']\n"
    spec, _ = norm(text)
    assert spec["services"]["db"] == {"image": "x", "volumes": ["data:/var/lib", "/tmp:/tmp"]}
    assert spec["volumes"] == {"data": {"driver": "flocker"}}


def test_volume_driver_without_named_volumes_is_dropped_with_a_warning() -> None:
    spec, warnings = norm("db: {image: x, volume_driver: flocker, volumes: ['/a']}\n")
    assert "volumes" not in spec
    assert "service 'db': volume_driver dropped (no named volumes)" in warnings


def test_implicit_named_volumes_are_declared_for_v1() -> None:
    text = "db:\n  image: x\n  volumes:\n  - data:/d\n  - ./rel:/r\n  - ~/h:/h\n"
    text += "  - /abs:/a\n  - /anon\n"
    spec, _ = norm(text)
    assert spec["volumes"] == {"data": {}}


def test_named_volumes_long_syntax() -> None:
    service = {
        "volumes": [
            {"type": "volume", "source": "v", "target": "/v"},
            {"type": "bind", "source": "b", "target": "/b"},
            "n:/n:ro",
            "n:/m",
        ]
    }
    assert named_volumes(service) == ["v", "n"]


def test_volumes_from_and_links_are_kept_as_service_references() -> None:
    spec, _ = norm("web: {image: x, volumes_from: [other-data, 'x:ro'], links: ['db:database']}\n")
    assert spec["services"]["web"]["volumes_from"] == ["other-data", "x:ro"]
    assert spec["services"]["web"]["links"] == ["db:database"]


def test_extension_keys_are_kept_in_v1_and_in_services() -> None:
    spec, _ = norm("x-meta: 1\nweb: {image: x, x-owner: me}\n")
    assert spec == {"services": {"web": {"image": "x", "x-owner": "me"}}, "x-meta": 1}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "fragment is empty"),
        ("{}\n", "fragment is empty"),
        ("- a\n- b\n", "must be a mapping of services, not a list"),
        ("just text\n", "must be a mapping of services, not a str"),
        ("web: busybox\n", "service 'web' must be a mapping, not a str"),
        ("web:\n", "service 'web' must be a mapping, not a null"),
        ("services:\n  web: [a]\n", "service 'web' must be a mapping, not a list"),
        ("'we b': {image: x}\n", "invalid service name 'we b'"),
        ("services:\n  'a/b': {image: x}\n", "invalid service name 'a/b'"),
        ("services: [web]\n", "'services' must be a mapping, not a list"),
        ("services: {}\n", "fragment defines no services"),
        ("version: '3'\n", "fragment defines no services"),
        ("services: {web: {image: x}}\nvolumes: [a]\n", "top-level 'volumes' must be a mapping"),
        ("web: {image: x, net: host, network_mode: host}\n", "both 'net' and 'network_mode'"),
        ("web: {image: x, log_driver: a, logging: {}}\n", "both 'log_driver' and 'logging'"),
        ("web: {image: x, dockerfile: D}\n", "'dockerfile' without 'build'"),
        ("web: {build: {dockerfile: A}, dockerfile: B}\n", "two different dockerfiles"),
        ("web: {build: [a], dockerfile: B}\n", "'build' must be a string or a mapping"),
        (
            "volumes: {d: {driver: a}}\n"
            "services:\n  w: {image: x, volume_driver: b, volumes: ['d:/d']}\n",
            "volume 'd' has driver 'a'",
        ),
    ],
)
def test_bad_documents_are_refused(text: str, message: str) -> None:
    assert message in refused(text)


V1_ALL = """\
vpn:
  image: busybox
  volume_driver: local
  volumes:
  - shared:/shared
  - cache:/cache:ro
web:
  build: .
  dockerfile: Dockerfile.web
  net: "container:vpn"
  log_driver: json-file
  log_opt:
    max-size: 10m
  volumes_from:
  - vpn:ro
  volumes:
  - shared:/data
"""


@pytest.mark.docker
def test_compose_reads_a_converted_v1_fragment_as_intended(tmp_path: Path) -> None:
    spec, _ = parse_fragment(V1_ALL)
    (tmp_path / "docker-compose.yml").write_text(dump(spec))
    argv = [
        "docker",
        "compose",
        "-p",
        "ra-v1",
        "-f",
        "docker-compose.yml",
        "config",
        "--format",
        "json",
    ]
    config = json.loads(run(argv, cwd=tmp_path, timeout=60).stdout)
    web = config["services"]["web"]
    assert web["network_mode"] == "service:vpn"
    assert web["logging"] == {"driver": "json-file", "options": {"max-size": "10m"}}
    assert web["build"]["dockerfile"] == "Dockerfile.web"
    assert web["volumes_from"] == ["vpn:ro"]
    assert config["volumes"]["shared"]["driver"] == "local"
    assert config["volumes"]["cache"]["driver"] == "local"
