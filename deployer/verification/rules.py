"""The verification's rules, pure (unit-tested on recorded inputs): a test's verdict from
how its container ended, the verification's status from its tests, the ledger's outcome
word, and :class:`TestsWatch`, the wait for every test to exit within ``--verify-timeout``.

A test ``passed`` (exit 0), ``failed`` (any other exit code, or it could not be started:
exit code None) or ``timed_out`` (still running at the deadline: it is stopped, its logs
kept). One failed test fails the verification; else one timed out times it out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from deployer.verdicts import ServiceVerdict, Verdict

#: How many of a test's last log lines are kept, and the registry's limit on them (bytes of
#: UTF-8, registry/http/parsing/verification.py): the end of the logs is kept.
LOG_LINES = 50
MAX_LOG_BYTES = 4000
#: The Compose profile whose services are the verification.
PROFILE = "verify"


class TestVerdict(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    TIMED_OUT = "timed_out"


class Status(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    #: declared, not run (``--skip-verify``)
    SKIPPED = "skipped"


@dataclass(frozen=True)
class TestResult:
    """One verification service's verdict."""

    service: str
    verdict: TestVerdict
    exit_code: int | None
    logs: str = ""
    seconds: float = 0.0
    #: why it failed beyond its exit code (could not start), shown in the report
    detail: str = ""

    @property
    def label(self) -> str:
        """``passed``, ``failed(3)``, ``timed out``: as the report and the table say it."""
        if self.verdict is TestVerdict.FAILED and self.exit_code is not None:
            return f"failed({self.exit_code})"
        return self.verdict.value.replace("_", " ")

    def as_json(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "verdict": self.verdict.value,
            "exit_code": self.exit_code,
            "logs": tail_bytes(self.logs, MAX_LOG_BYTES),
        }


@dataclass(frozen=True)
class Verification:
    """The verification of one deploy (or of what runs, ``consign verify``)."""

    status: Status
    tests: tuple[TestResult, ...] = ()

    @classmethod
    def of(cls, tests: Iterable[TestResult]) -> Verification:
        found = tuple(tests)
        return cls(status_of(t.verdict for t in found), found)

    @classmethod
    def skipped(cls) -> Verification:
        return cls(Status.SKIPPED)

    @property
    def failed(self) -> bool:
        return self.status in (Status.FAILED, Status.TIMED_OUT)

    @property
    def outcome(self) -> str | None:
        """The ledger's outcome word for a healthy deploy with this verification (None:
        ``ok``, the verification was skipped)."""
        if self.status is Status.PASSED:
            return "verified"
        if self.failed:
            return "verification_failed"
        return None

    def failing(self) -> list[TestResult]:
        return [t for t in self.tests if t.verdict is not TestVerdict.PASSED]

    def summary(self) -> str:
        """``verification failed: smoke failed(1), api-test timed out``, or
        ``verification passed (2 tests)``."""
        if self.status is Status.SKIPPED:
            return "verification skipped (--skip-verify)"
        bad = self.failing()
        if not bad:
            return f"verification passed ({len(self.tests)} test{'s' * (len(self.tests) != 1)})"
        words = ", ".join(f"{t.service} {t.label}" for t in bad)
        return f"verification {self.status.value.replace('_', ' ')}: {words}"

    def as_json(self) -> dict[str, Any]:
        """The ledger's and the --report's ``verification`` object (the shared contract)."""
        return {"status": self.status.value, "tests": [t.as_json() for t in self.tests]}


def status_of(verdicts: Iterable[TestVerdict]) -> Status:
    seen = set(verdicts)
    if TestVerdict.FAILED in seen:
        return Status.FAILED
    if TestVerdict.TIMED_OUT in seen:
        return Status.TIMED_OUT
    return Status.PASSED


def verdict_of(exit_code: int | None) -> TestVerdict:
    """An exited test's verdict (None: it never ran, a failure)."""
    return TestVerdict.PASSED if exit_code == 0 else TestVerdict.FAILED


def tail_bytes(text: str, limit: int) -> str:
    """The end of ``text`` in at most ``limit`` bytes of UTF-8, never inside a character
    (a test's last lines say why it failed)."""
    encoded = text.encode("utf-8", "surrogatepass")
    if len(encoded) <= limit:
        return text
    return encoded[len(encoded) - limit :].decode("utf-8", "ignore")


def last_lines(text: str, lines: int = LOG_LINES) -> str:
    return "\n".join(text.rstrip("\n").splitlines()[-lines:])


def verification_services(model: dict[str, Any]) -> list[str]:
    """The verification services of a resolved model (``config --profile verify``)."""
    return [name for name, spec in model.items() if PROFILE in (spec.get("profiles") or [])]


@dataclass(frozen=True)
class LookAtTest:
    """One look at a test's containers: Docker's state (``created``, ``running``,
    ``exited``, ...) and exit code of each, at monotonic time ``t``."""

    service: str
    states: Sequence[tuple[str, int]]
    t: float


@dataclass
class TestsWatch:
    """The wait for every test to exit: a test is done when all its containers exited
    (its exit code: the first non-zero one, else 0); at ``started + timeout`` those still
    running are due to be stopped and are ``timed_out``. A test whose containers are gone
    before they were seen to exit (removed by someone else) failed."""

    services: Sequence[str]
    started: float
    timeout: float
    results: dict[str, tuple[TestVerdict, int | None, float, str]] = field(default_factory=dict)

    def observe(self, seen: LookAtTest) -> None:
        if seen.service in self.results:
            return
        took = seen.t - self.started
        if not seen.states:
            self.results[seen.service] = (TestVerdict.FAILED, None, took, "its container is gone")
            return
        if any(state != "exited" and state != "dead" for state, _ in seen.states):
            return
        codes = [code for _, code in seen.states]
        code = next((c for c in codes if c != 0), 0)
        self.results[seen.service] = (verdict_of(code), code, took, "")

    def pending(self) -> list[str]:
        return [s for s in self.services if s not in self.results]

    def overdue(self, now: float) -> list[str]:
        """The tests still running at the deadline: the caller stops them, then calls
        :meth:`timed_out` with them."""
        return self.pending() if now >= self.started + self.timeout else []

    def timed_out(self, services: Iterable[str], now: float) -> None:
        for s in services:
            self.results.setdefault(s, (TestVerdict.TIMED_OUT, None, now - self.started, ""))

    @property
    def finished(self) -> bool:
        return not self.pending()

    def result(self, service: str, logs: str) -> TestResult:
        verdict, code, took, detail = self.results[service]
        return TestResult(service, verdict, code, logs, took, detail)


def outcome_word(
    verdicts: Mapping[str, ServiceVerdict],
    rolled_back_to: int | None,
    verification: Verification | None = None,
) -> str:
    """A deploy's outcome, the way its exit code is decided (the ledger's and the JSON
    report's word): ``verification_failed`` when every service was ok but a test was not
    (``rolled_back_to`` says whether it was rolled back), ``verified`` when they all passed
    too, else ``ok`` / ``rolled_back`` / ``timed_out`` / ``failed`` from the verdicts."""
    healthy = all(sv.verdict.ok for sv in verdicts.values())
    if healthy and verification is not None and verification.failed:
        return "verification_failed"
    if rolled_back_to is not None:
        return "rolled_back"
    if healthy:
        word = verification.outcome if verification is not None else None
        return word or "ok"
    bad = [sv for sv in verdicts.values() if not sv.verdict.ok]
    return "timed_out" if all(sv.verdict is Verdict.TIMED_OUT for sv in bad) else "failed"
