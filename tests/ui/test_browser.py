"""The web UI in a real browser: Debian's chromium, headless, driven by Playwright (never
``playwright install``), against a real ``consign serve`` filled by real publishes.

From the one typed URL (``/``) everything is reached by clicking, with JavaScript off (the
pages must read without it). Any console error, failed request or 4xx/5xx answer fails the
test. Screenshots at 1280 and 390 px are written to the test's temporary folder; set
``CONSIGN_UI_SCREENSHOTS=DIR`` to keep a copy in DIR.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import CHROMIUM
from tests.serving import ServedRegistry
from tests.ui.conftest import READER, publish_http
from tests.ui.test_environments import drift_report

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WIDTHS = (1280, 390)


class Watch:
    """Everything that went wrong in the page: console errors, script errors, failed
    requests, error answers."""

    def __init__(self, page: Any) -> None:
        self.problems: list[str] = []
        self.allowed: set[tuple[str, int]] = set()
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: self.problems.append(f"failed: {r.url} {r.failure}"))
        page.on("response", self._response)

    def _console(self, message: Any) -> None:
        """Chromium logs every 4xx answer as a console error too: an expected one is not."""
        if message.type != "error":
            return
        status = re.search(r"status of (\d+)", message.text)
        url = re.sub(r"^https?://[^/]+", "", (message.location or {}).get("url", ""))
        if status and (url.split("?")[0], int(status.group(1))) in self.allowed:
            return
        self.problems.append(f"console: {message.text} at {url}")

    def _response(self, response: Any) -> None:
        path = re.sub(r"^https?://[^/]+", "", response.url).split("?")[0]
        if response.status >= 400 and (path, response.status) not in self.allowed:
            self.problems.append(f"{response.status} for {response.url}")


def launch(playwright: Any) -> Any:
    """Debian's chromium, headless; never a browser downloaded by `playwright install`."""
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM),
        headless=True,
        args=["--no-sandbox", "--disable-background-networking"],
    )


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        context = browser.new_context(
            java_script_enabled=False, viewport={"width": 1280, "height": 900}
        )
        yield context.new_page()
        context.close()
        browser.close()


class Shots:
    def __init__(self, page: Any, folder: Path) -> None:
        self.page, self.folder = page, folder
        self.keep = os.environ.get("CONSIGN_UI_SCREENSHOTS")

    def take(self, name: str) -> None:
        """A full-page screenshot at each width; at 390 px nothing may stick out sideways
        (wide tables scroll inside their own box)."""
        for width in WIDTHS:
            self.page.set_viewport_size({"width": width, "height": 900})
            path = self.folder / f"{name}-{width}.png"
            self.page.screenshot(path=str(path), full_page=True)
            overflow = self.page.evaluate("document.documentElement.scrollWidth")
            assert overflow <= width, f"{name} is {overflow} px wide at {width} px"
            if self.keep:
                Path(self.keep).mkdir(parents=True, exist_ok=True)
                shutil.copy(path, Path(self.keep) / path.name)
        self.page.set_viewport_size({"width": 1280, "height": 900})


def cells(page: Any, selector: str) -> list[list[str]]:
    """The text of each body row of a table, cell by cell (header cell first)."""
    rows = page.locator(f"{selector} tbody tr")
    return [
        [c.strip() for c in rows.nth(i).locator("th, td").all_inner_texts()]
        for i in range(rows.count())
    ]


