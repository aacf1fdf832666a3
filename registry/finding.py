"""Find a build: which versions of every release contain build B of component C, and which
of them run where. One computation for the "Find a build" page and ``GET /api/find``."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from consign.builds import label, matches
from registry.store import ComponentInfo, DeploymentRecord, DescriptorStore, VersionInfo

PAGE = 200  # versions read from the store at once


@dataclass
class Found:
    """One release searched: the versions holding the build, as runs of consecutive numbers
    (newest first, like the versions within each run)."""

    application: str
    release: str
    runs: list[list[VersionInfo]] = field(default_factory=list)
    label: str = ""  # the build's short name, e.g. "TLO-WEB #41"
    searched: int = 0  # versions searched, newest first
    total: int = 0  # versions in the release
    running: list[DeploymentRecord] = field(default_factory=list)  # where these versions run

    @property
    def count(self) -> int:
        return sum(len(r) for r in self.runs)

    @property
    def complete(self) -> bool:
        """Whether the search went back to version 1."""
        return self.searched >= self.total

    @property
    def numbers(self) -> list[int]:
        return [info.number for run in self.runs for info in run]

    def add(self, info: VersionInfo) -> None:
        if self.runs and self.runs[-1][-1].number == info.number + 1:
            self.runs[-1].append(info)
        else:
            self.runs.append([info])


@dataclass
class BuildSearchResult:
    """The answer: the releases holding the build, and every release not searched to its
    first version (``scan`` was smaller than its number of versions)."""

    component: str
    build: str
    scan: int
    results: list[Found]
    partial: list[Found]


def search(
    store: DescriptorStore, application: str, release: str, component: str, build: str, scan: int
) -> Found:
    """The newest ``scan`` versions of one release that hold ``build`` of ``component``."""
    found = Found(application, release)
    found.total = store.version(application, release, None).number
    before: int | None = None
    # Consecutive versions share their manifest entries (the store hands out one object per
    # component and fragment), so each entry is matched once, not once per version.
    # (The entry is kept with its verdict so that its id cannot be reused meanwhile.)
    verdicts: dict[int, tuple[ComponentInfo, bool]] = {}
    # A component keeps its place in the manifest from version to version: look there
    # first (one lookup per version instead of fifty).
    where = 0
    while found.searched < scan:
        page = store.versions(
            application, release, limit=min(PAGE, scan - found.searched), before=before
        )
        if not page:
            break
        for info in page:
            entries = info.components
            if where >= len(entries) or entries[where].name != component:
                where = next((i for i, e in enumerate(entries) if e.name == component), -1)
                if where < 0:
                    where = 0
                    continue
            entry = entries[where]
            if id(entry) not in verdicts:
                verdicts[id(entry)] = (entry, matches(entry.build, build))
            if verdicts[id(entry)][1]:
                found.add(info)
                found.label = found.label or label(entry.build)
        found.searched += len(page)
        before = page[-1].number
    return found


def find(store: DescriptorStore, component: str, build: str, scan: int) -> BuildSearchResult:
    """Search every release of every application; each release holding the build also gets
    the ledger's current records (one per environment) that run one of its versions.
    ``component`` is compared in NFC (``Café`` spelled decomposed finds it too)."""
    running: dict[tuple[str, str], list[DeploymentRecord]] = {}
    for state in store.in_service():
        for record in state.deployed:
            running.setdefault((record.application, record.release), []).append(record)
    finding = BuildSearchResult(component, build, scan, [], [])
    component = unicodedata.normalize("NFC", component)  # as a publish stores names
    for application in store.applications():
        for release in store.releases(application):
            found = search(store, application, release, component, build, scan)
            if found.runs:
                numbers = set(found.numbers)
                found.running = [
                    r
                    for r in running.get((application, release), [])
                    if r.deployed_version in numbers
                ]
                finding.results.append(found)
            if not found.complete:
                finding.partial.append(found)
    return finding
