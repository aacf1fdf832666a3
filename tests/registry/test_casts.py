"""Compose's casts and project rules, unit by unit (the differential test,
test_compose_differential.py, checks the whole against the real Compose binary)."""

from __future__ import annotations

from typing import Any

import pytest

from consign.compose import casts, gocasts, project_checks
from consign.compose.errors import InvalidFragment
from consign.compose.fragments import compose_violations, parse_fragment
from consign.compose.gocasts import CastError
from consign.compose.schema import Violation


@pytest.mark.parametrize(
    ("text", "expected"),
    [("3", 3), ("+2", 2), ("-1", -1), ("007", 7), ("9223372036854775807", (1 << 63) - 1)],
)
def test_integers_as_strconv_reads_them(text: str, expected: int) -> None:
    assert gocasts.parse_int(text) == expected


@pytest.mark.parametrize("text", ["many", "0x10", "1_000", " 1", "1.0", "", "9223372036854775808"])
def test_what_strconv_refuses_as_an_integer(text: str) -> None:
    with pytest.raises(CastError):
        gocasts.parse_int(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0.5", 0.5), ("2", 2.0), ("1e3", 1000.0), (".5", 0.5), ("5.", 5.0), ("0x1p-2", 0.25)],
)
def test_floats_as_strconv_reads_them(text: str, expected: float) -> None:
    assert gocasts.parse_float(text) == expected


@pytest.mark.parametrize("text", ["half", "1e400", "1_0", " 1", "0x10", "1e", ""])
def test_what_strconv_refuses_as_a_float(text: str) -> None:
    with pytest.raises(CastError):
        gocasts.parse_float(text)


def test_a_float32_out_of_range() -> None:
    assert gocasts.parse_float("1e38", 32) == 1e38
    with pytest.raises(CastError):
        gocasts.parse_float("1e39", 32)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("true", True), ("TRUE", True), ("yes", True), ("on", True), ("Y", True), ("off", False)],
)
def test_booleans_as_compose_reads_them(text: str, expected: bool) -> None:
    assert gocasts.parse_bool(text) is expected


@pytest.mark.parametrize("text", ["maybe", "1", "0", "", "t"])
def test_what_compose_refuses_as_a_boolean(text: str) -> None:
    with pytest.raises(CastError):
        gocasts.parse_bool(text)


SECOND = 1_000_000_000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1m30s", 90 * SECOND),
        ("1.5h", 5400 * SECOND),
        ("0", 0),
        ("-1s", -SECOND),
        ("1d", 86400 * SECOND),
        ("2w", 14 * 86400 * SECOND),
        ("100ms", SECOND // 10),
        (".5s", SECOND // 2),
        ("1h1h", 7200 * SECOND),
    ],
)
def test_durations_as_str2duration_reads_them(text: str, expected: int) -> None:
    assert gocasts.parse_duration(text) == expected


@pytest.mark.parametrize("text", ["soon", "90", "1 minute", "5S", "", ".s", "1.5", "s"])
def test_what_str2duration_refuses(text: str) -> None:
    with pytest.raises(CastError):
        gocasts.parse_duration(text)


def test_go_durations_have_no_days() -> None:
    with pytest.raises(CastError):
        gocasts.parse_duration("1d", days=False)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("512m", 512 << 20),
        ("1GiB", 1 << 30),
        ("1.5g", 3 << 29),
        ("1 GB", 1 << 30),
        ("100", 100),
        ("10b", 10),
        ("1e3", 1000),
    ],
)
def test_sizes_as_go_units_reads_them(text: str, expected: int) -> None:
    assert gocasts.ram_in_bytes(text) == expected


@pytest.mark.parametrize("text", ["lots", "-1", "0x10", "1kib2", "1q", "b", "1bb", "1mi", ""])
def test_what_go_units_refuses(text: str) -> None:
    with pytest.raises(CastError):
        gocasts.ram_in_bytes(text)


@pytest.mark.parametrize(
    "spec",
    [
        "80",
        "8080:80",
        "8080-8081:80-81/udp",
        "[::1]:80:80",
        "::1:80:80",
        "127.0.0.1:8080:80",
        "0:80",
        "65535:80",
        "8080-8090:80",
        "80/SCTP",
    ],
)
def test_port_specs_as_go_connections_reads_them(spec: str) -> None:
    gocasts.parse_port_spec(spec)


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("99999:80", "invalid host port '99999'"),
        ("80:abc", "invalid container port 'abc'"),
        ("65536:80", "invalid host port"),
        ("80-79:80", "invalid host port"),
        ("8080-8082:80-81", "differ in size"),
        ("80/xyz", "invalid protocol"),
        ("300.1.1.1:80:80", "invalid IP address"),
        ("[::1]:80", "invalid IP address '[:'"),  # split at every colon, as Go does
        ("", "invalid protocol"),
    ],
)
def test_what_go_connections_refuses(spec: str, reason: str) -> None:
    with pytest.raises(CastError, match=reason.replace("[", r"\[")):
        gocasts.parse_port_spec(spec)