def test_walk_every_page_by_clicking(served_ui: ServedRegistry, page: Any, tmp_path: Path) -> None:
    watch = Watch(page)
    shots = Shots(page, tmp_path)
    base = served_ui.url

    # The one typed URL. Reading needs a token here: the browser lands on the sign-in form.
    page.goto(base + "/")
    assert page.title() == "Sign in · Consignment"
    assert page.url.startswith(base + "/ui/sign-in?next=/ui/")
    shots.take("sign-in")
    watch.allowed.add(("/ui/sign-in", 403))
    page.fill("#token", "not-a-token")
    page.click("form.signin button")
    assert "not configured for any role" in page.inner_text("p.error")
    page.fill("#token", READER)
    page.click("form.signin button")

    # Home: applications, releases, latest version and the build that made it.
    assert page.title() == "Applications · Consignment"
    assert page.inner_text("h1") == "Applications"
    assert "Signed in as token-" in page.inner_text("header .who")
    assert page.locator("section.app h2").all_inner_texts() == ["TLO EE", "TLO GE"]
    ge = cells(page, "section.app:nth-of-type(2) table")
    assert [r[:2] for r in ge] == [["Milestone", "#5"], ["QA", "#2"]]
    assert ge[0][3:] == ["plex", "build 9", "nowhere"]
    shots.take("home")

    # Release: versions newest first, the component and build each one changed.
    page.click("section.app:nth-of-type(2) >> text=Milestone")
    assert page.title() == "TLO GE / Milestone · Consignment"
    rows = cells(page, "table.versions")
    assert [r[0] for r in rows] == ["#5", "#4", "#3", "#2", "#1"]
    assert [(r[2], r[3]) for r in rows] == [
        ("plex", "build 9"),
        ("web", "TLO-WEB #42"),
        ("data", "TLO-DATA #3"),
        ("db", "TLO-DB #7"),
        ("web", "TLO-WEB #41"),
    ]
    assert rows[0][4] == "1"  # plex refers to bittorrent-sync-data, which is missing
    shots.take("release")

    # Version 4: every component with plan, build, revision and a link to the CI result.
    page.click('table.versions tbody th a >> text="#4"')
    assert page.title() == "TLO GE / Milestone #4 · Consignment"
    assert page.locator("nav.crumbs").inner_text().split("\n")[-1].strip() == "#4"
    components = cells(page, "table.components")
    assert [r[:6] for r in components] == [
        ["web", "web", "TLO-WEB", "42", "feedc0ffee12", "CI result"],
        ["db", "db", "TLO-DB", "7", "—", "CI result"],
        ["data", "data", "TLO-DATA", "3", "—", "CI result"],
    ]
    ci = page.locator("table.components tbody tr").first.locator("text=CI result")
    assert ci.get_attribute("href") == "https://bamboo.example/browse/TLO-WEB-42"
    deploy = page.locator("text=Deploy in Rundeck").get_attribute("href")
    assert deploy.endswith("?opt.application=TLO%20GE&opt.release=Milestone&opt.version=4")
    commands = page.inner_text("pre.commands")
    assert "git checkout TLO%20GE/Milestone/4" in commands
    assert f"git clone {base}/git descriptors" in commands
    assert "image: busybox:2" in page.inner_text(".highlight")
    shots.take("version")

    # Diff with the version before: web changed from build 41 to 42, side by side.
    page.click("text=What changed since #3")
    assert page.title() == "Diff TLO GE/Milestone/3 → TLO GE/Milestone/4 · Consignment"
    assert cells(page, "table.services") == [
        ["web", "changed", "web", "TLO-WEB #41", "web", "TLO-WEB #42"]
    ]
    changed = page.locator("table.sbs tr.changed, table.sbs tr.added").all_inner_texts()
    assert any("busybox:2" in row and "image: busybox" in row for row in changed)
    assert page.locator("table.sbs tr.added").count() == 2  # environment: / MODE: fast
    shots.take("diff")

    # Across releases: QA #2 against Milestone #4, through the compare form.
    page.fill("input[name=from]", "TLO GE/QA/2")
    page.click("form.compare button")
    assert page.title() == "Diff TLO GE/QA/2 → TLO GE/Milestone/4 · Consignment"
    assert [(r[0], r[1]) for r in cells(page, "table.services")] == [
        ("web", "changed"),
        ("db", "added"),
    ]
    page.click("text=swap")
    assert page.title() == "Diff TLO GE/Milestone/4 → TLO GE/QA/2 · Consignment"
    assert [(r[0], r[1]) for r in cells(page, "table.services")] == [
        ("web", "changed"),
        ("db", "removed"),
    ]

    # Find a build: from a version's build number to every version that holds it.
    page.click("nav.crumbs >> text=Applications")
    page.click("section.app:nth-of-type(2) >> text=Milestone")
    page.click('table.versions tbody th a >> text="#2"')
    page.click("table.components >> text=7")
    assert page.title() == "Build 7 of db · Consignment"
    found = cells(page, "table.found")
    assert found == [
        ["TLO EE", "Milestone", "#2", "1", "TLO-DB #7", "nowhere"],
        ["TLO GE", "Milestone", "#2\u2013#5", "4", "TLO-DB #7", "nowhere"],
    ]
    shots.take("find")
    find_json = page.locator("footer a.json").get_attribute("href")
    assert find_json == "/api/find?component=db&build=7&scan=1000"
    answer = requests.get(
        base + find_json, headers={"Authorization": f"Bearer {READER}"}, timeout=10
    )
    assert [(f["application"], f["release"], f["versions"]) for f in answer.json()["found"]] == [
        ("TLO EE", "Milestone", [2]),
        ("TLO GE", "Milestone", [5, 4, 3, 2]),
    ]
    page.click("table.found tbody tr:nth-child(2) >> text=#5")
    assert page.title() == "TLO GE / Milestone #5 · Consignment"
    assert "bittorrent-sync-data" in page.inner_text("ul.warnings")

    # The JSON behind a page answers (the browser shares nothing with the API: it sends the
    # token as the API asks).
    json_url = page.locator("footer a.json").get_attribute("href")
    answer = requests.get(
        base + json_url, headers={"Authorization": f"Bearer {READER}"}, timeout=10
    )
    assert answer.json()["version"] == 5

    # Signing out ends the session: the next page asks for the token again.
    page.click("header .who button")
    assert page.title() == "Sign in · Consignment"
    assert watch.problems == []


