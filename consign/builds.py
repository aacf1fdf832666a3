"""A CI build as people read it: the fields of a version's or component's build info that
pages, Rundeck option labels and commit messages show, and the one short label for it.

Build info is what CI sent (free-form JSON, kept as sent): the keys Bamboo's variables give
(see publisher/buildinfo.py) with the spellings other CI tools and hand-made publishes use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

PLAN = ("planKey", "plan", "shortPlanKey", "job")
NUMBER = ("buildNumber", "number", "build")
REVISION = ("planRepository.revision", "revision", "vcsRevision", "commit", "sha")
URL = ("buildResultsUrl", "resultsUrl", "url", "buildUrl")
RESULT_KEY = ("buildResultKey",)


def web_url(value: Any) -> str | None:
    """``value`` when it is an absolute http(s) URL, else None: build info comes from CI
    and a ``javascript:`` URL must never become a link."""
    if not isinstance(value, str) or len(value) > 2000:
        return None
    parts = urlsplit(value.strip())
    return value.strip() if parts.scheme in ("http", "https") and parts.netloc else None


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
    result_key: str
    url: str | None  # the CI result page (http/https only)
    extra: list[tuple[str, str]]  # every field as key, value (for the details)

    @property
    def short_revision(self) -> str:
        return self.revision[:12]

    @property
    def label(self) -> str:
        """One short name for the build, the same on every page, Rundeck option and commit
        message: ``TLO-WEB #42`` (plan and number); else Bamboo's result key
        (``TLO-WEB-JOB1-42``), ``build 42`` (not ``#42``: next to a version number that
        would read as one), the plan, or the VCS revision's first 12 digits; '' when the
        build info has none of these."""
        if self.plan and self.number:
            return f"{self.plan} #{self.number}"
        return (
            self.result_key
            or (f"build {self.number}" if self.number else "")
            or self.plan
            or self.short_revision
        )


def describe(build: dict[str, Any] | None) -> Build:
    build = build if isinstance(build, dict) else {}
    url = next((u for u in (web_url(build.get(k)) for k in URL) if u), None)
    extra = [(str(k), v if isinstance(v, str) else repr(v)) for k, v in build.items()]
    return Build(
        plan=_first(build, PLAN),
        number=_first(build, NUMBER),
        revision=_first(build, REVISION),
        result_key=_first(build, RESULT_KEY),
        url=url,
        extra=extra,
    )


def label(build: dict[str, Any] | None) -> str:
    """The build's short label (see :attr:`Build.label`)."""
    return describe(build).label


def matches(build: dict[str, Any] | None, wanted: str) -> bool:
    """Whether ``wanted`` names this build: its number (``42``, ``#42``), plan and number
    (``TLO-TR-42``, ``TLO-TR #42``), result key, or a VCS revision (a prefix of 7+)."""
    wanted = wanted.strip()
    if not wanted:
        return False
    found = describe(build)
    candidates = {found.number, f"#{found.number}", found.label, found.result_key}
    if found.plan and found.number:
        candidates.add(f"{found.plan}-{found.number}")
    if wanted in candidates - {"", "#"}:
        return True
    return len(wanted) >= 7 and bool(found.revision) and found.revision.startswith(wanted)
