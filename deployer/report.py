"""What the deployer tells people: progress, the final table, failed services' logs, JSON
(of an :class:`~deployer.deploy.outcome.Outcome`, which the deploy room owns).

On a terminal progress is a live table (rich); in a CI or Rundeck log it is one plain
timestamped line per change of a service's verdict, which reads well in a log file.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console

from consign.secrets.masker import Masker
from deployer.deploy.outcome import Outcome
from deployer.progress import label, verdict_table
from deployer.verdicts.summary import cause_first, summary
from deployer.verification.rules import Status, Verification, outcome_word


def outcome_json(outcome: Outcome) -> dict[str, Any]:
    """An attempt as the JSON report says it."""
    return {
        "application": outcome.application,
        "release": outcome.release,
        "version": outcome.version,
        "source": outcome.source,
        "location": outcome.location,
        "commit": outcome.commit,
        "project": outcome.project,
        "ok": outcome.ok,
        "error": outcome.error,
        "verdicts": {
            name: {
                "verdict": sv.verdict.value,
                "label": label(sv),
                "exit_code": sv.exit_code,
                "detail": sv.detail,
                "seconds": round(sv.seconds, 3),
                "containers": sv.containers,
            }
            for name, sv in outcome.verdicts.items()
        },
        "summary": summary(outcome.verdicts),
        "logs": outcome.logs,
        "image_mismatches": outcome.image_mismatches,
        "verification": (
            outcome.verification.as_json() if outcome.verification is not None else None
        ),
        "timeline": {
            "failure_certain": _iso(outcome.failure_certain),
            "rollback_started": _iso(outcome.rollback_started),
        },
    }


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")


def render(
    outcome: Outcome,
    title: str,
    out: TextIO | None = None,
    *,
    shown: Mapping[str, str] | None = None,
    mask: Callable[[str], str] | None = None,
) -> dict[str, str]:
    """The phase's one headline (``TITLE OK`` or ``TITLE FAILED: cause; error``), the
    image warnings, the final table, then the last log lines of every failed service.

    ``shown``: the logs an earlier phase printed (the deploy's, for the rollback): lines
    printed there are not printed again (a rollback that left a failing container alone
    reads the same tail). Returns the logs this phase printed, for the next one."""
    outcome.wait_logs()
    out = out or sys.stdout
    console = Console(file=out, width=max(100, Console(file=out).width), soft_wrap=True)

    def say(line: str) -> None:
        console.print(line, markup=False, highlight=False)

    why = "; ".join(w for w in (summary(outcome.verdicts), outcome.error or "") if w)
    say(f"{title} {result_word(outcome)}" + (f": {why}" if why else ""))
    for service, mismatch in outcome.image_mismatches.items():
        say(f"WARNING: {outcome.project}: service {service} {mismatch}")
    if outcome.verdicts:
        console.print(verdict_table("", outcome.verdicts, mask))
    printed: dict[str, str] = {}
    for name in [sv.service for sv in cause_first(outcome.verdicts)]:
        if name not in outcome.logs:
            continue
        text = outcome.logs[name].rstrip() or "(no output)"
        printed[name] = text
        before = (shown or {}).get(name)
        fresh = new_lines(before, text) if before is not None else text.splitlines()
        if not fresh:
            say(f"--- last log lines of {name}: the same as above ---")
            continue
        seen = len(text.splitlines()) - len(fresh)
        tail = f" (after the {seen} shown above)" if seen else ""
        say(f"--- last log lines of {name}{tail} ---")
        say("\n".join(fresh))
    if outcome.verification is not None:
        for line in verification_lines(outcome.verification):
            say(line)
    return printed


def result_word(outcome: Outcome) -> str:
    """The headline's word, as the ledger says it: ``OK, verified`` when every verification
    test passed, ``OK, verification skipped`` (--skip-verify), ``OK`` with none declared,
    else ``FAILED``."""
    if not outcome.ok:
        return "FAILED"
    status = outcome.verification.status if outcome.verification is not None else None
    if status is Status.PASSED:
        return "OK, verified"
    if status is Status.SKIPPED:
        return "OK, verification skipped"
    return "OK"


def verification_lines(verification: Verification) -> list[str]:
    """The verification's line, one line per test, and the last log lines of each test
    that did not pass (deploy's report and ``consign verify``)."""
    lines = [verification.summary()]
    lines += [f"  {t.service}: {t.label} ({t.seconds:.1f}s)" for t in verification.tests]
    for t in verification.failing():
        lines.append(f"--- last log lines of verification test {t.service} ({t.label}) ---")
        lines.append(t.logs.rstrip() or "(no output)")
    return lines


def new_lines(before: str, text: str) -> list[str]:
    """The lines of ``text`` after its longest leading run that ``before`` holds as a run
    (the log tail an earlier phase printed): [] when all of it was printed."""
    old, lines = before.splitlines(), text.splitlines()
    for k in range(len(lines), 0, -1):
        head = lines[:k]
        if any(old[i : i + k] == head for i in range(len(old) - k + 1)):
            return lines[k:]
    return lines


def write_json(
    path: str | Path,
    deploy: Outcome,
    rollback: Outcome | None,
    code: int,
    masker: Masker | None = None,
) -> None:
    """The ``--report`` JSON; every string through ``masker`` (the deploy's secret values)."""
    deploy.wait_logs()
    if rollback is not None:
        rollback.wait_logs()
    to = None  # the version a healthy rollback left running (as the ledger records it)
    if rollback is not None and rollback.ok and rollback.verdicts:
        number = rollback.version or ""
        to = int(number) if number.isdigit() else None
    word = outcome_word(deploy.verdicts, to, deploy.verification) if deploy.verdicts else "failed"
    doc = {
        **outcome_json(deploy),
        "outcome": word,
        "rollback": outcome_json(rollback) if rollback is not None else None,
        "exit_code": code,
    }
    if masker is not None:
        doc = masker.tree(doc)
    Path(path).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
