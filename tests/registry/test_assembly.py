"""registry.assembly: ownership, conflicts naming both sides, references, deterministic output."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from consign.compose.normalize import normalize
from consign.compose.yamlio import load
from consign.process import CommandFailed, run
from registry.assembly import (
    Component,
    assemble,
    component_name_for,
    parse_fragment,
    replace_component,
)
from registry.errors import Conflict
from tests.conftest import SEED

DATA = Path(__file__).resolve().parent.parent / "data" / "fragments"
SEED_FRAGMENTS = ("transmission", "plex", "mysql")


def component(
    text: str, name: str | None = None, current: list[Component] | None = None
) -> Component:
    spec, _ = parse_fragment(text)
    name = component_name_for(current or [], spec, name)
    return Component(name, text, spec, {}, hashlib.sha256(text.encode()).hexdigest())


def publish(current: list[Component], text: str, name: str | None = None) -> list[Component]:
    return replace_component(current, component(text, name, current))


def seed_versions() -> list[list[Component]]:
    versions: list[list[Component]] = []
    current: list[Component] = []
    for fragment in SEED_FRAGMENTS:
        current = publish(current, (DATA / f"{fragment}.yml").read_text())
        versions.append(current)
    return versions


def seed_descriptors() -> dict[int, str]:
    files = sorted(SEED.glob("*.txt"))
    if not files:
        pytest.skip(f"seed notes not found under {SEED}")
    text = files[0].read_text()
    found = re.findall(
        r"/descriptor/application/TLO GE/Milestone/(\d)\n(.*?)\n\nexample", text, re.S
    )
    return {int(n): body + "\n" for n, body in found}


def test_seed_fragments_assemble_to_the_seed_descriptors() -> None:
    expected = seed_descriptors()
    assert sorted(expected) == [1, 2, 3]
    for number, components in enumerate(seed_versions(), start=1):
        assert [c.name for c in components] == [f"{f}-data" for f in SEED_FRAGMENTS][:number]
        descriptor = assemble(components).descriptor
        seed_spec, _ = normalize(load(expected[number]))
        assert load(descriptor) == seed_spec
        assert descriptor.startswith("services:\n  transmission-data:\n")
    transmission = load(assemble(seed_versions()[0]).descriptor)["services"]["transmission"]
    assert transmission["network_mode"] == "host" and "net" not in transmission
    assert transmission["environment"] == {
        "TRUSER": "admin",
        "TRPASSWD": "admin",
        "TIMEZONE": "UTC",
    }


def test_seed_plex_warns_about_bittorrent_sync_data() -> None:
    one, two, three = (assemble(v) for v in seed_versions())
    message = (
        "service 'plex' refers to 'bittorrent-sync-data' (volumes_from), "
        "which no component provides yet"
    )
    # The seed names images without a tag: each service gets a mutable-image warning.
    assert one.warnings == [
        "mutable image references, not pinned (publish unique tags or use consign publish "
        "--pin-images): transmission-data (busybox), transmission (dperson/transmission)"
    ]
    assert (one.state, two.state, three.state) == ("warnings", "incomplete", "incomplete")
    for version in (two, three):
        assert [w for w in version.warnings if "mutable" not in w] == [message]
        assert version.state_reason == "incomplete: plex → bittorrent-sync-data"


def compose_config(descriptor: str, tmp_path: Path) -> None:
    argv = ["docker", "compose", "-p", "ra-seed", "-f", "-", "config", "-q"]
    run(argv, input=descriptor, cwd=tmp_path, timeout=60)


@pytest.mark.docker
def test_compose_accepts_the_seed_descriptors(tmp_path: Path) -> None:
    one, two, three = seed_versions()
    compose_config(assemble(one).descriptor, tmp_path)
    with pytest.raises(CommandFailed) as info:  # the dangling volumes_from our warning names
        compose_config(assemble(two).descriptor, tmp_path)
    assert "bittorrent-sync-data" in info.value.stderr
    sync = "bittorrent-sync-data:\n  image: busybox\n  volumes: [/sync]\n"
    complete = publish(three, sync)
    assert assemble(complete).state == "warnings"
    assert all("mutable image reference" in w for w in assemble(complete).warnings)
    compose_config(assemble(complete).descriptor, tmp_path)


def test_republishing_replaces_the_component_in_place() -> None:
    *_, three = seed_versions()
    changed = (DATA / "transmission.yml").read_text().replace("UTC", "Europe/Paris")
    changed = changed.replace("transmission-data:\n", "transmission-data:\n    labels: {a: b}\n", 1)
    after = publish(three, changed)
    assert [c.name for c in after] == [c.name for c in three]
    services = load(assemble(after).descriptor)["services"]
    assert services["transmission"]["environment"]["TIMEZONE"] == "Europe/Paris"
    assert list(services)[:2] == ["transmission-data", "transmission"]


def test_a_component_drops_services_it_no_longer_defines() -> None:
    _, two, _ = seed_versions()
    after = publish(two, "plex:\n  image: timhaak/plex\n", "plex-data")
    assert list(load(assemble(after).descriptor)["services"]) == [
        "transmission-data",
        "transmission",
        "plex",
    ]


def test_component_names() -> None:
    _, two, _ = seed_versions()
    spec, _ = parse_fragment("plex:\n  image: x\n")
    assert component_name_for(two, spec, None) == "plex-data"
    assert component_name_for(two, spec, "plex-data") == "plex-data"
    spec, _ = parse_fragment("new-one:\n  image: x\nother: {image: y}\n")
    assert component_name_for(two, spec, None) == "new-one"
    assert component_name_for(two, spec, "mine") == "mine"
    spec, _ = parse_fragment("plex-data:\n  image: x\n")  # fresh services, taken name? no: owned
    assert component_name_for(two, spec, None) == "plex-data"


def test_a_derived_name_never_replaces_another_component() -> None:
    current = publish([], "web:\n  image: x\n", "web")
    current = publish(current, "api:\n  image: x\n", "api")
    current = replace_component(current, component("web2: {image: x}\n", "web"))  # web now = web2
    spec, _ = parse_fragment("web:\n  image: y\n")
    assert component_name_for(current, spec, None) == "web-2"


def test_explicit_component_cannot_take_another_components_service() -> None:
    _, two, _ = seed_versions()
    spec, _ = parse_fragment("plex:\n  image: x\n")
    with pytest.raises(Conflict) as info:
        component_name_for(two, spec, "media")
    assert info.value.message == (
        "service 'plex' belongs to component 'plex-data'; component 'media' cannot also define it"
    )
    assert info.value.status == 409


def test_a_fragment_spanning_two_components_is_refused() -> None:
    _, _, three = seed_versions()
    spec, _ = parse_fragment("plex: {image: x}\nmysql: {image: y}\n")
    with pytest.raises(Conflict) as info:
        component_name_for(three, spec, None)
    assert "service 'plex' to component 'plex-data'" in info.value.message
    assert "service 'mysql' to component 'mysql-data'" in info.value.message


def test_replace_component_refuses_a_service_owned_elsewhere() -> None:
    _, two, _ = seed_versions()
    intruder = component("plex: {image: x}\n", "intruder")
    with pytest.raises(
        Conflict,
        match="service 'plex' belongs to component 'plex-data'; "
        "component 'intruder' cannot also define it",
    ):
        replace_component(two, intruder)


def test_duplicate_container_name_is_refused_naming_both() -> None:
    one = seed_versions()[0]
    with pytest.raises(Conflict) as info:
        publish(one, "other:\n  image: x\n  container_name: transmission\n")
    assert info.value.message == (
        "container_name 'transmission' is used by service 'transmission' of component "
        "'transmission-data'; service 'other' of component 'other' cannot use it too"
    )


@pytest.mark.parametrize("kind", ["volumes", "networks", "secrets", "configs"])
def test_conflicting_top_level_resources_are_refused(kind: str) -> None:
    source = ", environment: S" if kind in ("secrets", "configs") else ""  # Compose wants one
    a = f"services:\n  a: {{image: x}}\n{kind}:\n  shared: {{name: one{source}}}\n"
    b = f"services:\n  b: {{image: x}}\n{kind}:\n  shared: {{name: two{source}}}\n"
    with pytest.raises(Conflict) as info:
        publish(publish([], a), b)
    singular = kind.rstrip("s")
    assert f"top-level {singular} 'shared' is defined by component 'a'" in info.value.message
    assert "component 'b' defines it differently" in info.value.message


def test_identical_top_level_resources_are_shared() -> None:
    a = "services:\n  a: {image: x, volumes: ['data:/d']}\nvolumes:\n  data:\n"
    b = "services:\n  b: {image: x, volumes: ['data:/e']}\nvolumes:\n  data: {}\n"
    both = publish(publish([], a), b)
    assert assemble(both).descriptor.endswith("volumes:\n  data: null\n")


def test_every_kind_of_dangling_reference_is_warned() -> None:
    text = (
        "services:\n  web:\n    image: x:1\n    depends_on: {db: {condition: service_started}}\n"
        "    links: ['auth:login']\n    network_mode: 'service:vpn'\n"
        "    volumes_from: ['data:ro', 'container:raw']\n"
    )
    warnings = assemble(publish([], text)).warnings
    assert warnings == [
        f"service 'web' refers to '{t}' ({how}), which no component provides yet"
        for t, how in [
            ("db", "depends_on"),
            ("data", "volumes_from"),
            ("auth", "links"),
            ("vpn", "network_mode"),
        ]
    ]


def test_a_cycle_across_components_is_refused_naming_it() -> None:
    current = publish([], "a: {image: x, depends_on: [b]}\n")
    with pytest.raises(Conflict) as info:
        publish(current, "b: {image: x, volumes_from: [a]}\n")
    assert info.value.message == "dependency cycle across components 'a', 'b': a -> b -> a"


def test_output_order_and_determinism() -> None:
    first = (
        "x-c: 1\nservices:\n  z: {image: x, volumes: ['v:/v']}\n"
        "volumes: {v: {}}\nnetworks: {n: {}}\n"
    )
    second = "services:\n  a: {image: y}\nsecrets: {s: {file: ./s}}\nvolumes: {w: {}}\n"
    components = publish(publish([], first), second)
    descriptor = assemble(components).descriptor
    assert [k for k in load(descriptor)] == ["services", "volumes", "networks", "secrets", "x-c"]
    assert list(load(descriptor)["services"]) == ["z", "a"]
    assert list(load(descriptor)["volumes"]) == ["v", "w"]
    again = publish(publish([], first), second)
    assert assemble(again).descriptor.encode() == descriptor.encode()


def test_reset_and_override_reach_the_descriptor() -> None:
    text = (
        "services:\n  init: {image: x, command: a}\n"
        "  base:\n    extends: {service: init}\n    command: !reset\n"
    )
    descriptor = assemble(publish([], text)).descriptor
    assert "command: !reset ''" in descriptor


@pytest.mark.parametrize(
    ("top", "what"),
    [
        ("models:\n  m: {model: ai/a}\n", "model 'm'"),
        ("x-common: {a: 1}\n", "extension 'x-common'"),
    ],
)
def test_models_and_extensions_follow_the_same_rule(top: str, what: str) -> None:
    current = publish([], f"services:\n  a: {{image: x}}\n{top}")
    shared = publish(current, f"services:\n  b: {{image: x}}\n{top}")
    assert assemble(shared).descriptor.count(what.split("'")[1] + ":") == 1
    different = top.replace("a", "b").replace("1", "2")
    with pytest.raises(Conflict, match=f"top-level {what} is defined by component 'a'"):
        publish(current, f"services:\n  b: {{image: x}}\n{different}")
