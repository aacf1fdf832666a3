"""`consign publish` as Bamboo runs it: options from the environment, output, exit codes."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import requests_mock as rm
from click.testing import CliRunner

from consign.exit_codes import ExitCode
from publisher.command import publish
from tests.scripted_http import Drop, ScriptedServer

URL = "http://registry.test:9090/fragment"
FRAGMENT = b"transmission:\n  image: busybox\n  command: 'true'\n"


def _version(app: str, number: int, created: bool) -> dict[str, object]:
    return {
        "application": app,
        "release": "Milestone",
        "version": number,
        "url": f"http://registry.test:9090/descriptor/application/{app}/Milestone/{number}",
        "commit": f"{number:040d}",
        "created": created,
        "warnings": [],
    }


@pytest.fixture
def compose_file(tmp_path: Path) -> Path:
    path = tmp_path / "docker-compose.yml"
    path.write_bytes(FRAGMENT)
    return path


def _env(**extra: str) -> dict[str, str]:
    env = {
        "CONSIGN_REGISTRY": "http://registry.test:9090/",
        "CONSIGN_APPLICATIONS": "TLO GE,TLO EE",
        "CONSIGN_RELEASES": "Milestone",
        "CONSIGN_PUBLISH_BACKOFF": "0",
        "bamboo_planKey": "TLO-TRANS",
        "bamboo_buildNumber": "7",
        "bamboo_buildResultsUrl": "https://bamboo.example/browse/TLO-TRANS-JOB1-7",
        "bamboo_planRepository_revision": "feedface",
    }
    env.update(extra)
    return env


def test_everything_from_the_environment(requests_mock: rm.Mocker, compose_file: Path) -> None:
    body: dict[str, object] = {
        "versions": [_version("TLO GE", 3, True), _version("TLO EE", 2, False)]
    }
    body["warnings"] = [
        "service 'plex' refers to 'bittorrent-sync-data', which no component provides"
    ]
    requests_mock.put(URL, status_code=201, json=body)
    env = _env(CONSIGN_TOKEN="tok", CONSIGN_COMPONENT="transmission")
    result = CliRunner().invoke(publish, [str(compose_file)], env=env)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"TLO GE / Milestone v3 {3:040d} created",
        f"TLO EE / Milestone v2 {2:040d} unchanged",
    ]
    assert "warning: service 'plex' refers to 'bittorrent-sync-data'" in result.stderr
    sent = requests_mock.request_history[0]
    assert sent.headers["Authorization"] == "Bearer tok"
    payload = json.loads(sent.body)
    assert base64.b64decode(payload["fragment"]) == FRAGMENT
    assert payload["applications"] == ["TLO GE", "TLO EE"]
    assert payload["releases"] == ["Milestone"]
    assert payload["component"] == "transmission"
    assert payload["build"] == {
        "ci": "bamboo",
        "planKey": "TLO-TRANS",
        "buildNumber": "7",
        "buildResultsUrl": "https://bamboo.example/browse/TLO-TRANS-JOB1-7",
        "planRepository.revision": "feedface",
    }


def test_options_and_digests(requests_mock: rm.Mocker, compose_file: Path) -> None:
    requests_mock.put("http://other:1/fragment", status_code=201, json={"versions": []})
    digest = "sha256:" + "c" * 64
    args = [str(compose_file), "-a", "A", "-a", "B", "-r", "R1", "--release", "R2"]
    args += ["--registry", "http://other:1", "--build-info", "team=media"]
    args += ["--image-digest", f"tlo/transmission@{digest}"]
    result = CliRunner().invoke(publish, args, env={"bamboo_planKey": "P-K"})
    assert result.exit_code == 0, result.output
    payload = json.loads(requests_mock.request_history[0].body)
    assert (payload["applications"], payload["releases"]) == (["A", "B"], ["R1", "R2"])
    assert "component" not in payload
    assert payload["build"] == {
        "ci": "bamboo",
        "planKey": "P-K",
        "team": "media",
        "images": {"tlo/transmission": digest},
    }
    assert "Authorization" not in requests_mock.request_history[0].headers


def test_conflict_fails_the_build_with_the_registrys_message(
    requests_mock: rm.Mocker, compose_file: Path
) -> None:
    message = "service 'transmission' belongs to component 'torrent', not 'media'"
    requests_mock.put(URL, status_code=409, json={"error": "conflict", "message": message})
    result = CliRunner().invoke(publish, [str(compose_file)], env=_env())
    assert result.exit_code == ExitCode.PUBLISH_FAILED == 7
    assert message in result.stderr
    assert requests_mock.call_count == 1
    assert result.stdout == ""


def test_unreachable_registry_retries_then_fails(compose_file: Path) -> None:
    """Through urllib3's retries (which requests-mock would bypass): a server that closes
    every connection without an answer."""
    with ScriptedServer([Drop()]) as server:
        env = _env(CONSIGN_PUBLISH_ATTEMPTS="3", CONSIGN_REGISTRY=server.url)
        result = CliRunner().invoke(publish, [str(compose_file)], env=env)
    assert result.exit_code == ExitCode.PUBLISH_FAILED
    assert len(server.received) == 3
    assert result.stderr.count("retrying in 0s") == 2
    assert "gave up after 3 attempts" in result.stderr


def test_missing_file_and_bad_build_info_fail(tmp_path: Path, compose_file: Path) -> None:
    result = CliRunner().invoke(publish, [str(tmp_path / "nope.yml")], env=_env())
    assert result.exit_code == ExitCode.PUBLISH_FAILED
    assert "cannot read" in result.stderr
    result = CliRunner().invoke(publish, [str(compose_file), "--build-info", "oops"], env=_env())
    assert result.exit_code == ExitCode.PUBLISH_FAILED
    assert "KEY=VALUE" in result.stderr


def test_missing_application_is_a_usage_error(compose_file: Path) -> None:
    env = _env()
    del env["CONSIGN_APPLICATIONS"]
    result = CliRunner().invoke(publish, [str(compose_file)], env=env)
    assert result.exit_code == ExitCode.USAGE


def test_bamboo_global_variables_leave_one_line_per_plan(
    requests_mock: rm.Mocker, compose_file: Path
) -> None:
    """Global Bamboo variables consign.* reach the script as bamboo_consign_*."""
    requests_mock.put(URL, status_code=201, json={"versions": []})
    env = {
        "bamboo_consign_registry": "http://registry.test:9090",
        "bamboo_consign_applications": "TLO GE,TLO EE",
        "bamboo_consign_releases": "Milestone",
        "bamboo_consign_token_password": "from-bamboo",
        "bamboo_planKey": "TLO-PLEX",
    }
    result = CliRunner().invoke(publish, [str(compose_file), "-c", "plex"], env=env)
    assert result.exit_code == 0, result.output
    sent = requests_mock.request_history[0]
    assert sent.headers["Authorization"] == "Bearer from-bamboo"
    payload = json.loads(sent.body)
    assert payload["applications"] == ["TLO GE", "TLO EE"]
    assert payload["releases"] == ["Milestone"]
    assert payload["component"] == "plex"


def test_consign_variables_win_over_bamboo_ones(
    requests_mock: rm.Mocker, compose_file: Path
) -> None:
    requests_mock.put("http://explicit:1/fragment", status_code=201, json={"versions": []})
    env = {**_env(CONSIGN_REGISTRY="http://explicit:1"), "bamboo_consign_registry": "http://no:2"}
    result = CliRunner().invoke(publish, [str(compose_file)], env=env)
    assert result.exit_code == 0, result.output
    assert requests_mock.call_count == 1
