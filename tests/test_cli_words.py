"""How the commands word things, without a registry or an engine: the one value formatter,
did-you-mean, the registry URL rules and unreachable messages, the VERSION argument, the
gate's words, the status headline and the report's once-per-phase logs. (The same
through a real registry and engine: tests/deployer/test_versions.py, test_cli.py,
test_status.py, test_deploy_scenarios.py.)"""

from __future__ import annotations

import io
import socket

import click
import pytest
import requests

from consign.registry_url import RegistryURL, problem, unreachable
from consign.suggest import close_names, did_you_mean
from consign.values import pairs, scalar
from consign.version_arg import VERSION
from deployer import gate_words as words
from deployer.deploy.outcome import Outcome
from deployer.deploy.record import Deployed
from deployer.report import new_lines, render
from deployer.status import ProjectStatus
from deployer.status_text import as_text, headline
from deployer.verdicts import ServiceVerdict, Verdict


def test_values_are_sorted_dotted_and_never_python_reprs() -> None:
    build = {
        "planKey": "TLO-WEB",
        "images": {"worker": {"ref": "busybox:latest", "id": "sha256:ab"}},
        "buildNumber": 42,
        "note": "two words",
        "ok": True,
        "tags": ["a", "b"],
        "empty": {},
        "none": None,
    }
    assert pairs(build) == (
        "buildNumber=42 empty={} images.worker.id=sha256:ab images.worker.ref=busybox:latest "
        'none=- note="two words" ok=yes planKey=TLO-WEB tags=a,b'
    )
    assert pairs(dict(reversed(build.items()))) == pairs(build)  # stable whatever the order
    assert pairs({}) == "-" and pairs(None) == "-"
    assert scalar("a=b") == '"a=b"' and scalar("") == '""' and scalar(1.5) == "1.5"
    assert "{'" not in pairs(build) and "[" not in pairs(build)


def test_did_you_mean() -> None:
    known = ["Shop", "Shops", "TLO GE", "Warehouse"]
    assert did_you_mean("Shopp", known) == " (did you mean Shop or Shops?)"
    assert did_you_mean("tlo ge", known) == " (did you mean TLO GE?)"
    assert did_you_mean("Zzz", known) == ""
    assert close_names("shop", ["Shop", "SHOP", "Ship"])[:2] == ["Shop", "SHOP"]
    assert did_you_mean("Shop", ["Shop"]) == ""  # never the name itself


@pytest.mark.parametrize(
    ("url", "why"),
    [
        (
            "localhost:9090",
            "'localhost:9090' is not an http:// or https:// URL (e.g. http://localhost:9090)",
        ),
        ("registry.example", "is not an http:// or https:// URL (e.g. http://registry.example)"),
        ("ftp://h/x", "is not an http:// or https:// URL"),
        ("http://", "names no host"),
        ("http://h:0", "names no host"),
        ("http://[::1", "is not a URL"),
        ("http://h/?x=1", "has a query or fragment"),
        ("", "is not an http:// or https:// URL"),
    ],
)
def test_registry_urls_that_cannot_be(url: str, why: str) -> None:
    said = problem(url)
    assert said is not None and why in said
    with pytest.raises(click.BadParameter, match="check --registry or CONSIGN_REGISTRY"):
        RegistryURL().convert(url, None, None)


def test_registry_urls_that_can_be() -> None:
    for url in ("http://127.0.0.1:9090", "https://reg.example/prefix/", " http://[::1]:80 "):
        assert problem(url) is None
    assert RegistryURL().convert("http://r:9090/", None, None) == "http://r:9090"


def _error(url: str) -> requests.RequestException:
    try:
        requests.get(url, timeout=2)
    except requests.RequestException as e:
        return e
    raise AssertionError(f"{url} answered")


def test_unreachable_says_what_in_words_not_urllib3s_reprs() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: refused
        refused = unreachable(f"http://127.0.0.1:{port}/", _error(f"http://127.0.0.1:{port}/x"))
    assert refused == (
        f"cannot reach the registry at http://127.0.0.1:{port}: connection refused (nothing "
        "listens there); check the URL (--registry, CONSIGN_REGISTRY) and that the registry "
        "runs there"
    )
    unknown = unreachable("http://no-such-host.invalid", _error("http://no-such-host.invalid"))
    assert "its host name does not resolve" in unknown
    slow = unreachable("http://r", requests.exceptions.ReadTimeout("read timed out"), 30)
    assert "no answer within 30s" in slow
    for line in (refused, unknown):
        assert "HTTPConnectionPool" not in line and "Max retries" not in line


@pytest.mark.parametrize("good", ["1", "42", "latest", "007"])
def test_version_arguments(good: str) -> None:
    assert VERSION.convert(good, None, None) == str(int(good)) if good != "latest" else "latest"


@pytest.mark.parametrize("bad", ["abc", "0", "1.5", "v1", "", "LATEST", "\u0661"])
def test_bad_version_arguments_are_usage_errors(bad: str) -> None:
    with pytest.raises(click.BadParameter, match="is not a version"):
        VERSION.convert(bad, None, None)


def test_builds_before_and_after() -> None:
    b101 = {"planKey": "TLO-WEB", "buildNumber": "101"}
    b102 = {"planKey": "TLO-WEB", "buildNumber": "102"}
    assert words.build_change(b101, b102) == "TLO-WEB #101 → #102"
    assert words.build_change(b101, b101) == "TLO-WEB #101 (same build)"
    assert words.build_change({}, b102) == "- → TLO-WEB #102"
    other = {"planKey": "TLO-API", "buildNumber": "7"}
    assert words.build_change(b101, other) == "TLO-WEB #101 → TLO-API #7"
    assert words.build_details(b101) == "TLO-WEB #101 (buildNumber=101 planKey=TLO-WEB)"


