"""The labels override and the report (table, log lines, JSON) without an engine."""

from __future__ import annotations

import io
import json
from pathlib import Path

from deployer.deploy import labels as lb
from deployer.deploy import record
from deployer.deploy.outcome import Outcome
from deployer.deploy.sources import Descriptor
from deployer.progress import Progress, label
from deployer.report import render, write_json
from deployer.verdicts import ServiceVerdict, Verdict


def test_each_service_carries_only_its_own_component_build_and_fragment(
    tmp_path: Path,
) -> None:
    components = [
        {"name": "front", "sha256": "aa", "build": {"n": 1}, "services": ["web", "proxy"]},
        {"name": "back", "sha256": "bb", "build": {"n": 7}, "services": ["db"]},
    ]
    d = Descriptor("x", "git", "/srv/reg.git", "TLO GE", "Milestone", "3", "c0ffee", {}, components)
    labels = {name: lb.service_labels(d, name) for name in ("web", "db", "loose")}
    assert labels["web"] == {
        "io.consignment.component": "front",
        "io.consignment.build": '{"n":1}',
        "io.consignment.fragment": "aa",
    }
    assert labels["db"]["io.consignment.component"] == "back"
    assert labels["loose"] == {}  # a service no component claims: nothing to say
    # nothing project-wide on a container: a new version number changes no label
    newer = Descriptor("x", "git", "/elsewhere", "TLO GE", "Milestone", "4", "beef", {}, components)
    assert lb.service_labels(newer, "web") == labels["web"]
    path = lb.write_override(tmp_path, ["web", "db"], labels)
    body = json.loads(path.read_text())
    assert body["services"]["web"]["labels"] == labels["web"]
    first = path.read_bytes()
    assert lb.write_override(tmp_path, ["web", "db"], labels).read_bytes() == first
    assert lb.service_origin(labels["db"]) == {
        "component": "back",
        "build": {"n": 7},
        "fragment": "bb",
    }
    assert lb.service_origin({}) is None


def test_the_project_record_holds_the_version_and_reads_back() -> None:
    d = Descriptor("x", "registry", "http://r", "A", "B", "5", "c1", {"web": {"n": 2}})
    labels = record.record_labels(d, "p")
    found = record.Deployed.from_labels("p", labels)
    assert (found.version, found.commit, found.source, found.registry) == (
        "5",
        "c1",
        "registry",
        "http://r",
    )
    assert found.builds == {"web": {"n": 2}}


def sv(name: str, verdict: Verdict, code: int | None = None, detail: str = "") -> ServiceVerdict:
    return ServiceVerdict(name, verdict, code, detail, 1.25, [f"p-{name}-1"])


def test_labels_read_as_people_say_them() -> None:
    assert label(sv("a", Verdict.EXITED, 3)) == "exited(3)"
    assert label(sv("a", Verdict.CRASH_LOOPING)) == "crash-looping"
    assert label(sv("a", Verdict.NOT_CREATED)) == "not created"


def test_plain_progress_prints_one_timestamped_line_per_change() -> None:
    out = io.StringIO()
    with Progress("p A/R v1", out, tty=False) as progress:
        progress({"web": sv("web", Verdict.PENDING, detail="starting")})
        progress({"web": sv("web", Verdict.PENDING, detail="starting")})
        progress({"web": sv("web", Verdict.UNHEALTHY, detail="check failed")})
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].endswith("p A/R v1: web pending 1.2s (starting)")
    assert lines[1].endswith("web unhealthy 1.2s (check failed)") and lines[1][:4].isdigit()


def test_live_table_on_a_terminal_renders() -> None:
    out = io.StringIO()
    with Progress("p", out, tty=True) as progress:
        progress({"web": sv("web", Verdict.HEALTHY)})
    assert "healthy" in out.getvalue()


def test_final_report_and_json(tmp_path: Path) -> None:
    outcome = Outcome("A", "R", "2", "registry", "http://r", "abc", "p")
    outcome.verdicts = {
        "web": sv("web", Verdict.UNHEALTHY, detail="x"),
        "db": sv("db", Verdict.HEALTHY),
    }
    outcome.logs = {"web": "line 1\nline 2\n"}
    back = Outcome("A", "R", "1", "registry", "http://r", "def", "p")
    back.verdicts = {"web": sv("web", Verdict.HEALTHY)}
    out = io.StringIO()
    render(outcome, "deploy p", out)
    text = out.getvalue()
    assert "unhealthy" in text and "--- last log lines of web ---" in text and "line 2" in text
    path = tmp_path / "r.json"
    write_json(path, outcome, back, 1)
    doc = json.loads(path.read_text())
    assert doc["exit_code"] == 1 and doc["ok"] is False and doc["commit"] == "abc"
    assert doc["verdicts"]["web"]["verdict"] == "unhealthy" and doc["logs"]["web"].endswith(
        "line 2\n"
    )
    assert doc["rollback"]["version"] == "1" and doc["rollback"]["ok"] is True
    assert outcome.what == "A/R v2"


def test_the_headline_says_verified_as_the_ledger_does() -> None:
    from deployer.verification.rules import TestResult, TestVerdict, Verification

    def headline(verification: Verification | None, web: Verdict = Verdict.HEALTHY) -> str:
        outcome = Outcome("A", "R", "4", "registry", "http://r", "abc", "p")
        outcome.verdicts = {"web": sv("web", web)}
        outcome.verification = verification
        out = io.StringIO()
        render(outcome, "deploy p: A/R v4", out)
        return out.getvalue().splitlines()[0]

    passed = Verification.of([TestResult("smoke", TestVerdict.PASSED, 0)])
    assert headline(passed) == "deploy p: A/R v4 OK, verified"
    assert headline(Verification.skipped()) == "deploy p: A/R v4 OK, verification skipped"
    assert headline(None) == "deploy p: A/R v4 OK"
    assert headline(passed, Verdict.UNHEALTHY).startswith("deploy p: A/R v4 FAILED")
