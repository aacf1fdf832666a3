"""Bodies and signatures (registry/events/formats.py), read back as a receiver would: the
CloudEvents SDK parses the structured event, the documented snippet checks the signature."""

from __future__ import annotations

import hashlib
import hmac
import json

from cloudevents.core.bindings.http import HTTPMessage, from_http_event

from registry.events.catalog import Event
from registry.events.formats import cloudevent, signature, slack, ui_link

FAILED = Event(
    "deployment.recorded",
    "qa-1/TLO GE/Milestone",
    {
        "kind": "deploy",
        "application": "TLO GE",
        "release": "Milestone",
        "environment": "qa-1",
        "version": 41,
        "outcome": "rolled_back",
        "rolled_back_to": 40,
        "services": [
            {"service": "web", "verdict": "healthy", "detail": ""},
            {"service": "api", "verdict": "exited", "detail": "exit 3 <oom>"},
        ],
        "verification": {
            "status": "failed",
            "tests": [
                {"service": "smoke", "verdict": "failed", "exit_code": 1},
                {"service": "api-suite", "verdict": "timed_out", "exit_code": None},
                {"service": "ui-suite", "verdict": "failed", "exit_code": None},
                {"service": "unit", "verdict": "passed", "exit_code": 0},
            ],
        },
    },
    application="TLO GE",
    release="Milestone",
    environment="qa-1",
    outcome="rolled_back",
)


def verify(secret: bytes, body: bytes, header: str) -> bool:
    """The snippet of docs/events.md, as a receiver runs it."""
    expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)


def test_a_cloudevent_in_structured_mode_as_the_sdk_reads_it() -> None:
    headers, body = cloudevent(FAILED)
    assert headers == {"content-type": "application/cloudevents+json"}
    parsed = from_http_event(HTTPMessage(headers=headers, body=body))
    assert (
        parsed.get_id() == FAILED.id and parsed.get_type() == "io.consignment.deployment.recorded"
    )
    assert parsed.get_specversion() == "1.0" and parsed.get_source() == "/consign/registry"
    assert parsed.get_subject() == "qa-1/TLO GE/Milestone"
    data = parsed.get_data()
    assert isinstance(data, dict) and data["rolled_back_to"] == 40


def test_the_signature_is_githubs_hmac_sha256_over_the_body() -> None:
    _, body = cloudevent(FAILED)
    header = signature(b"s3cret", body)
    assert verify(b"s3cret", body, header) and not verify(b"other", body, header)
    assert not verify(b"s3cret", body + b" ", header)


def test_slack_text_says_the_verdict_the_failed_services_and_links_the_page() -> None:
    _, body = slack(FAILED, "https://registry.example.com/")
    text = json.loads(body)["text"]
    assert text.splitlines()[0] == (
        "deploy of TLO GE/Milestone v41 in qa-1: rolled_back, rolled back to v40"
    )
    assert "api (exited: exit 3 &lt;oom&gt;)" in text and "web" not in text.splitlines()[1]
    assert "verification smoke failed (exit 1)" in text
    assert "verification api-suite timed out" in text
    assert "verification ui-suite failed (never started)" in text and "unit" not in text
    assert text.endswith("<https://registry.example.com/ui/environments/qa-1|open in the registry>")


def test_links_go_to_the_version_page_and_need_a_public_url() -> None:
    published = Event("version.published", "s", {"version": 3}, application="A/B", release="..")
    assert (
        ui_link(published, "http://r") == "http://r/ui/applications/A%2FB/releases/~../versions/3"
    )
    assert ui_link(published, "") is None
    _, body = slack(published, "")
    assert "<" not in json.loads(body)["text"]