def _service(**fields: Any) -> dict[str, Any]:
    return {"services": {"api": {"image": "a:1", **fields}}}


def test_casts_list_every_failure_with_its_path_value_and_grammar() -> None:
    outcome = casts.check(
        _service(
            deploy={"replicas": "many", "resources": {"limits": {"memory": "huge"}}},
            healthcheck={"interval": "1 minute", "retries": "3"},
            ports=["99999:80", 8080],
            tty="maybe",
        )
    )
    found = {v.path: v.message for v in outcome.violations}
    assert found == {
        "services.api.deploy.replicas": "'many' is not a whole number (decimal digits, "
        "optional sign)",
        "services.api.deploy.resources.limits.memory": found[
            "services.api.deploy.resources.limits.memory"
        ],
        "services.api.healthcheck.interval": found["services.api.healthcheck.interval"],
        "services.api.ports[0]": found["services.api.ports[0]"],
        "services.api.tty": "'maybe' is not true or false (also yes/no, on/off, y/n)",
    }
    assert found["services.api.deploy.resources.limits.memory"].startswith(
        "'huge' is not a byte size such as 512m or 1GiB"
    )
    assert "unknown unit ' minute'" in found["services.api.healthcheck.interval"]
    assert "invalid host port '99999'" in found["services.api.ports[0]"]
    # the converted values are what the schema judges, as in Compose
    assert outcome.tree["services"]["api"]["healthcheck"]["retries"] == 3
    assert outcome.tree["services"]["api"]["tty"] == "maybe"


def test_variables_are_the_deploy_hosts_unless_their_defaults_decide() -> None:
    outcome = casts.check(
        _service(
            scale="${SCALE}",
            tty="${TTY:?set TTY}",
            cpu_shares="${SHARES:+1024}",
            deploy={"replicas": "${REPLICAS:-2}"},
            mem_limit="${MEM:-${DEFAULT_MEM:-lots}}",
            stop_grace_period="$${not a variable}",
        )
    )
    assert outcome.tree["services"]["api"]["deploy"]["replicas"] == 2
    assert outcome.tree["services"]["api"]["scale"] == "${SCALE}"
    assert [(v.path, v.message.split(" is not ")[0]) for v in outcome.violations] == [
        (
            "services.api.mem_limit",
            "'${MEM:-${DEFAULT_MEM:-lots}}' (with its defaults applied: 'lots')",
        ),
        (
            "services.api.stop_grace_period",
            "'$${not a variable}' (with its defaults applied: '${not a variable}')",
        ),
    ]


def test_a_number_where_an_unsigned_field_wants_one() -> None:
    outcome = casts.check(
        _service(
            healthcheck={"retries": -1}, blkio_config={"weight": "10"}, ports=[{"target": "-1"}]
        )
    )
    assert sorted(v.path for v in outcome.violations) == [
        "services.api.blkio_config.weight",
        "services.api.healthcheck.retries",
        "services.api.ports[0].target",
    ]


def _problems(spec: dict[str, Any]) -> list[Violation]:
    return project_checks.problems(casts.check(spec).tree)


@pytest.mark.parametrize(
    ("fields", "path", "words"),
    [
        (
            {"container_name": "api", "deploy": {"replicas": 3}},
            "container_name",
            "deploy.replicas 3",
        ),
        ({"container_name": "api", "scale": "2"}, "container_name", "scale 2"),
        ({"scale": -1}, "scale", "below 0"),
        ({"cpus": 0.5, "deploy": {"resources": {"limits": {"cpus": "1"}}}}, "cpus", "differs"),
        (
            {"mem_limit": "1g", "deploy": {"resources": {"limits": {"memory": "512m"}}}},
            "mem_limit",
            "differs",
        ),
        ({"healthcheck": {"test": ["BOGUS", "x"]}}, "healthcheck.test", "CMD, CMD-SHELL or NONE"),
        (
            {"tmpfs": "/t", "volumes": ["/srv:/t"]},
            "volumes[0]",
            "already mounted by services.api.tmpfs[0]",
        ),
        ({"volumes": ["/srv::/t"]}, "volumes[0]", "empty section between colons"),
        ({"volumes": ["/srv:/t:ro:z"]}, "volumes[0]", "too many colons"),
        ({"ports": [{"target": 80, "host_ip": "nope"}]}, "ports[0].host_ip", "not an IP address"),
        ({"gpus": [{"count": 1, "device_ids": ["0"]}]}, "gpus[0]", "exclusive"),
        ({"devices": ["/a:/b:rwm:x"]}, "devices[0]", "long syntax"),
        (
            {"build": {"context": ".", "dockerfile": "D", "dockerfile_inline": "FROM x"}},
            "build",
            "exclusive",
        ),
        (
            {"build": {"context": ".", "platforms": ["linux/amd64"]}, "platform": "linux/arm64"},
            "build.platforms",
            "linux/arm64",
        ),
    ],
)
def test_project_rules_compose_applies(fields: dict[str, Any], path: str, words: str) -> None:
    found = _problems(_service(**fields))
    assert [v.path for v in found] == [f"services.api.{path}"]
    assert words in found[0].message


