"""The labels override and the report (table, log lines, JSON) without an engine."""

from __future__ import annotations

import io
import json
from pathlib import Path
from types import SimpleNamespace

from deployer import labels as lb
from deployer.report import Outcome, Progress, label, render, write_json
from deployer.sources import Descriptor
from deployer.verdicts import ServiceVerdict, Verdict


def test_override_labels_every_service_and_is_deterministic(tmp_path: Path) -> None:
    d = Descriptor(
        "x", "git", "/srv/reg.git", "TLO GE", "Milestone", "3", "c0ffee", {"web": {"n": 1}}
    )
    labels = lb.labels_for(d)
    assert labels == {
        "io.consignment.application": "TLO GE",
        "io.consignment.release": "Milestone",
        "io.consignment.version": "3",
        "io.consignment.registry": "/srv/reg.git",
        "io.consignment.commit": "c0ffee",
        "io.consignment.source": "git",
        "io.consignment.builds": '{"web":{"n":1}}',
    }
    path = lb.write_override(tmp_path, ["web", "db"], labels)
    body = json.loads(path.read_text())
    assert set(body["services"]) == {"web", "db"}
    assert all(s["labels"] == labels for s in body["services"].values())
    first = path.read_bytes()
    assert lb.write_override(tmp_path, ["web", "db"], labels).read_bytes() == first


def test_deployed_is_read_from_the_newest_labelled_container() -> None:
    old = SimpleNamespace(
        labels={lb.VERSION: "1", lb.APPLICATION: "A"}, attrs={"Created": "2026-01-01"}
    )
    new = SimpleNamespace(
        labels={lb.VERSION: "2", lb.APPLICATION: "A"}, attrs={"Created": "2026-02-01"}
    )
    bare = SimpleNamespace(labels={}, attrs={"Created": "2026-03-01"})
    found = lb.deployed_in([old, new, bare], "p")
    assert found is not None and (found.version, found.application, found.project) == (
        "2",
        "A",
        "p",
    )
    assert lb.deployed_in([bare], "p") is None


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
