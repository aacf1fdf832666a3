"""The plan as people read it (a headline, one line per service, images, volumes and
networks, the registry's diff, the cross-check), in the deploy report's manner: what
changes first, the cause beside it, one line each so a Rundeck log reads it too."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from deployer import gate_words as words
from deployer.plan.model import ACTIONS, DeployPlan, Reason, ServicePlan

#: The order services are listed in: what changes first.
_ORDER = {action: i for i, action in enumerate(ACTIONS)}


def _short(value: str | None) -> str:
    if value is None:
        return "(none)"
    if value.startswith("sha256:"):
        return value[7:19]
    if len(value) == 64 and all(c in "0123456789abcdef" for c in value):
        return value[:12]
    return value if len(value) <= 80 else value[:77] + "..."


def reason_text(reason: Reason) -> str:
    if reason.kind == "image":
        return f"image {_short(reason.before)} -> {_short(reason.after)}"
    if reason.kind == "image_id":
        return f"image ID {_short(reason.before)} -> {_short(reason.after)}"
    if reason.kind == "image_pull":
        return "image to pull: recreated if the pulled image is not the one it runs"
    if reason.kind == "config_hash":
        return f"configuration hash {_short(reason.before)} -> {_short(reason.after)}"
    if reason.kind == "labels":
        changed = "; ".join(
            f"{c.key} {_short(c.before)} -> {_short(c.after)}" for c in reason.labels
        )
        return f"labels {changed}"
    if reason.kind == "keys":
        return f"keys that differ: {', '.join(reason.keys)}"
    if reason.kind == "host_variables":
        used = f" ({', '.join(reason.keys)})" if reason.keys else ""
        return f"same definition: a variable resolved on this host changed{used}"
    return reason.kind


def service_line(s: ServicePlan, width: int) -> str:
    detail = [reason_text(r) for r in s.reasons]
    if s.note:
        detail.append(s.note)
    if s.count[0] != s.count[1]:
        detail.append(f"containers {s.count[0]} -> {s.count[1]}")
    names = ", ".join(s.containers) if s.action != "unchanged" else ""
    tail = "; ".join(detail)
    parts = [p for p in (names, tail) if p]
    return f"  {s.action:<9}  {s.service:<{width}}  {': '.join(parts)}".rstrip()


def _some(names: tuple[str, ...], shown: int = 8) -> str:
    """At most ``shown`` names, then how many more."""
    if len(names) <= shown:
        return ", ".join(names)
    return f"{', '.join(names[:shown])} and {len(names) - shown} more"


def headline(plan: DeployPlan) -> str:
    counts = ", ".join(f"{n} {a}" for a, n in plan.counts().items() if n)
    running = plan.running.label() if plan.running else "nothing of ours"
    what = f"{running} -> {plan.new.label()}"
    verdict = "would change it (exit 10)" if plan.changes else "nothing to change (exit 0)"
    kind = "stack " if plan.orchestrator == "swarm" else ""
    return f"plan for {kind}{plan.project}: {what}: {counts or 'no services'}; {verdict}"


def as_text(plan: DeployPlan) -> str:
    lines = [headline(plan)]
    if plan.record_changes:
        lines.append(f"record: {plan.project} would be recorded at {plan.new.label()}")
    width = max((len(s.service) for s in plan.services), default=0)
    ordered = sorted(plan.services, key=lambda s: _ORDER.get(s.action, len(_ORDER)))
    lines += [service_line(s, width) for s in ordered]
    for image in plan.images:
        users = _some(image.services)
        lines.append(f"image {image.action}: {image.image} ({users}; {image.note})")
    for r in plan.resources:
        users = f" (used by {_some(r.services)})" if r.services else ""
        lines.append(f"{r.kind} {r.action}: {r.name}{users}")
    lines += diff_lines(plan)
    lines += cross_check_lines(plan.cross_check)
    lines += [f"warning: {w}" for w in plan.warnings]
    return "\n".join(lines) + "\n"


def diff_lines(plan: DeployPlan) -> list[str]:
    d = plan.registry_diff
    if d is None:
        return [f"registry diff: {plan.registry_note}"] if plan.registry_note else []
    before = plan.running.label() if plan.running else "?"
    lines = [f"registry diff {before} -> {plan.new.label()}:"]
    found = False
    for kind, mark in (("added", "+"), ("removed", "-"), ("changed", "~"), ("rebuilt", "~")):
        for e in _entries(d.get(kind)):
            found = True
            if "previous_build" in e:
                build = words.build_change(e.get("previous_build"), e.get("build"))
            else:
                build = words.build_label(e.get("build"))
            moved = e.get("previous_component")
            was = f" (was {moved})" if moved and moved != e.get("component") else ""
            lines.append(
                f"  {mark} {kind:8} {e.get('service')}: component {e.get('component')}{was} {build}"
            )
    if not found:
        lines.append("  (no service changed between the versions)")
    masked = ", ".join(str(p) for p in d.get("masked_changed") or [])
    if masked:  # a rotated secret: its path, never its value (docs/secrets.md)
        lines.append(f"  masked values that changed: {masked}")
    return lines


def _entries(value: Any) -> Iterable[Mapping[str, Any]]:
    return [e for e in value or [] if isinstance(e, Mapping)]


def cross_check_lines(check: Mapping[str, Any]) -> list[str]:
    if not check:
        return []
    if not check.get("ran"):
        return [f"cross-check: Compose's dry run not used: {check.get('why')}"]
    if not check.get("disagreements"):
        return ["cross-check: Compose's dry run agrees"]
    return [f"cross-check DIFFERS: {line}" for line in check["disagreements"]]
