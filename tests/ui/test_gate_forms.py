"""The gate on the pages: frozen releases, approvals and rejections, deploy badges, where a
version runs; and the forms (approve, reject, promote) through the app: what they record,
and that they are refused without a sign-in, without the role and without the CSRF token."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.registry.test_app_ledger import report
from tests.ui.conftest import fill_client
from tests.ui.html import check_page
from tests.ui.test_signin import csrf, sign_in
from tests.ui.test_xss import assert_safe

PUBLISH, APPROVE, RELEASE = "publisher-token-1", "approver-token-22", "releaser-token-333"
V4 = "/ui/applications/TLO%20GE/releases/Milestone/versions/4"
API = "/api/applications/TLO%20GE/releases/Milestone"


@pytest.fixture
def gated(make_app: Any) -> Flask:
    app: Flask = make_app(
        PUBLISH_TOKENS=PUBLISH,
        APPROVE_TOKENS=f"qa-alice:{APPROVE}",
        RELEASE_TOKENS=f"rm-bob:{RELEASE}",
    )
    filler = app.test_client()
    filler.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {PUBLISH}"
    fill_client(filler)
    return app


def test_approve_and_reject_through_the_forms(gated: Flask) -> None:
    qa = gated.test_client()
    assert sign_in(qa, APPROVE).status_code == 303
    page = check_page(qa.get(V4).data)
    actions = [f.get("action") for f in page.all("form")]
    assert f"{V4}/approve" in actions and f"{V4}/reject" in actions
    assert f"{V4}/promote" not in actions  # qa-alice does not hold the release role
    token = csrf(qa, V4)
    done = qa.post(f"{V4}/approve", data={"csrf_token": token, "comment": "smoke tests pass"})
    assert done.status_code == 303 and done.headers["Location"] == f"{V4}#gate"
    page = check_page(qa.get(V4).data)
    assert page.rows("approvals")[0][0] == "qa-alice" and "smoke tests pass" in page.words()
    release = check_page(qa.get("/ui/applications/TLO%20GE/releases/Milestone").data)
    assert [r[6] for r in release.rows("versions")][1] == "1 approval"  # #4, newest first
    # a rejection needs a reason (the API's rule), then stands
    refused = qa.post(f"{V4}/reject", data={"csrf_token": token, "reason": "  "})
    assert refused.status_code == 400 and "reason" in check_page(refused.data).words()
    assert (
        qa.post(f"{V4}/reject", data={"csrf_token": token, "reason": "login broken"}).status_code
        == 303
    )
    recorded = gated.test_client().get(f"{API}/versions/4").get_json()
    assert recorded["rejected"]["identity"] == "qa-alice" and recorded["approvals"] == []
    page = check_page(qa.get(V4).data)
    assert "Rejected by qa-alice" in page.words() and "login broken" in page.words()
    assert "rejected by qa-alice" in " ".join(
        r[6]
        for r in check_page(qa.get("/ui/applications/TLO%20GE/releases/Milestone").data).rows(
            "versions"
        )
    )


def test_forms_refused_without_sign_in_role_or_csrf(gated: Flask) -> None:
    anonymous = gated.test_client()
    token = csrf(anonymous, "/ui/sign-in")
    answer = anonymous.post(f"{V4}/approve", data={"csrf_token": token})
    assert answer.status_code == 401
    assert not [
        f
        for f in check_page(anonymous.get(V4).data).all("form")
        if "approve" in (f.get("action") or "")
    ]
    publisher = gated.test_client()
    assert sign_in(publisher, PUBLISH).status_code == 303
    token = csrf(publisher, V4)
    assert publisher.post(f"{V4}/approve", data={"csrf_token": token}).status_code == 403
    qa = gated.test_client()
    sign_in(qa, APPROVE)
    assert qa.post(f"{V4}/approve", data={"comment": "no token"}).status_code == 400
    assert (
        qa.post(f"{V4}/approve", data={"csrf_token": "forged", "comment": "x"}).status_code == 400
    )
    assert (
        qa.post(f"{V4}/promote", data={"csrf_token": csrf(qa, V4), "to_release": "QA"}).status_code
        == 403
    )
    decisions = gated.test_client().get(f"{API}/versions/4").get_json()
    assert decisions["approvals"] == [] and decisions["rejected"] is None  # nothing recorded
    assert "Standing none" in check_page(gated.test_client().get(V4).data).words()


def test_promote_through_the_form_and_frozen_marks(gated: Flask) -> None:
    rm = gated.test_client()
    sign_in(rm, RELEASE)
    answer = rm.post(f"{V4}/promote", data={"csrf_token": csrf(rm, V4), "to_release": "QA"})
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/ui/applications/TLO%20GE/releases/QA/versions/3"
    page = check_page(rm.get(answer.headers["Location"]).data)
    # the page it lands on says what was made (once: a notice read from the session)
    assert page.by_class("p", "promoted")[0].get("role") == "status"
    assert (
        "promoted TLO GE / Milestone #4 was promoted: this is the new version TLO GE / QA #3."
        in page.words()
    )
    assert not check_page(rm.get(answer.headers["Location"]).data).by_class("p", "promoted")
    assert "Promoted fromTLO GE / Milestone #4 by rm-bob" in page.words()
    assert "Promoted tonot promoted" in page.words()
    source = check_page(rm.get(V4).data)  # the source names where it went, with a link
    assert "Promoted toTLO GE / QA #3 by rm-bob" in source.words()
    assert "/ui/applications/TLO%20GE/releases/QA/versions/3" in source.links()
    # the form offers the existing releases; a new name asks first, and makes nothing
    form = [f for f in check_page(rm.get(V4).data).all("form") if "promote" in f.get("action")]
    options = [o.get("value") for o in form[0].iter("{http://www.w3.org/1999/xhtml}option")]
    assert options == ["QA", "TLO EE", "TLO GE"]  # releases but this one, then applications
    token = csrf(rm, V4)
    asked = rm.post(f"{V4}/promote", data={"csrf_token": token, "to_release": "Later"})
    assert asked.status_code == 200
    confirm = check_page(asked.data)
    assert confirm.h1 == "Promote into a new release?"
    assert "TLO GE has no release Later." in confirm.words()
    assert "Create TLO GE / Later and promote #4 into it" in confirm.words()
    assert "Did you mean" not in confirm.words()
    misspelt = check_page(
        rm.post(f"{V4}/promote", data={"csrf_token": token, "to_release": "qa"}).data
    )
    assert "Promote into TLO GE / QA" in misspelt.words()  # the closest existing release
    assert api_versions(gated, "QA") == [3, 2, 1] and api_versions(gated, "qa") is None
    # another application, misspelt: the applications closest in spelling
    other = {"csrf_token": token, "to_release": "QA", "to_application": "TLO ge"}
    asked = check_page(rm.post(f"{V4}/promote", data=other).data)
    assert "There is no application TLO ge." in asked.words()
    assert (
        "Promote into TLO GE / QA" in asked.words() and "Promote into TLO EE / QA" in asked.words()
    )
    # another application that exists, with a release it does not have
    other |= {"to_application": "TLO EE", "to_release": "Staging"}
    asked = check_page(rm.post(f"{V4}/promote", data=other).data)
    assert "TLO EE has no release Staging." in asked.words()
    again = rm.post(
        f"{V4}/promote", data={"csrf_token": token, "to_release": "Later", "create": "yes"}
    )
    assert again.status_code == 303
    words = check_page(rm.get(V4).data).words()
    assert "Promoted toTLO GE / Later #1 by rm-bob" in words and "; TLO GE / QA #3 by" in words
    api = gated.test_client()
    api.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {RELEASE}"
    frozen = api.put(f"{API}/freeze", json={"reason": "<b>go-live</b>", "by": "bob"})
    assert frozen.status_code == 200, frozen.get_json()
    home = rm.get("/ui/")
    assert_safe(home.data, "frozen")
    milestone = [r for r in check_page(home.data).rows("stack") if r[0].startswith("Milestone")]
    assert [r[0] for r in milestone] == ["Milestone", "Milestone frozen"]  # TLO EE, TLO GE
    # a frozen target refuses the promotion (the store's rule): an error page, nothing made
    refused = rm.post(
        "/ui/applications/TLO%20GE/releases/QA/versions/3/promote",
        data={"csrf_token": csrf(rm, V4), "to_release": "Milestone"},
    )
    assert refused.status_code == 423 and "go-live" in check_page(refused.data).words()
    assert api.get(f"{API}/versions/latest").get_json()["version"] == 5


def api_versions(app: Flask, release: str) -> list[int] | None:
    answer = app.test_client().get(f"/api/applications/TLO%20GE/releases/{release}/versions")
    if answer.status_code == 404:
        return None
    return [v["version"] for v in answer.get_json()["versions"]]


def test_no_tokens_no_sign_in_prompt_and_open_forms(make_app: Any) -> None:
    """A registry with no tokens: nothing says "sign in" (there is nothing to sign in to);
    the gate's roles are open as in the API, so the forms ask who acts instead."""
    app: Flask = make_app()
    fill_client(app.test_client())
    client = app.test_client()
    page = check_page(client.get(V4).data)
    assert "Sign in" not in page.words() and "/ui/sign-in" not in " ".join(page.links())
    posts = [f.get("action") or "" for f in page.all("form") if f.get("method") == "post"]
    assert [action.rsplit("/", 1)[1] for action in posts] == ["approve", "reject", "promote"]
    token = csrf(client, V4)
    nameless = client.post(f"{V4}/approve", data={"csrf_token": token})
    assert (
        nameless.status_code == 400 and "by must not be blank" in check_page(nameless.data).words()
    )
    done = client.post(f"{V4}/approve", data={"csrf_token": token, "by": "carol", "comment": "ok"})
    assert done.status_code == 303
    approvals = app.test_client().get(f"{API}/versions/4").get_json()["approvals"]
    assert [(a["by"], a["identity"]) for a in approvals] == [("carol", None)]
    made = client.post(
        f"{V4}/promote", data={"csrf_token": token, "by": "dave", "to_release": "QA"}
    )
    assert made.status_code == 303
    promoted = app.test_client().get("/api/applications/TLO%20GE/releases/QA/versions/3")
    assert promoted.get_json()["promoted_by"] == {"by": "dave", "identity": None}
    # reached anyway (a bookmark): it says so, offers no form, and leads back
    signin = check_page(client.get("/ui/sign-in", query_string={"next": V4}).data)
    assert "nothing to sign in to" in signin.words() and not signin.all("form")
    assert V4 in signin.links()


