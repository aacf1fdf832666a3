"""consign.compose.fragments: base64/UTF-8 decoding, self-containedness, references, cycles."""

from __future__ import annotations

import base64

import pytest

from consign.compose.errors import InvalidFragment
from consign.compose.fragments import decode_fragment, find_cycle, parse_fragment, references
from consign.compose.yamlio import load

TEXT = "web:\n  image: busybox\n  environment: {NAME: ñandú}\n"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@pytest.mark.parametrize(
    "encoded",
    [
        b64(TEXT.encode()),
        b64(TEXT.encode()).rstrip("="),
        base64.encodebytes(TEXT.encode()).decode("ascii"),  # MIME: newline every 76 chars
        "\r\n".join(b64(TEXT.encode())[i : i + 20] for i in range(0, 80, 20))
        + "\r\n"
        + b64(TEXT.encode())[80:],
    ],
)
def test_standard_base64_with_or_without_padding_and_newlines(encoded: str) -> None:
    assert decode_fragment(encoded) == TEXT


@pytest.mark.parametrize(
    "encoded",
    [
        "not base64!",
        b64(b"\xfb\xff\xfe web").replace("+", "-").replace("/", "_"),  # urlsafe alphabet
        "abcde",  # 5 chars: a dangling sextet
        "YQ==YQ==",  # padding in the middle
        "YQ===",
        "%%%%",
    ],
)
def test_anything_else_is_not_valid_base64(encoded: str) -> None:
    with pytest.raises(InvalidFragment, match=r"^fragment is not valid base64$"):
        decode_fragment(encoded)


def test_bytes_that_are_not_utf8_name_the_offset() -> None:
    with pytest.raises(InvalidFragment) as info:
        decode_fragment(b64(b"web:\n  image: \xff\xfe\n"))
    assert "not valid UTF-8" in info.value.message and "byte offset 14" in info.value.message
    assert info.value.details == {"offset": 14}


def test_parse_fragment_loads_and_normalizes() -> None:
    spec, warnings = parse_fragment("web:\n  image: x\n  net: host\n")
    assert spec == {"services": {"web": {"image": "x", "network_mode": "host"}}}
    assert len(warnings) == 2


def test_env_file_is_accepted_its_files_travel_apart() -> None:
    spec, _ = parse_fragment("services:\n  web: {image: x, env_file: [.env, {path: b.env}]}\n")
    assert spec["services"]["web"]["env_file"] == [".env", {"path": "b.env"}]


@pytest.mark.parametrize(
    ("text", "cause"),
    [
        ("include:\n  - other.yaml\nservices:\n  web: {image: x}\n", "top-level 'include'"),
        ("services:\n  web: {image: x, label_file: l}\n", "'label_file'"),
        ("services:\n  web:\n    extends: {file: base.yml, service: b}\n", "'extends.file'"),
    ],
)
def test_files_needing_other_files_are_refused_saying_so(text: str, cause: str) -> None:
    with pytest.raises(InvalidFragment) as info:
        parse_fragment(text)
    assert cause in info.value.message
    assert "a descriptor must be self-contained" in info.value.message


def test_extends_within_the_fragment_is_kept() -> None:
    text = (
        "services:\n  base: {image: x}\n  web:\n    extends: {service: base}\n    command: !reset\n"
    )
    spec, _ = parse_fragment(text)
    assert spec["services"]["web"]["extends"] == {"service": "base"}


def test_extends_of_a_service_outside_the_fragment_is_refused() -> None:
    with pytest.raises(InvalidFragment, match="extends 'base', which is not a service of this"):
        parse_fragment("services:\n  web:\n    extends: base\n")


def test_references_in_every_form() -> None:
    service = load(
        "depends_on: {db: {condition: service_healthy}, cache: {}}\n"
        "volumes_from: [data, 'logs:ro', 'container:raw', 'conf:rw']\n"
        "links: ['auth:login', mail]\n"
        "network_mode: 'service:vpn'\nipc: 'service:shm'\npid: host\nextends: {service: base}\n"
    )
    assert list(references(service)) == [
        ("db", "depends_on"),
        ("cache", "depends_on"),
        ("data", "volumes_from"),
        ("logs", "volumes_from"),
        ("conf", "volumes_from"),
        ("auth", "links"),
        ("mail", "links"),
        ("vpn", "network_mode"),
        ("shm", "ipc"),
        ("base", "extends"),
    ]
    assert list(references({"depends_on": ["a", "b"], "network_mode": "host"})) == [
        ("a", "depends_on"),
        ("b", "depends_on"),
    ]


def test_reset_references_count_as_absent() -> None:
    assert list(references(load("depends_on: !reset []\nlinks: !override [a]\n"))) == [
        ("a", "links")
    ]


def test_cycles_are_found_through_every_kind_of_reference() -> None:
    services = load(
        "a: {depends_on: [b]}\nb: {volumes_from: ['c:ro']}\nc: {links: ['d:x']}\n"
        "d: {network_mode: 'service:a'}\ne: {depends_on: [a]}\n"
    )
    assert find_cycle(services) == ["a", "b", "c", "d", "a"]
    assert find_cycle({"a": {"depends_on": ["b"]}, "b": {}}) is None
    assert find_cycle({"a": {"depends_on": ["missing"]}}) is None


def test_a_cycle_inside_a_fragment_is_refused() -> None:
    with pytest.raises(InvalidFragment, match=r"^dependency cycle: a -> b -> a$"):
        parse_fragment("a: {image: x, links: [b]}\nb: {image: x, volumes_from: [a]}\n")


def test_net_container_of_own_service_can_form_a_cycle() -> None:
    with pytest.raises(InvalidFragment, match=r"dependency cycle: a -> a"):
        parse_fragment("a: {image: x, net: 'container:a'}\n")


def test_circular_extends_is_refused() -> None:
    text = "services:\n  a: {image: x, extends: b}\n  b: {image: x, extends: {service: a}}\n"
    with pytest.raises(InvalidFragment, match=r"^dependency cycle: a -> b -> a$"):
        parse_fragment(text)


def test_a_long_chain_is_not_a_cycle_and_does_not_exhaust_the_stack() -> None:
    services = {f"s{i}": {"depends_on": [f"s{i + 1}"]} for i in range(5000)}
    services["s5000"] = {}
    assert find_cycle(services) is None
    services["s5000"] = {"links": ["s0"]}
    cycle = find_cycle(services)
    assert cycle is not None and cycle[0] == cycle[-1] == "s0" and len(cycle) == 5002
