"""`consign status` in words: one headline per project saying what it is at and whether
it is well, then its builds and one line per service.

The headline's words (from :class:`deployer.status.ProjectStatus`, nothing asked again):

- ``running``: every service is healthy, running or completed;
- ``failed: web unhealthy; blocked: api``: the cause-first summary of what is not;
- ``not running``: no container of the project is up (none at all, or all stopped);
- ``running, not verified: verification timed out: smoke timed out (deploy at ...)``: every
  service is well but the newest verification of the version (the deploy's or ``consign
  verify``'s, on the project record) failed or timed out; ``running, verified`` when it
  passed;
- ``partly at vN (worker not at vN)``: a service's containers carry another build than the
  project record's for their component (a deploy stopped half-way, a container left from
  another version); said before whether it is well.

Builds are named by the registry's one label (``TLO-WEB #42``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from deployer.gate_words import build_label
from deployer.progress import label
from deployer.status import ProjectStatus
from deployer.verdicts import Verdict
from deployer.verdicts.summary import summary

#: Verdicts of a service none of whose containers is up.
_DOWN = frozenset({Verdict.EXITED, Verdict.NOT_CREATED, Verdict.BLOCKED})


def elsewhere(p: ProjectStatus) -> dict[str, str]:
    """service -> the build its containers carry, for each service whose containers carry
    another build than the record's for their component (or a component it lacks)."""
    builds: Mapping[str, Any] = p.deployed.builds or {}
    found = {}
    for service, origin in sorted(p.origins.items()):
        component = str(origin.get("component") or "")
        if not builds:
            break  # a --file deploy records no builds: nothing to compare with
        if component not in builds:
            found[service] = f"component {component}, which v{p.deployed.version} does not have"
        elif (origin.get("build") or {}) != (builds.get(component) or {}):
            had, has = build_label(origin.get("build")), build_label(builds.get(component))
            found[service] = f"{had}, not v{p.deployed.version}'s {has}"
    return found


def not_running(p: ProjectStatus) -> bool:
    """No container of a long-running service is up (none at all, or all stopped)."""
    if not p.verdicts:
        return True
    verdicts = [sv.verdict for sv in p.verdicts.values()]
    return all(v in _DOWN or v == Verdict.COMPLETED for v in verdicts) and any(
        v in _DOWN for v in verdicts
    )


def headline(p: ProjectStatus) -> str:
    """``shop: Shop/Dev v3 failed: web unhealthy`` and the other words above."""
    d = p.deployed
    at = f"{d.application}/{d.release} v{d.version}"
    moved = elsewhere(p)
    if moved:
        at = f"{d.application}/{d.release} partly at v{d.version} ({', '.join(moved)} not at it)"
    if p.ending:  # interrupted, in progress, or its deployer killed: said before any verdict
        word = p.ending
    elif not_running(p):
        word = "not running" + ("" if p.verdicts else " (no containers)")
        cause = summary(p.verdicts)
        word += f": {cause}" if cause else ""
    elif p.services_ok:
        word = "running" + verification_words(p.deployed.verification)
    else:
        word = f"failed: {summary(p.verdicts) or 'not every service is well'}"
    return f"{d.project}: {at} {word}"


def verification_words(verification: Mapping[str, Any]) -> str:
    """What the headline adds after ``running`` for the version's newest verification."""
    status = verification.get("status")
    if status == "passed":
        return ", verified"
    if status in ("failed", "timed_out"):
        summary = verification.get("summary") or f"verification {status.replace('_', ' ')}"
        by = f"{verification.get('by') or 'deploy'} at {verification.get('at') or '?'}"
        return f", not verified: {summary} ({by})"
    return ""


def as_text(found: list[ProjectStatus]) -> str:
    """The human form: the headline, commit and builds, then one line per service."""
    lines: list[str] = []
    for p in found:
        d = p.deployed
        lines.append(headline(p))
        named = [(c, build_label(b)) for c, b in sorted(d.builds.items())]
        builds = ", ".join(f"{c} {b}" for c, b in named if b != "-")
        lines.append(f"  commit {d.commit or '-'}" + (f"  builds: {builds}" if builds else ""))
        moved = elsewhere(p)
        for name, sv in p.verdicts.items():
            origin = p.origins.get(name)
            came = ""
            if origin is not None:
                built = build_label(origin["build"])
                came = f" [{origin['component']}" + (f" {built}" if built != "-" else "")
                came += f"; at {moved[name]}]" if name in moved else "]"
            lines.append(f"  {name:30} {label(sv):15} {sv.detail}{came}")
    return "".join(line + "\n" for line in lines)
