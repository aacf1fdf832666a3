"""A deployment record's ``verification`` object (issue 23): the verdicts of the
descriptor's verification services (Compose profile ``verify``), parsed and bounded.

``{"status": "passed"|"failed"|"timed_out"|"skipped", "tests": [{"service", "verdict":
"passed"|"failed"|"timed_out", "exit_code": int|null, "logs": text}]}``. The status must
follow from the tests (one failed test fails it; else one timed out times it out; else
passed) and agree with the record's outcome: ``verified`` is a passed verification (a
passed one may also end ``rolled_back``, when a later check failed), ``verification_failed``
a failed or timed-out one; any other outcome carries none, or a ``skipped`` one
(``--skip-verify``). A record may leave it out (the shared contract: absent = not said;
the deployer always sends it with these outcomes).
"""

from __future__ import annotations

from typing import Any

from registry.http.parsing.fields import check_fields, fail, text, whole_number

STATUSES = ("passed", "failed", "timed_out", "skipped")
VERDICTS = ("passed", "failed", "timed_out")
TEST_FIELDS = ("service", "verdict", "exit_code", "logs")
MAX_TESTS = 200
#: Bytes of UTF-8: a service name, and a test's log excerpt (its last lines).
MAX_NAME = 200
MAX_LOGS = 4000
#: Exit codes as the engine reports them (a signed 32-bit integer).
LOW_CODE, HIGH_CODE = -(2**31), 2**31 - 1
#: The outcome each status goes with.
OUTCOMES = {
    "passed": "verified",
    "failed": "verification_failed",
    "timed_out": "verification_failed",
}


def status_of(verdicts: list[str]) -> str:
    """The verification's status from its tests' verdicts (the deployer's rule)."""
    if "failed" in verdicts:
        return "failed"
    if "timed_out" in verdicts:
        return "timed_out"
    return "passed"


def _test(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise fail(f"{where} must be a JSON object", where)
    check_fields(value, ("service", "verdict"), ("exit_code", "logs"), prefix=f"{where}.")
    verdict = value["verdict"]
    if verdict not in VERDICTS:
        raise fail(f"{where}.verdict must be one of {', '.join(VERDICTS)}, not {verdict!r}",
                   f"{where}.verdict")  # fmt: skip
    code = value.get("exit_code")
    if code is not None:
        code = whole_number(code, f"{where}.exit_code", low=LOW_CODE, high=HIGH_CODE,
                            meaning="a whole number (the test's exit code) or null")  # fmt: skip
    if verdict == "passed" and code != 0:
        raise fail(f"{where}: a passed test exited 0, not {code!r}", f"{where}.exit_code")
    if verdict == "failed" and code == 0:  # null: it could not be started
        raise fail(f"{where}: a failed test did not exit 0", f"{where}.exit_code")
    return {
        "service": text(value["service"], f"{where}.service", limit=MAX_NAME, one_line=True),
        "verdict": verdict,
        "exit_code": code,
        "logs": text(value.get("logs", ""), f"{where}.logs", limit=MAX_LOGS, blank=True),
    }


def parse_verification(value: Any, kind: str, outcome: str) -> dict[str, Any] | None:
    """The record's verification (None when absent), checked against its ``outcome``
    (``kind``: the record's, for the messages)."""
    if value is None:  # not said (the outcome alone is the verdict, as the contract allows)
        return None
    if not isinstance(value, dict):
        raise fail("verification must be a JSON object", "verification")
    check_fields(value, ("status",), ("tests",), prefix="verification.")
    status = value["status"]
    if status not in STATUSES:
        raise fail(f"verification.status must be one of {', '.join(STATUSES)}, not {status!r}",
                   "verification.status")  # fmt: skip
    tests = value.get("tests")
    tests = [] if tests is None else tests
    if not isinstance(tests, list) or len(tests) > MAX_TESTS:
        raise fail(f"verification.tests must be a list of at most {MAX_TESTS} objects",
                   "verification.tests")  # fmt: skip
    parsed = [_test(t, f"verification.tests[{i}]") for i, t in enumerate(tests)]
    names = [t["service"] for t in parsed]
    if len(set(names)) != len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise fail(f"verification.tests names {twice!r} twice", "verification.tests")
    if status == "skipped":
        if parsed:
            raise fail("a skipped verification has no tests", "verification.tests")
    elif not parsed:
        raise fail(f"a {status} verification names its tests", "verification.tests")
    elif status != (found := status_of([t["verdict"] for t in parsed])):
        raise fail(f"verification.status is {status!r} but its tests say {found!r}",
                   "verification.status")  # fmt: skip
    expected = OUTCOMES.get(status)
    # a passed verification may still end rolled back (--require-pinned-images failed)
    allowed = (expected, "rolled_back") if status == "passed" else (expected,)
    if expected is not None and outcome not in allowed:
        raise fail(f"a {status} verification goes with outcome {expected}, not {outcome}",
                   "outcome")  # fmt: skip
    if outcome in ("verified", "verification_failed") and OUTCOMES.get(status) != outcome:
        raise fail(f"outcome {outcome} needs a verification that ran, not a {status} one",
                   "verification.status")  # fmt: skip
    return {"status": status, "tests": parsed}