def test_hostile_names_run_nothing_with_javascript_on(repo: Path, tmp_path: Path) -> None:
    """With scripts allowed in the browser, hostile names and build values still only show
    as text: no dialog opens, no console error, and the names read as published."""
    from playwright.sync_api import sync_playwright

    from tests.ui.test_xss import APP, BUILD, COMPONENT, FRAGMENT, OTHER, RELEASE

    with ServedRegistry(repo, tmp_path / "serve.log", workers=1).start() as server:
        publish_http(
            server.url, FRAGMENT, [APP], [RELEASE, OTHER], component=COMPONENT, build=BUILD
        )
        with sync_playwright() as p:
            browser = launch(p)
            page = browser.new_page()
            dialogs: list[str] = []
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            watch = Watch(page)
            page.goto(server.url + "/")
            assert page.locator("section.app h2").all_inner_texts() == [APP]
            page.click(f"section.app tbody th >> text={RELEASE}")
            assert page.inner_text("h1") == f"{APP} / {RELEASE}"
            page.click("table.versions tbody th a")
            assert page.locator("table.components tbody th").all_inner_texts() == [COMPONENT]
            page.click("details.buildinfo summary")
            assert BUILD["comment"] in page.inner_text("details.buildinfo")
            page.click("table.components tbody td[data-label=Build] a")
            assert (
                page.inner_text("h2")
                == f"Versions with build {BUILD['buildNumber']} of {COMPONENT}"
            )
            assert len(page.locator("table.found tbody tr").all()) == 2
            Shots(page, tmp_path).take("hostile")
            browser.close()
    assert dialogs == [] and watch.problems == []


def report_http(base: str, environment: str, version: int, **changes: Any) -> None:
    from tests.registry.test_app_ledger import report

    answer = requests.post(
        f"{base}/api/environments/{environment}/deployments",
        json=report(version, **changes),
        timeout=30,
    )
    assert answer.status_code == 201, answer.text


APPROVER = "qa-alice-approve-token"


