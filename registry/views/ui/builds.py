"""The fields of a CI build info a page shows: the keys Bamboo's variables give (see
publisher/buildinfo.py) with the spellings other CI tools and hand-made publishes use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from registry.views.ui.links import web_url

PLAN = ("planKey", "plan", "shortPlanKey", "job")
NUMBER = ("buildNumber", "number", "build")
REVISION = ("planRepository.revision", "revision", "vcsRevision", "commit", "sha")
URL = ("buildResultsUrl", "resultsUrl", "url", "buildUrl")
RESULT_KEY = ("buildResultKey",)


def _first(build: dict[str, Any], keys: tuple[str, ...]) -> str:
    for key in keys:
        value = build.get(key)
        if value is not None and value != "" and not isinstance(value, dict | list):
            return str(value)
    return ""


@dataclass(frozen=True)
class Build:
    plan: str
    number: str
    revision: str
    url: str | None
    label: str  # one short name: "TLO-TR #42", a result key, or ""
    extra: list[tuple[str, str]]  # every field as key, value (for the details)

    @property
    def short_revision(self) -> str:
        return self.revision[:12]


def describe(build: dict[str, Any] | None) -> Build:
    build = build if isinstance(build, dict) else {}
    plan, number = _first(build, PLAN), _first(build, NUMBER)
    result_key = _first(build, RESULT_KEY)
    if plan and number:
        label = f"{plan} #{number}"
    else:
        label = result_key or (f"#{number}" if number else plan)
    url = next((u for u in (web_url(build.get(k)) for k in URL) if u), None)
    extra = [(str(k), v if isinstance(v, str) else repr(v)) for k, v in build.items()]
    return Build(plan, number, _first(build, REVISION), url, label, extra)


def matches(build: dict[str, Any] | None, wanted: str) -> bool:
    """Whether ``wanted`` names this build: its number (``42``, ``#42``), plan and number
    (``TLO-TR-42``, ``TLO-TR #42``), result key, or a VCS revision (a prefix of 7+)."""
    wanted = wanted.strip()
    if not wanted:
        return False
    found = describe(build)
    candidates = {found.number, f"#{found.number}", found.label, _first(build or {}, RESULT_KEY)}
    if found.plan and found.number:
        candidates.add(f"{found.plan}-{found.number}")
    if wanted in candidates - {"", "#"}:
        return True
    return len(wanted) >= 7 and bool(found.revision) and found.revision.startswith(wanted)
