"""The colour of an outcome or a verdict (a CSS class of ``.badge``)."""

from __future__ import annotations

OUTCOME_BADGES = {"ok": "ok", "drift": "warn", "rolled_back": "warn", "torn_down": ""}


def outcome_badge(outcome: str) -> str:
    """Green for ok, red for a failure (failed, timed out), amber between, grey torn down."""
    return OUTCOME_BADGES.get(outcome, "bad")


def verdict_badge(verdict: str) -> str:
    return "ok" if verdict == "healthy" else "bad"