def test_project_rules_that_pass() -> None:
    assert not _problems(
        _service(
            container_name="api",
            deploy={"replicas": 1, "resources": {"limits": {"memory": "1024m", "cpus": "0.5"}}},
            mem_limit="1g",
            cpus="0.5",
            volumes=["/srv:/t", "/opt:/t"],  # Compose keeps the last entry for one target
            healthcheck={"test": "curl -f localhost"},
        )
    )


def test_container_names_are_unique_and_top_level_objects_complete() -> None:
    spec = {
        "services": {
            "a": {"image": "x", "container_name": "c"},
            "b": {"image": "x", "container_name": "c"},
        },
        "secrets": {"s": {"name": "s"}, "t": {"file": "./t", "environment": "T"}},
        "configs": {"c": {"driver": "vault"}, "d": {"external": True}, "e": {}},
        "volumes": {"v": {"external": True, "driver": "local"}},
    }
    assert [str(v) for v in _problems(spec)] == [
        "services.b.container_name: 'c' is already the container name of service 'a'",
        "secrets.s: must set one of file, environment",
        "secrets.t: file and environment are exclusive: set one",
        "configs.e: must set one of file, environment, content",
        "volumes.v.driver: cannot be set on a volume marked 'external'",
    ]


def test_every_stage_runs_and_each_problem_is_listed_once() -> None:
    text = (
        "services:\n  api:\n    image: a:1\n    helthcheck: {}\n    restart: sometimes\n"
        "    oom_score_adj: '2000'\n    deploy: {replicas: many}\n"
        "    container_name: api\n    scale: 2\n"
    )
    with pytest.raises(InvalidFragment) as info:
        parse_fragment(text)
    paths = [v["path"] for v in info.value.details["violations"]]
    assert paths == [
        "services.api.helthcheck",
        "services.api.oom_score_adj",  # 2000 once cast: the schema's range, as in Compose
        "services.api.deploy.replicas",
        "services.api.restart",
        "services.api.container_name",
    ]
    assert "(5 problems)" in info.value.message


def test_schema_problems_are_not_repeated_as_cast_problems() -> None:
    found = compose_violations(_service(stop_grace_period=90))
    assert [v.path for v in found] == ["services.api.stop_grace_period"]
    assert found[0].message.startswith("must be a string")


def test_values_the_schema_refuses_do_not_break_the_other_stages() -> None:
    found = compose_violations(
        {
            "services": {"api": {"image": "a:1", "deploy": "x", "volumes": "x", "ports": {}}},
            "volumes": ["x"],
            "secrets": "x",
        }
    )
    assert found and all(isinstance(v, Violation) for v in found)


def test_a_service_is_judged_with_what_it_extends() -> None:
    spec = {
        "services": {
            "base": {"image": "x", "container_name": "one", "tmpfs": "/t", "command": ["a"]},
            "child": {"extends": {"service": "base"}, "deploy": {"replicas": 3}},
            "grandchild": {"extends": "child", "volumes": ["/srv:/t"], "command": ["b"]},
            "loop": {"extends": "loop", "image": "x"},
        }
    }
    effective = project_checks.effective_services(spec["services"])
    assert effective["grandchild"]["container_name"] == "one"
    assert effective["grandchild"]["command"] == ["b"]  # replaced, not appended
    assert effective["grandchild"]["tmpfs"] == "/t"
    assert "extends" not in effective["grandchild"]
    assert effective["loop"] == spec["services"]["loop"]  # cycles are refused elsewhere
    assert [str(v) for v in _problems(spec)] == [
        "services.child.container_name: cannot be set with deploy.replicas 3: a container "
        "name must be unique",
        "services.child.container_name: 'one' is already the container name of service 'base'",
        "services.grandchild.container_name: cannot be set with deploy.replicas 3: a "
        "container name must be unique",
        "services.grandchild.container_name: 'one' is already the container name of service 'base'",
        "services.grandchild.volumes[0]: target /t is already mounted by "
        "services.grandchild.tmpfs[0]",
    ]
