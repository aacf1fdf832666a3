"""The read pages through the app: what they show, that each parses, has a title and
headings and links to the JSON behind it, and that those links answer."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.registry.conftest import publish
from tests.registry.test_app_ledger import report
from tests.ui.conftest import WEB, WEB2, bamboo, fill_client
from tests.ui.html import check_page

MILESTONE = "/ui/applications/TLO%20GE/releases/Milestone"


def get_page(client: FlaskClient, url: str, status: int = 200) -> Any:
    answer = client.get(url)
    assert answer.status_code == status, answer.data[:500]
    assert answer.mimetype == "text/html"
    assert "script-src" not in answer.headers["Content-Security-Policy"]  # none may run
    assert answer.headers["Server-Timing"].startswith("app;dur=")
    return check_page(answer.data)


def json_links_answer(client: FlaskClient, page: Any) -> None:
    """Every link to the API or a descriptor from this page answers 200."""
    for href in page.links():
        path = urlsplit(href)
        if path.path.startswith(("/api/", "/descriptor/", "/openapi.json")):
            target = path.path + (f"?{path.query}" if path.query else "")
            assert client.get(target).status_code == 200, href


def test_browsers_asking_for_root_go_to_the_ui_api_clients_do_not(client: FlaskClient) -> None:
    browser = client.get("/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert browser.status_code == 302 and browser.headers["Location"] == "/ui/"
    for accept in (None, "*/*", "application/json"):
        answer = client.get("/", headers={"Accept": accept} if accept else {})
        assert answer.status_code == 404
        assert answer.get_json() == {"error": "not_found", "message": "no such URL: /"}


def test_home_lists_every_release_with_its_latest_version(history: FlaskClient) -> None:
    page = get_page(history, "/ui/")
    assert page.title == "Applications · Consignment"
    assert [page.text(h).strip() for h in page.all("h2")] == ["TLO EE", "TLO GE"]
    rows = page.rows("stack")
    assert [(r[0], r[1], r[3], r[4]) for r in rows] == [
        ("Milestone", "#2", "db", "TLO-DB #7"),
        ("QA", "#1", "web", "TLO-WEB #41"),
        ("Milestone", "#5", "plex", "build 9"),
        ("QA", "#2", "data", "TLO-DATA #3"),
    ]
    json_links_answer(history, page)


def test_home_before_anything_is_published(client: FlaskClient) -> None:
    page = get_page(client, "/ui/")
    assert "Nothing has been published yet" in page.words()


def test_release_is_paged_like_the_api(client: FlaskClient) -> None:
    for n in range(1, 8):
        publish(
            client,
            WEB.replace("8080", str(n)),
            ["TLO GE"],
            ["Milestone"],
            component="web",
            build=bamboo("TLO-WEB", n),
        )
    first = get_page(client, f"{MILESTONE}?limit=3")
    assert [r[0] for r in first.rows("versions")] == ["#7", "#6", "#5"]
    assert "7 versions, newest first. This page: #7 to #5." in first.words()
    assert f"{MILESTONE}?limit=3&before=5" in first.links()
    middle = get_page(client, f"{MILESTONE}?limit=3&before=5")
    assert [r[0] for r in middle.rows("versions")] == ["#4", "#3", "#2"]
    assert f"{MILESTONE}?limit=3&before=2" in middle.links()  # older
    assert f"{MILESTONE}?limit=3" in middle.links()  # newer: the newest page
    last = get_page(client, f"{MILESTONE}?limit=3&before=2")
    assert [r[0] for r in last.rows("versions")] == ["#1"]
    assert last.rows("versions")[0][5] == "first"
    json = [h for h in last.links() if h.startswith("/api/")]
    assert json == ["/api/applications/TLO%20GE/releases/Milestone/versions?limit=3&before=2"]
    json_links_answer(client, last)
    assert client.get(f"{MILESTONE}?limit=0").status_code == 400
    assert client.get(f"{MILESTONE}?before=x").status_code == 400


def test_version_page_shows_builds_services_and_how_to_fetch(make_app: Any) -> None:
    app: Flask = make_app(
        UI_RUNDECK_URL_TEMPLATE="https://rd.example/job/x?a={application}&r={release}&v={version}"
    )
    client = app.test_client()
    fill_client(client)
    page = get_page(client, f"{MILESTONE}/versions/4")
    assert page.title == "TLO GE / Milestone #4 · Consignment"
    assert page.rows("components") == [
        ["web", "web", "TLO-WEB", "42", "feedc0ffee12", "CI result", "YAML"],
        ["db", "db", "TLO-DB", "7", "—", "CI result", "YAML"],
        ["data", "data", "TLO-DATA", "3", "—", "CI result", "YAML"],
    ]
    links = page.links()
    assert "https://bamboo.example/browse/TLO-WEB-42" in links
    assert "https://rd.example/job/x?a=TLO%20GE&r=Milestone&v=4" in links
    assert "/ui/find?component=web&build=42" in links
    text = page.words()
    assert "git checkout TLO%20GE/Milestone/4" in text
    assert "consign deploy 'TLO GE' Milestone 4 --registry http://localhost" in text
    assert [page.text(h).strip() for h in page.all("h2")] == [
        "Gate",
        "Where it runs",
        "Components (3)",
        "Fetch it",
        "Descriptor",
    ]
    assert page.by_class("div", "highlight")
    json_links_answer(client, page)
    warned = get_page(client, f"{MILESTONE}/versions/5")
    assert next(page.text(h).strip() for h in warned.all("h2")) == "Warnings"


def test_latest_redirects_to_the_numbered_page(history: FlaskClient) -> None:
    answer = history.get(f"{MILESTONE}/versions/latest")
    assert answer.status_code == 302
    assert answer.headers["Location"] == f"{MILESTONE}/versions/5"


@pytest.mark.parametrize(
    ("url", "status", "says"),
    [
        (f"{MILESTONE}/versions/99", 404, "has no version 99 (latest is 5)"),
        (f"{MILESTONE}/versions/x", 400, "version must be a positive number"),
        ("/ui/applications/Nope/releases/Milestone", 404, "unknown application 'Nope'"),
        ("/ui/diff?to=TLO GE/Milestone", 400, "must be APPLICATION/RELEASE/VERSION"),
        ("/ui/diff", 400, "needs 'to'"),
        ("/ui/diff?to=TLO GE/Milestone/1", 400, "is the first version"),
        ("/ui/find?component=db&build=7&scan=0", 400, "'scan'"),
    ],
)
def test_bad_requests_are_html_pages_that_say_why(
    history: FlaskClient, url: str, status: int, says: str
) -> None:
    page = get_page(history, url, status)
    assert says in page.text(page.by_class("p", "error")[0])


def test_diff_of_two_versions_of_a_release(history: FlaskClient) -> None:
    page = get_page(history, "/ui/diff?from=TLO GE/Milestone/1&to=TLO GE/Milestone/5")
    assert page.title == "Diff TLO GE/Milestone/1 → TLO GE/Milestone/5 · Consignment"
    assert page.rows("services") == [
        ["web", "changed", "web", "TLO-WEB #41", "web", "TLO-WEB #42"],
        ["db", "added", "—", "—", "db", "TLO-DB #7"],
        ["data", "added", "—", "—", "data", "TLO-DATA #3"],
        ["plex", "added", "—", "—", "plex", "build 9"],
    ]
    rows = [r for r in page.rows("sbs") if len(r) == 4]  # left number, left, right number, right
    assert rows[0] == ["1", "services:", "1", "services:"]
    assert any(r[2:] == ["3", "    image: busybox:2"] and r[:2] != r[2:] for r in rows)
    assert rows[-1] == ["", "", "17", "    - bittorrent-sync-data"]
    json = next(h for h in page.links() if h.startswith("/api/"))
    data = history.get(json).get_json()
    assert (data["from"], data["to"], len(data["added"])) == (1, 5, 3)


def test_diff_defaults_to_the_previous_version_and_shows_rebuilds(history: FlaskClient) -> None:
    publish(
        history,
        WEB2,  # the same YAML as version 5's web, from another build
        ["TLO GE"],
        ["Milestone"],
        component="web",
        build=bamboo("TLO-WEB", 43),
    )
    page = get_page(history, "/ui/diff?to=TLO GE/Milestone/6")
    assert page.rows("services") == [["web", "rebuilt", "web", "TLO-WEB #42", "web", "TLO-WEB #43"]]
    assert "The two descriptors are identical." in page.words()


def test_diff_across_releases_and_back(history: FlaskClient) -> None:
    page = get_page(history, "/ui/diff?from=TLO GE/QA/2&to=TLO GE/Milestone/4")
    assert [(r[0], r[1]) for r in page.rows("services")] == [("web", "changed"), ("db", "added")]
    swap = [h for h in page.links() if "from=TLO+GE%2FMilestone%2F4" in h]
    assert swap == ["/ui/diff?from=TLO+GE%2FMilestone%2F4&to=TLO+GE%2FQA%2F2"]
    back = get_page(history, swap[0])
    assert [(r[0], r[1]) for r in back.rows("services")] == [("web", "changed"), ("db", "removed")]
    json_links_answer(history, back)


def test_find_a_build(history: FlaskClient) -> None:
    page = get_page(history, "/ui/find?component=web&build=TLO-WEB-41")
    assert page.title == "Build TLO-WEB-41 of web · Consignment"
    assert page.rows("found") == [
        ["TLO EE", "Milestone", "#1\u2013#2", "2", "TLO-WEB #41", "nowhere"],
        ["TLO EE", "QA", "#1", "1", "TLO-WEB #41", "nowhere"],
        ["TLO GE", "Milestone", "#1\u2013#3", "3", "TLO-WEB #41", "nowhere"],
        ["TLO GE", "QA", "#1\u2013#2", "2", "TLO-WEB #41", "nowhere"],
    ]
    # where they run: the environments whose current version holds the build
    for env, version in (("qa-1", 2), ("qa-2", 4)):  # Milestone #4 has build 42, not 41
        body = report(version, finished="2026-12-01T10:01:00Z")
        assert history.post(f"/api/environments/{env}/deployments", json=body).status_code == 201
    page = get_page(history, "/ui/find?component=web&build=TLO-WEB-41")
    assert page.rows("found")[2][5] == "qa-1 #2 ok"
    # the JSON behind it: the same search (GET /api/find), the same answer
    json = [h for h in page.links() if h.startswith("/api/")]
    assert json == ["/api/find?component=web&build=TLO-WEB-41&scan=1000"]
    found = history.get(json[0]).get_json()["found"]
    assert [(f["application"], f["release"], f["runs"]) for f in found][2] == (
        "TLO GE",
        "Milestone",
        [{"from": 1, "to": 3}],
    )
    assert [(r["environment"], r["version"], r["outcome"]) for r in found[2]["running"]] == [
        ("qa-1", 2, "ok")
    ]
    assert "/ui/environments/qa-1" in page.links() and "/ui/environments/qa-2" not in page.links()
    by_revision = get_page(history, "/ui/find?component=web&build=feedc0f")
    assert [r[2] for r in by_revision.rows("found")] == ["#4\u2013#5"]
    none = get_page(history, "/ui/find?component=web&build=999")
    assert "No version searched holds build 999" in none.words()
    shallow = get_page(history, "/ui/find?component=web&build=41&scan=1")
    assert "not searched to the start" in shallow.words()
    assert "/ui/find?component=web&build=41&scan=10" in shallow.links()
    form = get_page(history, "/ui/find")
    assert form.h1 == "Find a build"
    assert not [h for h in form.links() if h.startswith("/api/")]  # nothing asked: no JSON


def test_static_files_are_served_from_the_package(client: FlaskClient) -> None:
    with client.get("/ui/static/site.css") as css:
        assert css.status_code == 200 and css.mimetype == "text/css"
    with client.get("/ui/static/favicon.svg") as icon:
        assert icon.status_code == 200


def test_a_bad_rundeck_template_fails_at_startup(make_app: Any) -> None:
    with pytest.raises(ValueError, match=r"unknown placeholder \{app\}"):
        make_app(UI_RUNDECK_URL_TEMPLATE="https://rd/x?a={app}")
    with pytest.raises(ValueError, match="http"):
        make_app(UI_RUNDECK_URL_TEMPLATE="javascript:alert({version})")