def test_where_a_version_runs_and_ran(gated: Flask) -> None:
    api = gated.test_client()
    assert api.post("/api/environments/qa-1/deployments", json=report(4)).status_code == 201
    failed = report(5, outcome="failed", finished="2026-12-01T10:05:00Z")
    assert api.post("/api/environments/qa-2/deployments", json=failed).status_code == 201
    assert (
        api.post(
            "/api/environments/qa-1/deployments", json=report(5, finished="2026-12-01T10:09:00Z")
        ).status_code
        == 201
    )
    client = gated.test_client()
    home = check_page(client.get("/ui/").data)
    ge = [r for r in home.rows("stack") if r[0] == "Milestone"][1]
    assert ge[5] == "qa-1 #5 ok qa-2 #5 failed"
    release = check_page(client.get("/ui/applications/TLO%20GE/releases/Milestone").data)
    assert [r[7] for r in release.rows("versions")][:2] == ["qa-1 ok qa-2 failed", "qa-1 ok"]
    v4 = check_page(client.get(V4).data)
    assert "Not running in any environment now." in v4.words()
    assert [r[:3] for r in v4.rows("deployments")] == [["qa-1", "deploy", "ok"]]
    v5 = check_page(client.get(V4[:-1] + "5").data)
    assert "Now: qa-1 ok since" in v5.words() and "qa-2 failed since" in v5.words()


def test_hostile_decisions_and_names_are_escaped(make_app: Any) -> None:
    from tests.registry.conftest import publish
    from tests.ui.test_xss import APP, COMPONENT, segment

    app: Flask = make_app(APPROVE_TOKENS=f"<img src=x onerror=alert(1)>:{APPROVE}")
    client = app.test_client()
    made = publish(client, "web:\n  image: busybox\n", [APP], ["R"], component=COMPONENT)
    assert made.status_code == 201, made.get_json()
    sign_in(client, APPROVE)
    url = f"/ui/applications/{segment(APP)}/releases/R/versions/1"
    comment = "</td><script>alert('comment')</script> ✓"
    done = client.post(f"{url}/approve", data={"csrf_token": csrf(client, url), "comment": comment})
    assert done.status_code == 303
    assert_safe(client.get(url).data, APP, comment, "<img src=x onerror=alert(1)>")
    assert_safe(client.get(f"/ui/applications/{segment(APP)}/releases/R").data, APP, "1 approval")