def test_environments_and_the_gate_by_clicking(repo: Path, tmp_path: Path, page: Any) -> None:
    """Records reported through the API; the matrix, an environment and its failed deploy,
    then a version's gate: sign in as an approver, reject and approve through the forms."""
    from tests.ui.conftest import HISTORY

    env = {"CONSIGN_APPROVE_TOKENS": f"qa-alice:{APPROVER}"}
    with ServedRegistry(repo, tmp_path / "serve.log", env=env, workers=2).start() as server:
        base = server.url
        for fragment, apps, rels, component, build in HISTORY:
            publish_http(base, fragment, apps, rels, component=component, build=build)
        report_http(base, "qa-1", 4)
        crash = {
            "service": "db",
            "verdict": "crash_loop",
            "detail": "restarted 5 times; last log: FATAL: role missing",
            "containers": ["0123456789ab"],
            "image": "sha256:" + "3" * 64,
            "component": "db",
            "build": {"planKey": "TLO-DB", "buildNumber": "7"},
        }
        report_http(
            base, "qa-2", 5, outcome="failed", finished="2026-12-01T10:07:00Z", services=[crash]
        )
        # `consign drift --record` found qa-1's web running another image, db gone
        drift = drift_report(4, finished="2026-12-01T10:08:00Z")
        answer = requests.post(f"{base}/api/environments/qa-1/deployments", json=drift, timeout=30)
        assert answer.status_code == 201, answer.text
        promoted = requests.post(
            f"{base}/api/applications/TLO%20GE/releases/QA/promotions",
            json={"from_release": "Milestone", "version": 4, "by": "rm-bob"},
            timeout=30,
        )
        assert promoted.status_code == 201 and promoted.json()["version"] == 3, promoted.text
        watch = Watch(page)
        shots = Shots(page, tmp_path)

        page.goto(base + "/")
        ge = cells(page, "section.app:nth-of-type(2) table")
        assert ge[0][5] == "qa-1 #4 ok qa-2 #5 failed"
        page.click("nav.menu >> text=Environments")
        assert page.title() == "Environments · Consignment"
        assert cells(page, "table.matrix")[0][0] == "qa-1"
        assert cells(page, "table.matrix")[1][1].startswith("#5 failed since")
        shots.take("environments")

        # qa-1: the drift reported since its deploy, at the top and per service
        with page.expect_navigation():
            page.click("table.matrix >> text=qa-1")
        assert page.inner_text("h1") == "Environment qa-1"
        assert page.inner_text("#drift-summary") == "drift reported for TLO GE / Milestone"
        page.click("#drift-summary >> text=TLO GE / Milestone")
        assert "What runs differs from this deployment" in page.inner_text("#drift-1")
        assert cells(page, "table.drift") == [
            ["web", f"image 0123456789ab: runs sha256:{'9' * 64}, recorded sha256:{'2' * 64}",
             "sha256:999999999999"],
            ["db", "missing 456789abcdef: recorded container is gone", "—"],
        ]  # fmt: skip
        shots.take("drift")

        # the version running there was promoted to QA: its page says where, with a link
        with page.expect_navigation():
            page.click("#running-1 >> text=#4")
        assert page.title() == "TLO GE / Milestone #4 · Consignment"
        assert page.inner_text("#promoted-to").startswith("TLO GE / QA #3 by rm-bob")
        with page.expect_navigation():
            page.click("#promoted-to >> text=TLO GE / QA #3")
        assert page.title() == "TLO GE / QA #3 · Consignment"
        assert "TLO GE / Milestone #4 by rm-bob" in page.inner_text("#gate")
        assert page.inner_text("#promoted-to") == "not promoted"
        page.click("nav.menu >> text=Environments")
        page.click("table.matrix >> text=qa-2")
        assert page.inner_text("h1") == "Environment qa-2"
        assert cells(page, "table.services")[0][:2] == ["db", "crash_loop"]
        assert "FATAL: role missing" in page.inner_text("ol.timeline dl.failing")
        shots.take("environment")
        page.click('ol.timeline >> text="#5"')
        assert page.title() == "TLO GE / Milestone #5 · Consignment"
        assert "qa-2" in page.inner_text("#deployments")
        # not signed in: no approve/reject forms (the role has a token), and a way to sign
        # in for them; the release role has none here, so its promote form is open (as the API)
        assert (
            page.locator("form.decide").count() == 1 and page.locator("form.promote").count() == 1
        )
        assert "Sign in with an approve token to approve or reject." in page.inner_text("#gate")

        page.click("header .who >> text=Sign in")
        page.fill("#token", APPROVER)
        page.click("form.signin button")
        assert page.title() == "TLO GE / Milestone #5 · Consignment"  # back where it was
        page.fill("#reject-reason", "db crash-loops on qa-2")
        page.click("text=Reject #5 as qa-alice")
        assert "Rejected by qa-alice" in page.inner_text("#gate")
        assert "db crash-loops on qa-2" in page.inner_text("#gate")
        page.fill("#approve-comment", "fixed by a config change")
        page.click("text=Approve #5 as qa-alice")
        assert cells(page, "table.approvals") == [
            ["qa-alice", cells(page, "table.approvals")[0][1], "fixed by a config change"]
        ]
        shots.take("gate")
        page.click("nav.crumbs >> text=Milestone")
        assert cells(page, "table.versions")[0][6:] == ["1 approval", "qa-2 failed"]
        assert watch.problems == []
        body = requests.get(
            f"{base}/api/applications/TLO%20GE/releases/Milestone/versions/5", timeout=10
        ).json()
        assert body["rejected"] is None and [a["identity"] for a in body["approvals"]] == [
            "qa-alice"
        ]


