"""`consign versions`, `show`, `diff` against a real registry (`consign serve` under
gunicorn, fed by `consign publish`); the state fields of contract 4 with requests-mock."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests_mock

from consign.exit_codes import ExitCode
from tests.deployer.helpers import consign
from tests.e2e.serve import publish
from tests.serving import ServedRegistry, free_port

APP, REL = "TLO GE", "Milestone"


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedRegistry]:
    tmp = tmp_path_factory.mktemp("versions")
    with ServedRegistry(tmp / "registry.git", tmp / "serve.log", workers=1) as server:
        server.start()
        for n, (component, body) in enumerate(
            [
                ("web", "  web:\n    image: busybox:latest\n    command: httpd -f\n"),
                ("db", "  db:\n    image: busybox:latest\n"),
                ("web", "  web:\n    image: busybox:1\n    command: httpd -f\n"),
            ],
            start=1,
        ):
            path = tmp / f"{n}.yml"
            path.write_text("services:\n" + body)
            build = {"bamboo_planKey": f"P-{component.upper()}", "bamboo_buildNumber": str(n)}
            publish(server.url, path, APP, REL, component=component, build=build)
        yield server


def test_versions_lists_newest_first_with_component_and_build(registry: ServedRegistry) -> None:
    code, out = consign("versions", APP, REL, "--registry", registry.url)
    assert code == ExitCode.OK, out
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == ["v3", "v2", "v1"]
    assert "web" in lines[0] and "buildNumber=3" in lines[0]
    code, out = consign("versions", APP, REL, "--registry", registry.url, "--limit", "1", "--json")
    assert code == ExitCode.OK and [v["version"] for v in json.loads(out)["versions"]] == [3]


def test_show_names_components_builds_and_services(registry: ServedRegistry) -> None:
    code, out = consign("show", APP, REL, "3", "--registry", registry.url)
    assert code == ExitCode.OK, out
    assert out.startswith(f"{APP}/{REL} v3")
    assert "component web: ci=bamboo planKey=P-WEB buildNumber=3" in out
    assert "component db: ci=bamboo planKey=P-DB buildNumber=2" in out and "services: db" in out
    code, out = consign("show", APP, REL, "latest", "--registry", registry.url, "--json")
    assert json.loads(out)["version"] == 3


def test_diff_says_what_changed_and_shows_the_unified_diff(registry: ServedRegistry) -> None:
    code, out = consign("diff", APP, REL, "1", "3", "--registry", registry.url)
    assert code == ExitCode.OK, out
    assert "v1 -> v3" in out
    assert "+ added    db: component db ci=bamboo planKey=P-DB buildNumber=2" in out
    assert "~ changed  web: component web ci=bamboo planKey=P-WEB buildNumber=3" in out
    assert "+    image: busybox:1" in out and "-    command: httpd -f" in out
    assert "\x1b[" not in out  # no colour when not on a terminal
    code, out = consign("diff", APP, REL, "2", "3", "--registry", registry.url, "--json")
    doc = json.loads(out)
    assert (doc["from"], doc["to"]) == (2, 3) and [c["service"] for c in doc["changed"]] == ["web"]


def test_diff_is_coloured_on_a_terminal(registry: ServedRegistry) -> None:
    from click.testing import CliRunner

    from consign.cli import main

    argv = ["diff", APP, REL, "1", "3", "--registry", registry.url]
    result = CliRunner().invoke(main, argv, color=True)
    assert result.exit_code == 0 and "\x1b[32m+    image: busybox:1" in result.output


def test_unknown_versions_and_unreachable_registries_exit_5(registry: ServedRegistry) -> None:
    code, out = consign("show", APP, REL, "99", "--registry", registry.url)
    assert code == ExitCode.REGISTRY_UNREACHABLE and "HTTP 404" in out
    url = f"http://127.0.0.1:{free_port()}"
    code, out = consign("versions", APP, REL, "--registry", url)
    assert code == ExitCode.REGISTRY_UNREACHABLE and "cannot reach the registry" in out


def test_version_state_is_shown_when_the_registry_gives_it() -> None:
    base = "http://registry.test"
    version = {
        "application": "A",
        "release": "R",
        "version": 4,
        "created": "2026-12-01T00:00:00Z",
        "commit": "c0ffee",
        "component": "plex",
        "build": {"buildNumber": "9"},
        "components": [],
        "warnings": ["plex refers to bittorrent-sync-data, which no component provides"],
        "state": "incomplete",
        "state_reason": "incomplete: plex → bittorrent-sync-data",
    }
    with requests_mock.Mocker() as m:
        m.get(f"{base}/api/applications/A/releases/R/versions", json={"versions": [version]})
        m.get(f"{base}/api/applications/A/releases/R/versions/4", json=version)
        code, out = consign("versions", "A", "R", "--registry", base, "--token", "t0k")
        assert (
            code == ExitCode.OK and "[incomplete (incomplete: plex → bittorrent-sync-data)]" in out
        )
        assert m.last_request.headers["Authorization"] == "Bearer t0k"
        code, out = consign("show", "A", "R", "4", "--registry", base)
        assert "state: incomplete (incomplete: plex → bittorrent-sync-data)" in out
        assert "warning: plex refers to bittorrent-sync-data" in out