def test_gate_words() -> None:
    needs = words.Needs.from_policies(
        "Dev",
        {
            "QA": {"approvals": 2, "from_releases": ["Dev"]},
            "Prod": {"approvals": 3, "from_releases": ["QA"]},  # not from Dev
            "Stage": {"approvals": 1, "from_releases": []},  # from anywhere
            "Dev": {"approvals": 5},  # its own
            "Other": None,
        },
    )
    assert needs.by_release == {"QA": 2, "Stage": 1}
    v = {
        "rejected": {"by": "alice", "identity": None, "reason": "broken\nlogin", "at": "T"},
        "approvals": [{"by": "bob", "identity": "bob@x"}],
        "promoted_from": {"application": "Shop", "release": "Dev", "version": 3},
        "promoted_by": {"by": "erin"},
        "state": "ok",
        "state_reason": "",
    }
    assert words.standing(v, needs) == [
        "rejected by alice: broken login",
        "approved 1 of 2 for QA, 1 for Stage (bob@x)",
        "promoted from Shop/Dev v3 by erin",
    ]
    assert words.standing({"state": "ok"}, needs) == ["ok"]
    assert words.standing({}, needs) == []  # an older registry says nothing
    assert words.approvals({}, needs) == "approvals 0 of 2 for QA, 1 for Stage"
    assert words.approvals({}, words.Needs()) == ""


def _sv(name: str, verdict: Verdict, code: int | None = None) -> ServiceVerdict:
    return ServiceVerdict(name, verdict, code, "", 1.0, [])


def _status(verdicts: dict[str, Verdict], origins: dict[str, str] | None = None) -> ProjectStatus:
    builds = {"web": {"planKey": "P-WEB", "buildNumber": "2"}, "db": {"planKey": "P-DB"}}
    deployed = Deployed("shop", "Shop", "Dev", "2", "c0", "registry", "http://r", builds)
    p = ProjectStatus(
        deployed, {n: _sv(n, v, 1 if v == Verdict.EXITED else None) for n, v in verdicts.items()}
    )
    for service, component in (origins or {}).items():
        number = "1" if service == "old" else "2"
        build = {"planKey": f"P-{component.upper()}", "buildNumber": number}
        p.origins[service] = {"component": component, "build": build, "fragment": ""}
    return p


def test_status_headlines_in_words() -> None:
    ok = _status({"web": Verdict.HEALTHY, "once": Verdict.COMPLETED}, {"web": "web"})
    assert headline(ok) == "shop: Shop/Dev v2 running"
    failed = _status({"web": Verdict.UNHEALTHY, "api": Verdict.BLOCKED})
    assert headline(failed) == "shop: Shop/Dev v2 failed: web unhealthy; blocked: api"
    assert headline(_status({})) == "shop: Shop/Dev v2 not running (no containers)"
    stopped = _status({"web": Verdict.EXITED, "once": Verdict.COMPLETED})
    assert headline(stopped) == "shop: Shop/Dev v2 not running: web exited (exit 1)"
    partly = _status({"web": Verdict.HEALTHY, "old": Verdict.RUNNING}, {"web": "web", "old": "web"})
    assert headline(partly) == "shop: Shop/Dev partly at v2 (old not at it) running"
    text = as_text([partly])
    assert "  commit c0  builds: db P-DB, web P-WEB #2\n" in text
    assert "[web P-WEB #1; at P-WEB #1, not v2's P-WEB #2]" in text
    assert "{'" not in text


def test_rollback_prints_only_the_log_lines_the_deploy_did_not() -> None:
    assert new_lines("a\nb\nc\ncheck", "b\nc\nd\ncheck2") == ["d", "check2"]
    assert new_lines("a\nb", "a\nb") == []
    assert new_lines("a\nb", "x\ny") == ["x", "y"]
    deploy = Outcome("A", "R", "2", "registry", "http://r", "c", "p")
    deploy.verdicts = {"web": _sv("web", Verdict.UNHEALTHY), "db": _sv("db", Verdict.HEALTHY)}
    deploy.logs = {"web": "one\ntwo\n"}
    out = io.StringIO()
    shown = render(deploy, "deploy p: A/R v2", out)
    first = out.getvalue()
    assert first.startswith("deploy p: A/R v2 FAILED: web unhealthy\n")
    assert first.count("FAILED") == 1 and first.count("one\ntwo") == 1
    back = Outcome("A", "R", "1", "registry", "http://r", "c", "p")
    back.verdicts = {"web": _sv("web", Verdict.UNHEALTHY)}
    back.logs = {"web": "two\nthree"}
    back.fail("rollback failed: lost")
    out = io.StringIO()
    render(back, "rollback p: A/R v1", out, shown=shown)
    second = out.getvalue()
    assert second.startswith("rollback p: A/R v1 FAILED: web unhealthy; rollback failed: lost\n")
    assert second.count("FAILED") == 1 and "one" not in second and "two" not in second
    assert "--- last log lines of web (after the 1 shown above) ---\nthree" in second
    back.logs = {"web": "one\ntwo"}
    out = io.StringIO()
    render(back, "rollback p: A/R v1", out, shown=shown)
    assert "--- last log lines of web: the same as above ---" in out.getvalue()
    ok = Outcome("A", "R", "1", "registry", "http://r", "c", "p")
    ok.verdicts = {"web": _sv("web", Verdict.HEALTHY)}
    out = io.StringIO()
    render(ok, "deploy p: A/R v1", out)
    assert out.getvalue().startswith("deploy p: A/R v1 OK\n") and "FAILED" not in out.getvalue()
