"""The environment pages through the app, over records reported through the real API
(``POST /api/environments/{env}/deployments``): the matrix, one environment's services and
its paged timeline with the failing service, errors, and hostile values escaped."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.registry.test_app_ledger import report
from tests.ui.html import check_page
from tests.ui.test_pages import get_page, json_links_answer
from tests.ui.test_xss import APP, COMPONENT, assert_safe, segment

CRASH = "Back-off restarting failed container\n<script>alert('log')</script> exit 137"


def post(client: FlaskClient, environment: str, body: dict[str, Any]) -> None:
    answer = client.post(f"/api/environments/{environment}/deployments", json=body)
    assert answer.status_code == 201, answer.get_json()


def failed(version: int, **changes: Any) -> dict[str, Any]:
    body = report(version, outcome="failed", finished="2026-12-01T10:05:00Z", **changes)
    body["services"] = [
        dict(body["services"][0]),
        dict(
            body["services"][0],
            service="db",
            verdict="crash_loop",
            detail=CRASH,
            component="db",
            build={"planKey": "TLO-DB", "buildNumber": "7"},
        ),
    ]
    return body


def test_matrix_shows_each_environment_against_each_release(history: FlaskClient) -> None:
    empty = get_page(history, "/ui/environments")
    assert "No deployment has been reported yet" in empty.words()
    post(history, "qa-1", report(4))
    post(history, "qa-1", report(1, release="QA", finished="2026-12-01T10:01:00Z"))
    post(history, "qa-2", failed(5))
    page = get_page(history, "/ui/environments")
    assert page.title == "Environments · Consignment" and page.h1 == "Environments"
    heads = [page.cell(th) for th in page.all("thead")[0].iter(page.all("th")[0].tag)]
    assert heads == ["Environment", "TLO GE / Milestone", "TLO GE / QA"]
    rows = page.rows("matrix")
    assert [r[0] for r in rows] == ["qa-1", "qa-2"]
    assert rows[0][1].startswith("#4 ok since") and rows[0][2].startswith("#1 ok since")
    assert rows[1][1].startswith("#5 failed since") and rows[1][2] == "—"
    assert "/ui/environments/qa-2" in page.links()
    assert "/ui/environments" in get_page(history, "/ui/").links()  # in the menu
    json_links_answer(history, page)


def test_environment_page_services_and_failing_timeline(history: FlaskClient) -> None:
    post(history, "qa-1", report(4))
    post(history, "qa-1", failed(5))
    page = get_page(history, "/ui/environments/qa-1")
    assert page.title == "Environment qa-1 · Consignment"
    words = page.words()
    assert "This page: #2 to #1 of 2." in words and "Lockfree" in words
    # a failed deploy leaves what it deployed recorded as running, with each verdict
    assert page.rows("services") == [
        ["web", "healthy", "sha256:222222222222", "web", "build 7", ""],
        ["db", "crash_loop", "sha256:222222222222", "db", "TLO-DB #7", " ".join(CRASH.split())],
    ]
    items = page.by_class("ol", "timeline")[0]
    entries = [" ".join(page.text(h).split()) for h in items.iter(page.all("h3")[0].tag)]
    assert entries == [
        "#2 deploy of TLO GE / Milestone #5 failed",
        "#1 deploy of TLO GE / Milestone #4 ok",
    ]
    failing = page.by_class("dl", "failing")
    assert len(failing) == 1  # only the failed record, only the failing service
    assert page.text(failing[0]).count("crash_loop") == 1 and "alert('log')" in page.text(
        failing[0]
    )
    assert "/ui/applications/TLO%20GE/releases/Milestone/versions/5" in page.links()
    json_links_answer(history, page)


def test_ok_verdicts_are_green_and_never_listed_as_failing(history: FlaskClient) -> None:
    """A failed deploy of web + a `migrate` one-shot that completed + a worker still
    pending: only web is blamed; the badges say ok (completed), bad, and neutral."""
    body = report(5, outcome="failed", finished="2026-12-01T10:05:00Z")
    web = dict(body["services"][0], verdict="crash-looping", detail="exit 3")
    migrate = dict(web, service="migrate", verdict="completed", detail="exited 0")
    worker = dict(web, service="worker", verdict="pending", detail="")
    body["services"] = [web, migrate, worker]
    post(history, "qa-1", body)
    page = get_page(history, "/ui/environments/qa-1")
    (failing,) = page.by_class("dl", "failing")
    assert [page.text(dt).split()[0] for dt in failing.iter(page.all("dt")[0].tag)] == ["web"]
    badges = {
        page.text(span): (span.get("class") or "").split()
        for table in page.by_class("table", "services")
        for span in table.iter(page.all("span")[0].tag)
        if "badge" in (span.get("class") or "")
    }
    assert badges == {
        "crash-looping": ["badge", "bad"],
        "completed": ["badge", "ok"],
        "pending": ["badge"],
    }


def test_a_retired_environment_leaves_the_matrix_and_keeps_its_page(
    history: FlaskClient,
) -> None:
    post(history, "qa-1", report(4))
    post(history, "vm-shop-dev", report(5, finished="2026-12-01T10:02:00Z"))
    retired = history.post(
        "/api/environments/vm-shop-dev/retirement",
        json={"by": "carol", "reason": "VM deleted <b>for good</b>"},
    )
    assert retired.status_code == 201, retired.get_json()
    page = get_page(history, "/ui/environments")
    assert [r[0] for r in page.rows("matrix")] == ["qa-1"]
    (listing,) = page.by_class("ul", "retired")
    assert page.cell(listing).startswith("vm-shop-dev retired by carol")
    assert "VM deleted <b>for good</b>" in page.cell(listing)  # text, escaped
    assert "/ui/environments/vm-shop-dev" in page.links()
    # where versions run: not there any more
    home = get_page(history, "/ui/")
    assert "vm-shop-dev" not in home.words() and "qa-1" in home.words()
    own = get_page(history, "/ui/environments/vm-shop-dev")
    words = own.words()
    assert "retired by carol" in words and "consign environment restore vm-shop-dev" in words
    assert "Retirementsretired by carol" in words  # the facts: term, then its value
    assert own.rows("services")[0][0] == "web"  # its history stays readable
    # every environment retired: the matrix says so, not "no deployment yet"
    assert (
        history.post(
            "/api/environments/qa-1/retirement", json={"by": "carol", "reason": "gone"}
        ).status_code
        == 201
    )
    assert "Every environment is retired" in get_page(history, "/ui/environments").words()
    restored = history.delete("/api/environments/vm-shop-dev/retirement?by=dave")
    assert restored.get_json()["restored"]["by"] == "carol"
    assert [r[0] for r in get_page(history, "/ui/environments").rows("matrix")] == ["vm-shop-dev"]
    assert "restored by dave" in get_page(history, "/ui/environments/vm-shop-dev").words()


def test_environment_history_is_paged(history: FlaskClient) -> None:
    for n in range(1, 6):
        post(history, "qa-3", report(n))
    first = get_page(history, "/ui/environments/qa-3?limit=2")
    assert "This page: #5 to #4 of 5." in first.words()
    assert "/ui/environments/qa-3?limit=2&before=4" in first.links()
    middle = get_page(history, "/ui/environments/qa-3?limit=2&before=4")
    assert "This page: #3 to #2 of 5." in middle.words()
    assert "/ui/environments/qa-3?limit=2" in middle.links()  # newer: the first page
    assert "/ui/environments/qa-3?limit=2&before=2" in middle.links()
    last = get_page(history, "/ui/environments/qa-3?limit=2&before=2")
    assert "This page: #1 of 5." in last.words()
    assert not any("before=" in h and "qa-3" in h and "Older" in h for h in last.links())
    assert "/ui/environments/qa-3?limit=2&before=1" not in last.links()
    json_links_answer(history, middle)


def test_unknown_and_bad_environments_are_error_pages(history: FlaskClient) -> None:
    missing = get_page(history, "/ui/environments/qa-9", 404)
    assert "qa-9" in missing.words()
    get_page(history, "/ui/environments/QA%20One", 400)
    get_page(history, "/ui/environments/qa-1?limit=0", 400)


def test_hostile_values_in_records_are_escaped(client: FlaskClient) -> None:
    from tests.registry.conftest import publish

    made = publish(client, "web:\n  image: busybox\n", [APP], ["R"], component=COMPONENT)
    assert made.status_code == 201, made.get_json()
    body = failed(1, application=APP, release="R", by="<b onmouseover=alert(1)>mallory")
    body["services"][0]["component"] = COMPONENT
    body["services"][1]["build"] = {"planKey": "<script>x</script>", "buildNumber": "1"}
    post(client, "qa-x", body)
    matrix = client.get("/ui/environments")
    assert_safe(matrix.data, APP)
    assert f"/ui/applications/{segment(APP)}/releases/R" in check_page(matrix.data).links()
    page = client.get("/ui/environments/qa-x")
    assert_safe(page.data, APP, COMPONENT, "<script>x</script> #1", CRASH, "mallory")


def drift_report(version: int, **changes: Any) -> dict[str, Any]:
    """A drift record as ``consign drift --record`` sends it (deployer/ledger/command.py)."""
    body = report(version, kind="drift", outcome="drift", by="drift-check", **changes)
    body["services"] = [
        {
            "service": "web",
            "verdict": "drift",
            "detail": f"image 0123456789ab: runs sha256:{'9' * 64}, recorded sha256:{'2' * 64}",
            "containers": ["0123456789ab"],
            "image": "sha256:" + "9" * 64,
            "component": None,
            "build": {},
        },
        {
            "service": "db",
            "verdict": "drift",
            "detail": "missing 456789abcdef: recorded container is gone",
            "containers": [],
            "image": None,
            "component": None,
            "build": {},
        },
    ]
    return body


def test_environment_page_shows_the_drift_reported_since_each_deployment(
    history: FlaskClient,
) -> None:
    post(history, "qa-d", report(4, finished="2026-12-01T10:01:00Z"))
    post(history, "qa-d", drift_report(4, finished="2026-12-01T10:02:00Z"))  # then redeployed
    post(history, "qa-d", report(5, finished="2026-12-01T10:03:00Z"))
    post(history, "qa-d", report(1, release="QA", finished="2026-12-01T10:04:00Z"))
    page = get_page(history, "/ui/environments/qa-d")
    assert "No drift reported since this deployment" in page.words()
    assert page.by_class("div", "drift") == []  # the old report is of a replaced deployment
    assert "none reported since the deployments running now" in page.words()

    post(history, "qa-d", drift_report(5, finished="2026-12-01T10:05:00Z"))
    post(history, "qa-d", drift_report(5, finished="2026-12-01T10:06:00Z"))  # the newest
    page = get_page(history, "/ui/environments/qa-d")
    words = page.words()
    assert "drift reported for TLO GE / Milestone" in words  # at the top
    assert "#drift-1" in page.links()
    [box] = page.by_class("div", "drift")
    assert box.get("id") == "drift-1"
    text = " ".join(page.text(box).split())
    assert "What runs differs from this deployment: reported 2026-12-01 10:06:00 UTC" in text
    assert "by drift-check (#6, engine host-a)" in text  # the newest of the two reports
    assert "/ui/environments/qa-d?before=7#deployment-6" in page.links()  # its timeline entry
    assert page.rows("drift") == [
        ["web", f"image 0123456789ab: runs sha256:{'9' * 64}, recorded sha256:{'2' * 64}",
         "sha256:999999999999"],
        ["db", "missing 456789abcdef: recorded container is gone", "—"],
    ]  # fmt: skip
    assert words.count("No drift reported since this deployment") == 1  # QA has none
    assert history.get("/ui/environments/qa-d?limit=1").status_code == 200