OK_GREEN, BAD_RED = "rgb(26, 127, 55)", "rgb(207, 34, 46)"  # site.css --ok, --bad


def colour(page: Any, selector: str) -> str:
    found: str = page.eval_on_selector(selector, "e => getComputedStyle(e).color")
    return found


def test_open_registry_colours_promotion_and_phone_by_clicking(
    repo: Path, tmp_path: Path, page: Any
) -> None:
    """A registry with no tokens: no sign-in prompt anywhere; verdict badges in the
    vocabulary's colours; the promote form offers the releases, asks before it makes a new
    one and says what it made; a retired environment is out of the matrix; at 390 px the
    matrix says it scrolls.

    Every click here leads to another page, so each waits for that navigation (under
    load, reading right after a click could read the page being left)."""
    from tests.ui.conftest import HISTORY

    with ServedRegistry(repo, tmp_path / "serve.log", workers=2).start() as server:
        base = server.url
        for fragment, apps, rels, component, build in HISTORY:
            publish_http(base, fragment, apps, rels, component=component, build=build)
        web = {"service": "web", "verdict": "crash-looping", "detail": "exit 3",
               "containers": ["0123456789ab"], "image": "sha256:" + "3" * 64,
               "component": "web", "build": {"buildNumber": "42"}}  # fmt: skip
        migrate = web | {"service": "migrate", "verdict": "completed", "detail": "exited 0"}
        worker = web | {"service": "worker", "verdict": "pending", "detail": ""}
        services = [web, migrate, worker]
        report_http(base, "qa-2", 5, outcome="failed", services=services)
        for environment, application, release, version in [
            ("qa-1", "TLO GE", "Milestone", 4),
            ("qa-1", "TLO EE", "Milestone", 2),
            ("qa-3", "TLO GE", "QA", 2),
            ("vm-old", "TLO EE", "Milestone", 1),
        ]:
            report_http(base, environment, version, application=application, release=release)
        retire = {"by": "carol", "reason": "VM deleted"}
        answer = requests.post(
            f"{base}/api/environments/vm-old/retirement", json=retire, timeout=30
        )
        assert answer.status_code == 201, answer.text
        watch = Watch(page)
        shots = Shots(page, tmp_path)

        page.goto(base + "/")
        assert page.locator("header .who").inner_text().strip() == ""  # nothing to sign in to
        with page.expect_navigation():
            page.click("nav.menu >> text=Environments")
        assert [r[0] for r in cells(page, "table.matrix")] == ["qa-1", "qa-2", "qa-3"]
        assert page.inner_text("ul.retired").startswith("vm-old retired by carol")
        # at 390 px the matrix is wider than the screen: it scrolls in its box and says so
        page.set_viewport_size({"width": 390, "height": 900})
        box = "div.table-wrap.scrolls"
        assert page.eval_on_selector(box, "e => getComputedStyle(e).overflowX") == "auto"
        assert page.eval_on_selector(box, "e => e.scrollWidth > e.clientWidth + 100")
        assert page.is_visible("#matrix-scrolls") and "sideways" in page.inner_text(
            "#matrix-scrolls"
        )
        page.set_viewport_size({"width": 1280, "height": 900})
        assert not page.is_visible("#matrix-scrolls")
        shots.take("environments-open")

        # qa-2's failed deploy: web is to blame, migrate completed (green), worker pending
        with page.expect_navigation():
            page.click("table.matrix >> text=qa-2")
        badge = "table.services span.badge:text-is('{}')"
        assert colour(page, badge.format("crash-looping")) == BAD_RED
        assert colour(page, badge.format("completed")) == OK_GREEN
        assert colour(page, badge.format("pending")) not in (OK_GREEN, BAD_RED)
        assert page.locator("dl.failing dt").all_inner_texts() == ["web crash-looping"]
        shots.take("environment-verdicts")

        # the version page: no sign-in prompt; the forms ask for a name instead
        with page.expect_navigation():
            page.click('ol.timeline >> text="#5"')
        assert page.title() == "TLO GE / Milestone #5 · Consignment"
        assert "Sign in" not in page.inner_text("body")
        with page.expect_navigation():
            page.click("nav.crumbs >> text=Milestone")
        with page.expect_navigation():
            page.click('table.versions tbody th a >> text="#4"')
        options = page.locator("#release-choices option")
        assert [options.nth(i).get_attribute("value") for i in range(options.count())] == ["QA"]
        assert page.inner_text("form.promote p.muted").startswith("Existing releases: QA.")
        shots.take("promote-form")

        # a misspelt release: asked first, offered the one meant
        page.fill("#promote-by", "dave")
        page.fill("#promote-release", "qa")
        with page.expect_navigation():
            page.click("form.promote button")
        assert page.title() == "Promote into a new release? · Consignment"
        assert "TLO GE has no release qa." in page.inner_text("#confirm-new")
        shots.take("promote-confirm")
        with page.expect_navigation():
            page.click("text=Promote into TLO GE / QA")
        assert page.title() == "TLO GE / QA #3 · Consignment"
        notice = page.inner_text("#promoted")
        assert (
            "TLO GE / Milestone #4 was promoted: this is the new version TLO GE / QA #3" in notice
        )
        assert "Milestone #4 by dave" in page.inner_text("#gate")
        page.reload(wait_until="networkidle")  # the icon too: leaving mid-request aborts it
        assert page.locator("#promoted").count() == 0  # said once

        # a new release, on purpose
        with page.expect_navigation():
            page.click("#gate >> text=TLO GE / Milestone #4")
        page.fill("#promote-by", "dave")
        page.fill("#promote-release", "Staging")
        with page.expect_navigation():
            page.click("form.promote button")
        assert "Did you mean" not in page.inner_text("main")
        with page.expect_navigation():
            page.click("text=Create TLO GE / Staging and promote #4 into it")
        assert page.title() == "TLO GE / Staging #1 · Consignment"
        assert "(the first of the new release Staging)" in page.inner_text("#promoted")
        shots.take("promoted")
        listed = requests.get(f"{base}/api/applications/TLO%20GE/releases", timeout=30).text
        assert "Staging" in listed and '"qa"' not in listed  # no release "qa" was made
        assert watch.problems == []
