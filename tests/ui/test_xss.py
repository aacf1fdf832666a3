"""Hostile names and build values (``<script>``, quotes, unicode, spaces, ``..``) display
as they are and are escaped everywhere: no element, attribute or link comes out of data."""

from __future__ import annotations

from urllib.parse import quote

from flask.testing import FlaskClient

from tests.registry.conftest import publish
from tests.ui.html import check_page

APP = "<script>alert('app')<\\script> & \"Ünïcode\""
RELEASE = ".."
OTHER = "Q'A <img src=x onerror=alert(1)>"
COMPONENT = "<svg onload=alert('c')>"
BUILD = {
    "planKey": "<script>alert('plan')</script>",
    "buildNumber": '"><b onmouseover=alert(1)>42',
    "buildResultsUrl": "javascript:alert('url')",
    "planRepository.revision": "'; DROP TABLE builds; --",
    "comment": "</pre><script>alert('comment')</script> — ünï ✓",
}
FRAGMENT = (
    "web:\n  image: busybox\n  environment:\n"
    "    NOTE: \"</code><script>alert('yaml')</script>\"\n"
    '  volumes_from: ["<i>missing</i>"]\n'
)
RAW = ("<script", "<img", "<svg", "<b ", "<i>")  # a tag opened by data


def segment(name: str) -> str:
    encoded = quote(name, safe="")
    return "~" + encoded if encoded in (".", "..") or encoded.startswith("~") else encoded


def assert_safe(data: bytes, *shown: str) -> None:
    page = check_page(data)
    assert not page.all("script") and not page.all("svg") and not page.all("img")
    for element in page.root.iter():
        for attribute, value in element.attrib.items():
            assert not attribute.lower().startswith("on"), (element.tag, attribute)
            if attribute in ("href", "src", "action"):
                assert not value.strip().lower().startswith("javascript:"), value
    body = data.decode("utf-8")
    for raw in RAW:
        assert raw not in body, f"unescaped {raw!r}"
    words = page.words()
    for text in shown:
        assert " ".join(text.split()) in words, f"{text!r} is not shown as it is"


def test_hostile_values_are_shown_and_escaped_on_every_page(client: FlaskClient) -> None:
    made = publish(client, FRAGMENT, [APP], [RELEASE, OTHER], component=COMPONENT, build=BUILD)
    assert made.status_code == 201, made.get_json()
    again = dict(BUILD, buildNumber="43")
    assert (
        publish(
            client,
            FRAGMENT.replace("busybox", "busybox:2"),
            [APP],
            [RELEASE],
            component=COMPONENT,
            build=again,
        ).status_code
        == 201
    )

    home = client.get("/ui/")
    assert_safe(home.data, APP, RELEASE, OTHER, COMPONENT)
    release_url = f"/ui/applications/{segment(APP)}/releases/{segment(RELEASE)}"
    assert release_url in check_page(home.data).links()
    release = client.get(release_url)
    assert release.status_code == 200
    assert_safe(release.data, APP, RELEASE, COMPONENT)

    version = client.get(f"{release_url}/versions/1")
    assert version.status_code == 200
    assert_safe(version.data, APP, COMPONENT, BUILD["planKey"], BUILD["comment"], "<i>missing</i>")
    page = check_page(version.data)
    assert "javascript:alert('url')" not in page.links()  # not a link, only text
    assert BUILD["buildResultsUrl"] in page.words()

    diff = client.get(
        "/ui/diff", query_string={"from": f"{APP}/{OTHER}/1", "to": f"{APP}/{RELEASE}/2"}
    )
    assert diff.status_code == 200
    assert_safe(diff.data, APP, OTHER, COMPONENT, "<script>alert('yaml')</script>")
    rows = check_page(diff.data).rows("services")
    assert rows == [
        [
            "web",
            "changed",
            COMPONENT,
            f"{BUILD['planKey']} #{BUILD['buildNumber']}",
            COMPONENT,
            f"{BUILD['planKey']} #43",
        ]
    ]

    found = client.get(
        "/ui/find", query_string={"component": COMPONENT, "build": BUILD["buildNumber"]}
    )
    assert_safe(found.data, COMPONENT, BUILD["buildNumber"])
    assert [r[:3] for r in check_page(found.data).rows("found")] == [
        [APP, RELEASE, "#1"],
        [APP, OTHER, "#1"],
    ]
    (json_url,) = [h for h in check_page(found.data).links() if h.startswith("/api/find?")]
    behind = client.get(json_url).get_json()  # the hostile names survive the link's encoding
    assert (behind["component"], behind["build"]) == (COMPONENT, BUILD["buildNumber"])
    assert [(f["application"], f["release"], f["versions"]) for f in behind["found"]] == [
        (APP, RELEASE, [1]),
        (APP, OTHER, [1]),
    ]

    error = client.get(f"/ui/applications/{segment(APP)}/releases/{segment('<nope>')}")
    assert error.status_code == 404
    assert_safe(error.data, "<nope>")


def test_names_starting_with_a_tilde_or_dots_round_trip(client: FlaskClient) -> None:
    for name in ("~tilde", ".", "..", "...", "a.b", "%2E%2E"):
        assert (
            publish(client, "web:\n  image: busybox\n", [name], ["R"], component="web").status_code
            == 201
        )
        url = f"/ui/applications/{segment(name)}/releases/R/versions/1"
        page = client.get(url)
        assert page.status_code == 200, url
        assert check_page(page.data).h1.startswith(f"{name} / R")
