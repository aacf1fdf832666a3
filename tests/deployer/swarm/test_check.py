"""The Swarm check: what is refused (exit 4) and what is only warned, per service."""

from __future__ import annotations

from typing import Any

from deployer.swarm.check import check


def findings(services: dict[str, Any]) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    result = check({"services": services})
    return (
        {(f.service, f.setting) for f in result.refused},
        {(f.service, f.setting) for f in result.warned},
    )


def test_plain_service_has_no_findings() -> None:
    result = check({"services": {"web": {"image": "busybox", "deploy": {"replicas": 2}}}})
    assert result.ok and result.refused == [] and result.warned == []


def test_container_name_refused_when_others_would_need_it_warned_when_it_is_the_service() -> None:
    refused, warned = findings(
        {"a": {"image": "x", "container_name": "a"}, "b": {"image": "x", "container_name": "bee"}}
    )
    assert refused == {("b", "container_name")}
    assert warned == {("a", "container_name")}


def test_volumes_from_and_network_modes_are_refused_bridge_warned() -> None:
    refused, warned = findings(
        {
            "data": {"image": "x"},
            "app": {"image": "x", "volumes_from": ["data"]},
            "host": {"image": "x", "network_mode": "host"},
            "side": {"image": "x", "network_mode": "service:app"},
            "br": {"image": "x", "network_mode": "bridge"},
        }
    )
    assert refused == {("app", "volumes_from"), ("host", "network_mode"), ("side", "network_mode")}
    assert warned == {("br", "network_mode")}


def test_links_with_a_different_alias_are_refused() -> None:
    refused, warned = findings({"a": {"image": "x", "links": ["db", "cache:kv", "q:q"]}})
    assert refused == {("a", "links")}
    assert warned == {("a", "links")}  # db and q:q resolve by service name anyway
    assert "'kv'" in check({"services": {"a": {"image": "x", "links": ["cache:kv"]}}}).summary()


def test_depends_on_order_is_warned_conditions_that_gate_are_refused() -> None:
    refused, warned = findings(
        {
            "a": {"image": "x", "depends_on": ["db"]},
            "b": {"image": "x", "depends_on": {"db": {"condition": "service_started"}}},
            "c": {"image": "x", "depends_on": {"db": {"condition": "service_healthy"}}},
            "d": {
                "image": "x",
                "depends_on": {"m": {"condition": "service_completed_successfully"}},
            },
        }
    )
    assert refused == {("c", "depends_on"), ("d", "depends_on")}
    assert warned == {("a", "depends_on"), ("b", "depends_on")}


def test_restart_against_restart_policy() -> None:
    refused, warned = findings(
        {
            "oneshot": {"image": "x", "restart": "no"},  # Swarm would restart it forever
            "onfail": {"image": "x", "restart": "on-failure:3"},
            "always": {"image": "x", "restart": "always"},  # Swarm's default: same effect
            "agree": {
                "image": "x",
                "restart": "no",
                "deploy": {"restart_policy": {"condition": "none"}},
            },
            "clash": {
                "image": "x",
                "restart": "always",
                "deploy": {"restart_policy": {"condition": "none"}},
            },
        }
    )
    assert refused == {("oneshot", "restart"), ("onfail", "restart"), ("clash", "restart")}
    assert warned == {("always", "restart"), ("agree", "restart")}
    text = check({"services": {"m": {"image": "x", "restart": "no"}}}).summary()
    assert "deploy.restart_policy.condition: none" in text


def test_build_only_refused_build_with_image_warned_and_other_settings() -> None:
    refused, warned = findings(
        {
            "src": {"build": "."},
            "both": {"build": ".", "image": "me/both:1"},
            "root": {"image": "x", "privileged": True},
            "ext": {"image": "x", "external_links": ["other"]},
            "shm": {"image": "x", "shm_size": "1g", "security_opt": ["no-new-privileges"]},
            "ok": {"image": "x", "cap_add": ["NET_ADMIN"], "tmpfs": ["/run"], "sysctls": {}},
        }
    )
    assert refused == {
        ("src", "build"),
        ("root", "privileged"),
        ("shm", "shm_size"),
        ("shm", "security_opt"),
    }
    assert warned == {("both", "build"), ("ext", "external_links")}


def test_summary_lists_refusals_first_naming_each_service() -> None:
    result = check(
        {
            "services": {
                "plex": {"image": "x", "container_name": "plex", "volumes_from": ["plex-data"]},
                "plex-data": {"image": "x", "restart": "no"},
            }
        }
    )
    lines = result.summary().splitlines()
    assert lines[0].startswith("refused: plex: volumes_from")
    assert lines[1].startswith("refused: plex-data: restart")
    assert lines[2].startswith("warning: plex: container_name")


def test_ports_bound_to_one_address_are_refused() -> None:
    refused, warned = findings(
        {
            "lo": {"image": "x", "ports": ["127.0.0.1:8080:80"]},
            "lo6": {"image": "x", "ports": ["[::1]:8081:80/tcp"]},
            "long": {
                "image": "x",
                "ports": [{"target": 80, "published": 8082, "host_ip": "10.1.2.3"}],
            },
            "any": {
                "image": "x",
                "ports": ["8083:80", "0.0.0.0:8084:80", 90, "9000-9001:9000-9001"],
            },
        }
    )
    assert refused == {("lo", "ports"), ("lo6", "ports"), ("long", "ports")}
    assert warned == set()
