"""One set of field validators (registry/http/parsing/fields.py): text limits count bytes of
UTF-8 for every body, the publish's, the ledger's, the lock's and the gate's alike."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from consign.compose.errors import InvalidName
from registry.errors import BadRequest
from registry.http.parsing import fields
from tests.registry.conftest import b64
from tests.registry.test_app_ledger import report
from tests.serving import ServedRegistry

WIDE = "é"  # one character, two bytes of UTF-8


def refusal(call: Any, *args: Any, **kwargs: Any) -> BadRequest:
    with pytest.raises(BadRequest) as refused:
        call(*args, **kwargs)
    return refused.value


def test_text_limits_count_bytes_of_utf8() -> None:
    assert fields.text(WIDE * 100, "by", limit=200) == WIDE * 100
    e = refusal(fields.text, WIDE * 101, "by", limit=200)
    assert e.message == "by is 202 bytes of UTF-8; the limit is 200"
    assert e.details == {"field": "by", "limit": 200}
    assert "8 bytes" in refusal(fields.text, "🚢" * 2, "x", limit=7).message


@pytest.mark.parametrize(
    ("value", "options", "says"),
    [
        (7, {}, "by must be a string, not a number"),
        (None, {}, "by must be a string, not null"),
        ("  ", {}, "by must not be blank"),
        ("a\x00b", {}, "by must not contain control characters"),
        ("a\nb", {"one_line": True}, "by must be one line (no newline or tab)"),
        ("a\tb", {"one_line": True}, "by must be one line (no newline or tab)"),
    ],
)
def test_text_refusals_name_the_field(value: Any, options: dict[str, Any], says: str) -> None:
    e = refusal(fields.text, value, "by", limit=200, **options)
    assert (e.message, e.details["field"], e.status) == (says, "by", 400)


def test_text_keeps_what_it_allows() -> None:
    assert fields.text("", "detail", limit=10, blank=True) == ""
    assert fields.text("two\nlines\tand a tab", "detail", limit=100) == "two\nlines\tand a tab"
    assert fields.optional_text(None, "image", limit=10) is None


def test_whole_numbers_are_integers_in_range() -> None:
    assert fields.whole_number(3, "version") == 3
    for bad in (True, 1.0, "1", 0, 10**18):
        e = refusal(fields.whole_number, bad, "version")
        assert e.message == f"version must be a positive whole number, not {bad!r}"
    e = refusal(fields.whole_number, 5, "ttl", low=10, high=20, meaning="a number of seconds")
    assert e.message == "ttl must be a number of seconds, not 5"
    assert fields.optional_whole_number(None, "version") is None


def test_fields_unknown_then_missing_with_the_path() -> None:
    e = refusal(fields.check_fields, {"x": 1}, ("a",), ("b",))
    assert e.message == "unknown field 'x' (allowed: a, b)" and e.details["field"] == "x"
    e = refusal(fields.check_fields, {}, ("a",), ("b",))
    assert e.message == "the field 'a' is missing"
    e = refusal(fields.check_fields, {}, ("service",), (), prefix="services[2].")
    assert e.message == "the field services[2].service is missing"
    assert e.details["field"] == "services[2].service"


def test_objects_timestamps_and_names() -> None:
    assert fields.json_object({"a": WIDE}, "build", max_bytes=11) == {"a": WIDE}
    e = refusal(fields.json_object, {"a": WIDE * 4}, "build", max_bytes=10)
    assert e.message == "build is 17 bytes of JSON; the limit is 10"
    assert (
        "must be a JSON object, not an array"
        in refusal(fields.json_object, [], "b", max_bytes=9).message
    )
    assert fields.timestamp("2026-12-01T11:00:00+01:00", "at") == "2026-12-01T10:00:00.000Z"
    assert "needs a time zone" in refusal(fields.timestamp, "2026-12-01T11:00:00", "at").message
    assert fields.name_list(None, "healthy_in", at_least_one=False) == ()
    assert (
        "must name at least one"
        in refusal(fields.name_list, [], "releases", at_least_one=True).message
    )
    assert (
        "names 'a' twice" in refusal(fields.name_list, ["a", "a"], "r", at_least_one=True).message
    )
    with pytest.raises(InvalidName):
        fields.check_name(" ", "component")


def test_every_body_counts_the_same_bytes_through_a_served_registry(
    served: ServedRegistry,
) -> None:
    """The same ``by`` (100 characters, 202 bytes) is refused alike by a report, a lock, a
    promotion, a freeze and a retirement of a real `consign serve`; 100 two-byte characters
    (200 bytes) pass everywhere."""
    url = served.url
    seed = {
        "fragment": b64("services:\n  web:\n    image: busybox\n"),
        "applications": ["App"],
        "releases": ["Dev", "Prod"],
    }
    assert requests.put(f"{url}/fragment", json=seed, timeout=60).status_code == 201
    release = f"{url}/api/applications/App/releases/Prod"
    too_long, fits = WIDE * 101, WIDE * 100

    def bodies(by: str) -> list[tuple[str, str, dict[str, Any], str]]:
        return [
            ("POST", f"{url}/api/environments/qa-1/deployments",
             report(1, application="App", release="Dev", by=by), "by"),
            ("POST", f"{url}/api/environments/qa-2/lock", {"holder": {"by": by}, "ttl": 60},
             "holder.by"),
            ("POST", f"{release}/promotions", {"from_release": "Dev", "version": 1, "by": by},
             "by"),
            ("PUT", f"{release}/freeze", {"reason": "release week", "by": by}, "by"),
            ("POST", f"{url}/api/environments/qa-1/retirement", {"by": by, "reason": "gone"},
             "by"),
        ]  # fmt: skip

    for method, target, body, field in bodies(too_long):
        answer = requests.request(method, target, json=body, timeout=60)
        found = answer.json()
        assert answer.status_code == 400, (target, found)
        assert found["field"] == field, (target, found)
        assert found["message"] == f"{field} is 202 bytes of UTF-8; the limit is 200", target
    for method, target, body, _ in bodies(fits):
        answer = requests.request(method, target, json=body, timeout=60)
        assert answer.status_code in (200, 201), (target, answer.text)
