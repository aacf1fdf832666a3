"""What a set of service verdicts amounts to: the exit code and a cause-first summary."""

from __future__ import annotations

from collections.abc import Mapping

from consign.exit_codes import ExitCode
from deployer.verdicts.vocabulary import ServiceVerdict, Verdict


def exit_code(verdicts: Mapping[str, ServiceVerdict]) -> ExitCode:
    bad = [sv.verdict for sv in verdicts.values() if not sv.verdict.ok]
    if not bad:
        return ExitCode.OK
    if all(v == Verdict.TIMED_OUT for v in bad):
        return ExitCode.TIMEOUT
    return ExitCode.FAILED


def cause_first(verdicts: Mapping[str, ServiceVerdict]) -> list[ServiceVerdict]:
    """Services in the order a reader needs them: causes, then blocked, then the rest."""

    def rank(sv: ServiceVerdict) -> int:
        if sv.verdict.cause:
            return 0
        return 1 if sv.verdict.failed else 2

    return sorted(verdicts.values(), key=rank)


def summary(verdicts: Mapping[str, ServiceVerdict]) -> str:
    """One line naming the cause first: ``api crash-looping (exit 3); blocked: web``."""
    causes = [sv for sv in verdicts.values() if sv.verdict.cause]
    blocked = [sv.service for sv in verdicts.values() if sv.verdict == Verdict.BLOCKED]
    parts = []
    for sv in causes:
        code = f" (exit {sv.exit_code})" if sv.exit_code not in (None, 0) else ""
        parts.append(f"{sv.service} {sv.verdict.value}{code}")
    if blocked:
        parts.append("blocked: " + ", ".join(blocked))
    return "; ".join(parts)
