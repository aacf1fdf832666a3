"""What the first bad version brought in: the components whose builds changed since the
last good version, each with its build, the build it replaced and their CI links, from the
registry's diff API (``GET .../diff?from=GOOD&to=BAD``: services added, removed, changed
and rebuilt, each with its component's build and the previous one).

One line per search, builds by consign/builds.py's one label:
``first bad: #27: api TLO-API #412 (was #411), vcs 3f2a9c1``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from consign import builds
from deployer.registry_reader import RegistryReader

KINDS = ("added", "changed", "rebuilt", "removed")


@dataclass(frozen=True)
class ComponentChange:
    """One component as the first bad version has it against the last good one."""

    component: str
    build: dict[str, Any]
    previous_build: dict[str, Any] | None  # None: the component is new (or only removed)
    services: tuple[str, ...]
    kinds: tuple[str, ...]  # added, changed, rebuilt, removed

    def describe(self) -> str:
        """``api TLO-API #412 (was #411), vcs 3f2a9c1``."""
        now = builds.describe(self.build)
        text = f"{self.component} {now.label or '(no build info)'}"
        if self.kinds == ("removed",):
            return f"{self.component} removed ({now.label or 'no build info'})"
        if self.previous_build is not None:
            was = builds.describe(self.previous_build)
            same_plan = was.plan and was.plan == now.plan and was.number
            text += f" (was {'#' + was.number if same_plan else was.label or 'no build info'})"
        elif "added" in self.kinds:
            text += " (new)"
        if now.revision:
            text += f", vcs {now.revision[:7]}"
        return text

    def to_json(self) -> dict[str, Any]:
        now = builds.describe(self.build)
        was = builds.describe(self.previous_build) if self.previous_build is not None else None
        return {
            "component": self.component,
            "build": self.build,
            "label": now.label,
            "url": now.url,
            "previous_build": self.previous_build,
            "previous_label": was.label if was else None,
            "previous_url": was.url if was else None,
            "services": list(self.services),
            "kinds": list(self.kinds),
        }


def changes(diff: Mapping[str, Any]) -> list[ComponentChange]:
    """The diff API's answer grouped by component (in the order first met)."""
    found: dict[str, dict[str, Any]] = {}
    for kind in KINDS:
        for entry in diff.get(kind) or ():
            if not isinstance(entry, Mapping):
                continue
            name = str(entry.get("component") or "?")
            item = found.setdefault(
                name,
                {"build": entry.get("build") or {}, "previous": None, "services": [], "kinds": []},
            )
            if entry.get("previous_build") is not None and item["previous"] is None:
                item["previous"] = entry.get("previous_build")
            item["services"].append(str(entry.get("service")))
            if kind not in item["kinds"]:
                item["kinds"].append(kind)
    return [
        ComponentChange(
            name,
            dict(item["build"]),
            item["previous"],
            tuple(item["services"]),
            tuple(item["kinds"]),
        )
        for name, item in found.items()
    ]


def headline(version: int, found: Sequence[ComponentChange]) -> str:
    """``first bad: #27: api TLO-API #412 (was #411), vcs 3f2a9c1``."""
    what = "; ".join(c.describe() for c in found) or "no component changed"
    return f"first bad: #{version}: {what}"


def links(found: Sequence[ComponentChange]) -> list[str]:
    """The CI links of the builds, new then replaced."""
    out = []
    for c in found:
        now = builds.describe(c.build)
        if now.url:
            out.append(f"  {c.component} {now.label}: {now.url}")
        if c.previous_build is not None:
            was = builds.describe(c.previous_build)
            if was.url:
                out.append(f"  {c.component} {was.label} (replaced): {was.url}")
    return out


@dataclass(frozen=True)
class Culprits:
    """Reads what a version changed since another through the registry's diff API."""

    reader: RegistryReader
    application: str
    release: str

    def between(self, good: int, bad: int) -> list[ComponentChange]:
        diff = self.reader.get(
            ["applications", self.application, "releases", self.release, "diff"],
            **{"from": str(good), "to": str(bad)},
        )
        return changes(diff)
