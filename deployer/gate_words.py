"""A version's standing at the gate, in the words `consign versions` and `show` print.

From the API's version JSON: ``rejected`` (the rejection in force), ``approvals`` (those
that count), ``promoted_from``/``promoted_by``; and from the other releases' policies, how
many approvals a promotion out of this release needs (:class:`Needs`): ``approved 1 of 2
for QA``. Builds are named by the registry's one label (:func:`consign.builds.label`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from consign.builds import describe
from consign.values import NOTHING, pairs


def build_label(build: Any) -> str:
    """``TLO-WEB #42`` (the registry's one label), ``-`` when the build info names none."""
    return describe(build if isinstance(build, dict) else None).label or NOTHING


def build_change(before: Any, after: Any) -> str:
    """``TLO-WEB #101 → #102``; ``TLO-WEB #101 (same build)`` when it did not change."""
    old, new = describe(before if isinstance(before, dict) else None), describe(after)
    if (before or {}) == (after or {}):
        return f"{old.label or NOTHING} (same build)"
    if old.plan and old.plan == new.plan and old.number and new.number:
        return f"{old.label} → #{new.number}"
    return f"{old.label or NOTHING} → {new.label or NOTHING}"


def build_details(build: Any) -> str:
    """The label, then every field: ``TLO-WEB #42 (buildNumber=42 planKey=TLO-WEB ...)``."""
    if not isinstance(build, dict) or not build:
        return NOTHING
    return f"{build_label(build)} ({pairs(build)})"


def who(record: Mapping[str, Any] | None) -> str:
    """The identity the token mapped to, else the name the client gave."""
    if not isinstance(record, Mapping):
        return "?"
    return str(record.get("identity") or record.get("by") or "?")


@dataclass(frozen=True)
class Needs:
    """How many approvals promotions out of one release need, by the release they go to."""

    by_release: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_policies(cls, release: str, policies: Mapping[str, Mapping[str, Any] | None]) -> Needs:
        """``policies``: every release's policy (None: none); a policy counts when it needs
        approvals and takes promotions from ``release`` (or from any release)."""
        needs = {}
        for target, policy in sorted(policies.items()):
            if target == release or not isinstance(policy, Mapping):
                continue
            count = int(policy.get("approvals") or 0)
            sources = policy.get("from_releases") or []
            if count > 0 and (not sources or release in sources):
                needs[target] = count
        return cls(needs)

    def of(self, have: int) -> str:
        """`` of 2 for QA``, `` of 2 for QA, 3 for Prod``; '' when no policy needs any."""
        if not self.by_release:
            return ""
        return " of " + ", ".join(f"{n} for {r}" for r, n in self.by_release.items())


def promoted_from(version: Mapping[str, Any]) -> str:
    """``promoted from Shop/Dev v3 by bob``, or '' for a version CI published."""
    p = version.get("promoted_from")
    if not isinstance(p, Mapping):
        return ""
    by = version.get("promoted_by")
    tail = f" by {who(by)}" if isinstance(by, Mapping) else ""
    return f"promoted from {p.get('application')}/{p.get('release')} v{p.get('version')}{tail}"


def rejection(version: Mapping[str, Any], *, when: bool = True) -> str:
    """``rejected by alice at T: reason`` (without ``at T`` unless ``when``), or '' when no
    rejection is in force."""
    r = version.get("rejected")
    if not isinstance(r, Mapping):
        return ""
    reason = " ".join(str(r.get("reason") or "(no reason given)").split())
    at = f" at {r.get('at', '?')}" if when else ""
    return f"rejected by {who(r)}{at}: {reason}"


def approvals(version: Mapping[str, Any], needs: Needs) -> str:
    """``approved 1 of 2 for QA (alice)``; ``approvals 0 of 2 for QA`` when a policy needs
    some and there are none; '' when there are none and none are needed."""
    found = [a for a in version.get("approvals") or [] if isinstance(a, Mapping)]
    if not found:
        return f"approvals 0{needs.of(0)}" if needs.by_release else ""
    names = ", ".join(dict.fromkeys(who(a) for a in found))
    return f"approved {len(found)}{needs.of(len(found))} ({names})"


def state(version: Mapping[str, Any]) -> str:
    """``ok``, ``incomplete: plex → data``, ``warnings: ${TAG} unresolved``; '' when the
    registry does not say (an older registry)."""
    if "state" not in version:
        return ""
    return str(version.get("state_reason") or version.get("state") or "")


def standing(version: Mapping[str, Any], needs: Needs) -> list[str]:
    """What a listing says about a version beyond its build: the rejection first, the
    approvals given, where it was promoted from, then its state (``ok`` only when there is
    nothing else to say)."""
    found = [rejection(version, when=False)]
    given = [a for a in version.get("approvals") or [] if isinstance(a, Mapping)]
    if given:
        found.append(approvals(version, needs))
    found.append(promoted_from(version))
    said = state(version)
    if said and (said != "ok" or not any(found)):
        found.append(said)
    return [w for w in found if w]
