"""The colour of an outcome or a verdict (a CSS class of ``.badge``).

Verdicts are the deployer's words (deployer/verdicts/vocabulary.py, the DESIGN's verdict
table), recorded by the ledger as text: the registry does not import the deployer, so the
words are listed here and tests/ui/test_badges.py checks every one of the deployer's
``Verdict`` values lands where its ``.ok`` / ``.failed`` says. Green: the ok verdicts
(healthy, running, completed; passed for a verification). Red: failures. Amber: drift
(what runs differs from the record). Neutral (no colour): pending, unknown, and any word
this registry does not know yet (it cannot tell good from bad, so it claims neither).
"""

from __future__ import annotations

import re

#: A ledger outcome's colour; an outcome not listed is a failure (failed, timed_out). The
#: endings that are neither good nor bad news stay neutral: the project left for another
#: environment (``moved``), a lock broken by hand (``broken``); ``interrupted`` is amber:
#: nobody knows yet how what it left is doing.
OUTCOME_BADGES = {
    "ok": "ok",
    "verified": "ok",  # healthy and every verification test passed
    "verification_failed": "bad",  # healthy, but a verification test failed or timed out
    "drift": "warn",
    "rolled_back": "warn",
    "interrupted": "warn",
    "torn_down": "",
    "moved": "",
    "broken": "",
}

#: Verdicts that mean the service is as it should be.
OK_VERDICTS = frozenset({"healthy", "running", "completed", "passed"})
#: Verdicts that mean it is not (a verification's ``failed(3)`` is read as ``failed``).
FAILED_VERDICTS = frozenset(
    {
        "unhealthy",
        "exited",
        "crash looping",
        "crash loop",
        "not created",
        "blocked",
        "timed out",
        "failed",
        "interrupted",
    }
)
WARN_VERDICTS = frozenset({"drift"})


def verdict_word(verdict: str) -> str:
    """The verdict's word, compared loosely: case, ``-``/``_`` as spaces, and a trailing
    ``(exit code)`` ignored (``Crash_Looping`` and ``exited(1)`` are known words)."""
    word = re.sub(r"\s*\(.*\)\s*$", "", verdict.strip().casefold())
    return " ".join(re.split(r"[\s_-]+", word))


def verdict_badge(verdict: str) -> str:
    """ "ok" (green), "bad" (red), "warn" (amber) or "" (neutral)."""
    word = verdict_word(verdict)
    if word in OK_VERDICTS:
        return "ok"
    if word in FAILED_VERDICTS:
        return "bad"
    if word in WARN_VERDICTS:
        return "warn"
    return ""


def is_failure(verdict: str) -> bool:
    """A verdict a failed deploy's record can be blamed on (not ok, not pending/unknown)."""
    return verdict_badge(verdict) == "bad"


def outcome_badge(outcome: str) -> str:
    """Green for ok, red for a failure (failed, timed out), amber between, grey torn down."""
    return OUTCOME_BADGES.get(outcome, "bad")


#: A verification's status (a record's ``verification.status``): passed green, failed and
#: timed out red, skipped (``--skip-verify``) neutral: nobody looked.
VERIFICATION_BADGES = {"passed": "ok", "failed": "bad", "timed_out": "bad", "skipped": ""}


def verification_badge(status: str) -> str:
    return VERIFICATION_BADGES.get(status, "")
