"""`consign versions`, `show`, `diff` against a real registry (`consign serve` under
gunicorn, fed by `consign publish`); the state fields of contract 4 with requests-mock."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests
import requests_mock

from consign.exit_codes import ExitCode
from tests.deployer.helpers import consign
from tests.e2e.serve import publish
from tests.serving import ServedRegistry, free_port

APP, REL = "TLO GE", "Milestone"


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedRegistry]:
    """TLO GE/Milestone v1-v3; Shop/Dev v1-v4 with the gate's records: v4 (dangling) is
    rejected, v3 has two approvals and was promoted into QA, whose policy needs two."""
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
        for n, (component, body) in enumerate(
            [
                ("web", "  web:\n    image: busybox:1\n"),
                ("db", "  db:\n    image: busybox:1\n"),
                ("web", "  web:\n    image: busybox:1.36\n"),
                ("worker", "  worker:\n    image: busybox:1\n    depends_on: [migrat]\n"),
            ],
            start=1,
        ):
            path = tmp / f"shop-{n}.yml"
            path.write_text("services:\n" + body)
            build = {
                "bamboo_planKey": f"TLO-{component.upper()}",
                "bamboo_buildNumber": str(100 + n),
            }
            publish(server.url, path, "Shop", "Dev", component=component, build=build)
        api = f"{server.url}/api/applications/Shop/releases"
        for method, url, body in [
            ("POST", f"{api}/Dev/versions/4/rejections", {"by": "alice", "reason": "broken login"}),
            ("POST", f"{api}/Dev/versions/3/approvals", {"by": "bob", "comment": "fine"}),
            ("POST", f"{api}/Dev/versions/3/approvals", {"by": "dave"}),
            ("PUT", f"{api}/QA/policy", {"approvals": 2, "from_releases": ["Dev"], "by": "c"}),
            ("POST", f"{api}/QA/promotions", {"from_release": "Dev", "version": 3, "by": "erin"}),
            ("POST", f"{api}/Dev/versions/2/approvals", {"by": "bob"}),
        ]:
            answer = requests.request(method, url, json=body, timeout=30)
            assert answer.status_code in (200, 201), answer.text
        yield server


def test_versions_lists_newest_first_with_component_and_build(registry: ServedRegistry) -> None:
    code, out = consign("versions", APP, REL, "--registry", registry.url)
    assert code == ExitCode.OK, out
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == ["v3", "v2", "v1"]
    assert "  web  P-WEB #3  [warnings: " in lines[0]
    code, out = consign("versions", APP, REL, "--registry", registry.url, "--limit", "1", "--json")
    assert code == ExitCode.OK and [v["version"] for v in json.loads(out)["versions"]] == [3]


def _columns(out: str) -> list[str]:
    """Each line without its time (the second column), which changes from run to run."""
    return [" ".join(line.split("  ")[:1] + line.split("  ")[2:]) for line in out.splitlines()]


def test_versions_tell_the_gates_truth_in_words(registry: ServedRegistry) -> None:
    code, out = consign("versions", "Shop", "Dev", "--registry", registry.url)
    assert code == ExitCode.OK, out
    assert _columns(out) == [
        "v4 worker TLO-WORKER #104 [rejected by alice: broken login] [incomplete: worker → migrat]",
        "v3 web TLO-WEB #103 [approved 2 of 2 for QA (bob, dave)]",
        "v2 db TLO-DB #102 [approved 1 of 2 for QA (bob)]",
        "v1 web TLO-WEB #101 [ok]",
    ]
    code, out = consign("versions", "Shop", "QA", "--registry", registry.url)
    assert code == ExitCode.OK, out
    assert _columns(out) == ["v1 web TLO-WEB #103 [promoted from Shop/Dev v3 by erin]"]


def test_show_names_components_builds_and_services(registry: ServedRegistry) -> None:
    code, out = consign("show", APP, REL, "3", "--registry", registry.url)
    assert code == ExitCode.OK, out
    assert out.startswith(f"{APP}/{REL} v3")
    assert "published by CI: component web, P-WEB #3\n" in out
    assert "component web: P-WEB #3 (buildNumber=3 ci=bamboo planKey=P-WEB)" in out
    assert "component db: P-DB #2 (buildNumber=2 ci=bamboo planKey=P-DB)" in out
    assert "services: db" in out and "gate: not rejected\napprovals: none\n" in out
    code, out = consign("show", APP, REL, "latest", "--registry", registry.url, "--json")
    assert json.loads(out)["version"] == 3


def test_show_says_promoted_from_approvals_and_the_rejection(registry: ServedRegistry) -> None:
    code, out = consign("show", "Shop", "QA", "1", "--registry", registry.url)
    assert code == ExitCode.OK, out
    assert out.splitlines()[1] == "promoted from Shop/Dev v3 by erin"
    assert "published by" not in out
    code, out = consign("show", "Shop", "Dev", "3", "--registry", registry.url)
    assert "approvals: approved 2 of 2 for QA (bob, dave)\n  approved by bob at " in out
    assert out.count("  approved by ") == 2 and ": fine\n" in out
    code, out = consign("show", "Shop", "Dev", "4", "--registry", registry.url)
    assert "state: incomplete: worker → migrat\n" in out
    assert "\ngate: rejected by alice at " in out and ": broken login\n" in out
    assert "\napprovals: 0 of 2 for QA\n" in out


def test_diff_says_what_changed_and_shows_the_unified_diff(registry: ServedRegistry) -> None:
    code, out = consign("diff", APP, REL, "1", "3", "--registry", registry.url)
    assert code == ExitCode.OK, out
    assert "v1 -> v3" in out
    assert "+ added    db: component db P-DB #2\n" in out
    assert "~ changed  web: component web P-WEB #1 → #3\n" in out
    assert "+    image: busybox:1" in out and "-    command: httpd -f" in out
    assert "\x1b[" not in out  # no colour when not on a terminal
    code, out = consign("diff", APP, REL, "2", "3", "--registry", registry.url, "--json")
    doc = json.loads(out)
    assert (doc["from"], doc["to"]) == (2, 3) and [c["service"] for c in doc["changed"]] == ["web"]
    code, out = consign("diff", "Shop", "Dev", "3", "4", "--registry", registry.url)
    assert out.splitlines()[1] == "+ added    worker: component worker TLO-WORKER #104"


def test_diff_is_coloured_on_a_terminal(registry: ServedRegistry) -> None:
    from click.testing import CliRunner

    from consignment.cli import main

    argv = ["diff", APP, REL, "1", "3", "--registry", registry.url]
    result = CliRunner().invoke(main, argv, color=True)
    assert result.exit_code == 0 and "\x1b[32m+    image: busybox:1" in result.output


def _error_line(out: str) -> str:
    lines = out.strip().splitlines()
    assert len(lines) == 1, out  # one line, whatever went wrong
    return lines[0]


def test_unknown_names_say_which_with_the_close_ones(registry: ServedRegistry) -> None:
    code, out = consign("versions", "Shopp", "Dev", "--registry", registry.url)
    assert code == ExitCode.REGISTRY_UNREACHABLE
    assert _error_line(out) == (
        f"error: registry: no such application 'Shopp' at {registry.url} (did you mean Shop?)"
    )
    code, out = consign("show", "shop", "dev", "1", "--registry", registry.url)
    assert "no such application 'shop'" in out and "(did you mean Shop?)" in out
    code, out = consign("diff", "Shop", "Dve", "1", "2", "--registry", registry.url)
    assert _error_line(out) == (
        f"error: registry: Shop has no release 'Dve' at {registry.url} (did you mean Dev?)"
    )
    code, out = consign("versions", "Nothing Alike", "Dev", "--registry", registry.url)
    assert "no such application 'Nothing Alike'" in out and "did you mean" not in out
    code, out = consign("show", APP, REL, "99", "--registry", registry.url)
    assert code == ExitCode.REGISTRY_UNREACHABLE
    assert "has no version 99 (latest is 3)" in _error_line(out)


@pytest.mark.parametrize(
    "argv",
    [
        ["show", "Shop", "Dev", "abc"],
        ["diff", "Shop", "Dev", "1", "x"],
        ["show", "Shop", "Dev", "0"],
        ["show", "Shop", "Dev", "1.5"],
    ],
)
def test_a_bad_version_argument_is_a_usage_error(registry: ServedRegistry, argv: list[str]) -> None:
    code, out = consign(*argv, "--registry", registry.url)
    assert code == ExitCode.USAGE, out
    assert "is not a version: give a number (1, 2, ...) or 'latest'" in out


@pytest.mark.parametrize("url", ["127.0.0.1:9090", "registry.example", "ftp://h/", "http://"])
def test_a_registry_url_without_http_is_a_usage_error_before_any_request(url: str) -> None:
    with requests_mock.Mocker() as m:  # any request would fail the test: none is registered
        code, out = consign("versions", "Shop", "Dev", "--registry", url)
        assert m.call_count == 0
    assert code == ExitCode.USAGE, out
    assert "Invalid value for '--registry'" in out and "No connection adapters" not in out


def test_an_unreachable_registry_is_one_line_naming_the_url_and_what_to_check() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    code, out = consign("versions", APP, REL, "--registry", url)
    assert code == ExitCode.REGISTRY_UNREACHABLE
    assert _error_line(out) == (
        f"error: registry: cannot reach the registry at {url}: connection refused (nothing "
        "listens there); check the URL (--registry, CONSIGN_REGISTRY) and that the registry "
        "runs there"
    )
    code, out = consign("show", APP, REL, "1", "--registry", "http://no-such-host.invalid")
    assert "its host name does not resolve" in _error_line(out)
    assert "HTTPConnectionPool" not in out and "Max retries" not in out


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
        m.get(f"{base}/api/applications/A/releases", json={"releases": ["R"]})
        code, out = consign("versions", "A", "R", "--registry", base, "--token", "t0k")
        assert code == ExitCode.OK and "[incomplete: plex → bittorrent-sync-data]" in out
        assert m.last_request.headers["Authorization"] == "Bearer t0k"
        code, out = consign("show", "A", "R", "4", "--registry", base)
        assert "state: incomplete: plex → bittorrent-sync-data" in out
        assert "warning: plex refers to bittorrent-sync-data" in out


def test_a_refused_token_and_an_impostor_are_one_line_saying_what_to_check() -> None:
    base = "http://registry.test"
    with requests_mock.Mocker() as m:
        m.get(
            f"{base}/api/applications/A/releases/R/versions",
            status_code=401,
            json={"error": "unauthorized", "message": "a read token is needed"},
        )
        code, out = consign("versions", "A", "R", "--registry", base)
        assert code == ExitCode.REGISTRY_UNREACHABLE
        assert out.strip() == (
            f"error: registry: the registry at {base} refused access (HTTP 401: a read token "
            "is needed); check the token (--token, CONSIGN_TOKEN)"
        )
        m.get(f"{base}/api/applications/A/releases/R/versions/1", text="<html>hello</html>")
        code, out = consign("show", "A", "R", "1", "--registry", base)
        assert code == ExitCode.REGISTRY_UNREACHABLE
        assert "did not answer JSON: is http://registry.test a Consignment registry?" in out
