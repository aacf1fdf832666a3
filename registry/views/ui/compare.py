"""The diff page (any two versions, also across releases) and "find a build"."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from flask import current_app, render_template, request
from flask.typing import ResponseReturnValue

from registry import builds, diffing
from registry.errors import BadRequest
from registry.storage import get_store
from registry.store import ComponentInfo, DeploymentRecord, VersionInfo
from registry.validation import parse_int_arg, parse_version
from registry.views.lookup import stored_names
from registry.views.ui import links, sbs, whereabouts
from registry.views.ui.blueprint import bp
from registry.views.ui.definitions import definitions


def version_ref(info: VersionInfo) -> str:
    """How the diff page names a version: ``APPLICATION/RELEASE/N`` (names never hold ``/``)."""
    return f"{info.application}/{info.release}/{info.number}"


def _parse_ref(field_name: str, text: str) -> tuple[str, str, int | None]:
    parts = text.strip().split("/")
    if len(parts) != 3 or not parts[0] or not parts[1]:
        raise BadRequest(
            f"{field_name!r} must be APPLICATION/RELEASE/VERSION (e.g. TLO GE/Milestone/41), "
            f"not {text!r}",
            details={"field": field_name},
        )
    application, release = stored_names(parts[0], parts[1])
    return application, release, parse_version(parts[2].strip())


@bp.get("/ui/diff")
def diff() -> ResponseReturnValue:
    """``from`` and ``to`` are ``APPLICATION/RELEASE/VERSION``; ``from`` defaults to the
    version before ``to`` in its release."""
    store = get_store()
    to_arg = request.args.get("to", "")
    if not to_arg:
        raise BadRequest(
            "the diff needs 'to' (APPLICATION/RELEASE/VERSION)", details={"field": "to"}
        )
    to_app, to_rel, to_number = _parse_ref("to", to_arg)
    new, new_text = store.descriptor(to_app, to_rel, to_number)
    from_arg = request.args.get("from") or (
        f"{to_app}/{to_rel}/{new.number - 1}" if new.number > 1 else ""
    )
    if not from_arg:
        raise BadRequest(
            f"{version_ref(new)} is the first version: name 'from'", details={"field": "from"}
        )
    from_app, from_rel, from_number = _parse_ref("from", from_arg)
    old, old_text = store.descriptor(from_app, from_rel, from_number)
    old_specs, new_specs = definitions(
        (old.commit, old_text.decode("utf-8")),
        (new.commit, new_text.decode("utf-8")),
        diffing.to_compare(old.components, new.components),
    )
    changes = diffing.compare_services(old.components, new.components, old_specs, new_specs)
    hunks = diffing.side_by_side(old_text.decode("utf-8"), new_text.decode("utf-8"))
    query = urlencode(
        {
            "from_application": from_app,
            "from_release": from_rel,
            "from": old.number,
            "to": new.number,
        }
    )
    return render_template(
        "ui/diff.html",
        old=old,
        new=new,
        changes=changes,
        counts={k: len(changes.of(k)) for k in diffing.KINDS},
        hunks=hunks,
        sbs_html=sbs.tbodies(hunks),
        describe=builds.describe,
        swap_url=links.ui_diff(version_ref(new), version_ref(old)),
        json_url=links.release_api(to_app, to_rel) + "/diff?" + query,
        from_ref=version_ref(old),
        to_ref=version_ref(new),
    )


@dataclass
class Found:
    """The versions of one release holding the build, as runs of consecutive numbers."""

    application: str
    release: str
    runs: list[list[VersionInfo]] = field(default_factory=list)
    label: str = ""
    searched: int = 0
    total: int = 0
    running: list[DeploymentRecord] = field(default_factory=list)  # where these versions run

    @property
    def count(self) -> int:
        return sum(len(r) for r in self.runs)

    def add(self, info: VersionInfo) -> None:
        if self.runs and self.runs[-1][-1].number == info.number + 1:
            self.runs[-1].append(info)
        else:
            self.runs.append([info])


PAGE = 200


def _search(application: str, release: str, component: str, build: str, scan: int) -> Found:
    store = get_store()
    found = Found(application, release)
    found.total = store.version(application, release, None).number
    before: int | None = None
    # Consecutive versions share their manifest entries (the store hands out one dict per
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
                verdicts[id(entry)] = (entry, builds.matches(entry.build, build))
            if verdicts[id(entry)][1]:
                found.add(info)
                found.label = found.label or builds.label(entry.build)
        found.searched += len(page)
        before = page[-1].number
    return found


@bp.get("/ui/find")
def find() -> ResponseReturnValue:
    """Which versions contain build ``build`` of component ``component``: the newest
    ``scan`` versions of every release are searched (``UI_FIND_SCAN`` by default)."""
    component = request.args.get("component", "").strip()
    build = request.args.get("build", "").strip()
    default_scan = int(current_app.config["UI_FIND_SCAN"])
    scan = parse_int_arg("scan", request.args.get("scan"), maximum=10**6) or default_scan
    results: list[Found] = []
    partial: list[Found] = []
    if component and build:
        store = get_store()
        running = whereabouts.running(store.environments())
        for application in store.applications():
            for release in store.releases(application):
                found = _search(application, release, component, build, scan)
                if found.runs:
                    numbers = {info.number for run in found.runs for info in run}
                    found.running = [
                        r
                        for r in running.get((application, release), [])
                        if r.deployed_version in numbers
                    ]
                    results.append(found)
                if found.searched < found.total:
                    partial.append(found)
    deeper = links.ui_find(component, build, scan=scan * 10)
    return render_template(
        "ui/find.html",
        component=component,
        build=build,
        asked=bool(component and build),
        results=results,
        partial=partial,
        scan=scan,
        deeper=deeper,
    )
