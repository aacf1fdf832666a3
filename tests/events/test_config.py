"""The subscriptions file: what it accepts, every mistake a clear error, reloads that keep
the last good configuration (registry/events/config.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from registry.events.catalog import KINDS, Event
from registry.events.config import ConfigWatch, WebhookConfigError, load, parse

GOOD = """
subscriptions:
  - name: qa-chat
    url: https://hooks.example.com/services/T0/B0/XYZ
    format: slack
    events: [deployment.recorded]
    filters: {environment: [qa-*], outcome: [failed, rolled_back]}
    secret_env: QA_SECRET
  - name: all
    url: http://10.1.2.3:8080/events
    events: ["*"]
    allow_private: true
"""


def test_a_good_file_and_what_the_api_shows_of_it() -> None:
    config = parse(GOOD, "hooks.yaml", {"QA_SECRET": "s3cret"})
    chat, everything = config.subscriptions
    assert chat.secret == b"s3cret" and chat.format == "slack"
    assert everything.events == frozenset(KINDS) and everything.allow_private
    shown = chat.to_json()
    assert shown["url"] == "https://hooks.example.com/…"  # the path of a Slack URL is a secret
    assert shown["signed"] is True and shown["secret_from"] == "env QA_SECRET"
    assert "s3cret" not in repr(shown) and "s3cret" not in repr(chat)


def test_filters_constrain_the_events_that_carry_the_attribute() -> None:
    chat = parse(GOOD, "hooks.yaml", {"QA_SECRET": "x"}).subscriptions[0]
    failed = Event("deployment.recorded", "s", {}, environment="qa-1", outcome="failed")
    assert chat.wants(failed)
    assert not chat.wants(Event("deployment.recorded", "s", {}, environment="qa-1", outcome="ok"))
    assert not chat.wants(
        Event("deployment.recorded", "s", {}, environment="prod", outcome="failed")
    )
    assert not chat.wants(Event("drift.recorded", "s", {}, environment="qa-1", outcome="failed"))
    anything = parse(
        "subscriptions: [{name: a, url: 'http://h/', events: ['*'], filters: {environment: qa-1}}]",
        "f",
    ).subscriptions[0]
    assert anything.wants(Event("version.published", "A/R/1", {}, application="A"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "subscriptions: [{name: a, url: 'http://h/', events: [version.publishd]}]",
            "unknown event 'version.publishd' (did you mean version.published?)",
        ),
        ("subscriptions: [{name: a, url: 'ftp://h/', events: ['*']}]", "bad url 'ftp://h/'"),
        ("subscriptions: [{name: a, url: 'http://h:99999/', events: ['*']}]", "bad url"),
        ("subscriptions: [{name: a, events: ['*']}]", "url is required"),
        ("subscriptions: [{name: a, url: 'http://u:p@h/', events: ['*']}]", "credentials"),
        (
            "subscriptions: [{name: a, url: 'http://h/', events: ['*'], secret: x}]",
            "an inline secret is refused",
        ),
        (
            "subscriptions: [{name: a, url: 'http://h/', events: ['*'],"
            " secret_file: /nonexistent/s}]",
            "cannot read secret_file /nonexistent/s",
        ),
        (
            "subscriptions: [{name: a, url: 'http://h/', events: ['*'], secret_env: NOPE_X}]",
            "secret_env NOPE_X is not set",
        ),
        (
            "subscriptions: [{name: a, url: 'http://h/', events: ['*'], format: teams}]",
            "format must be one of cloudevents, slack",
        ),
        (
            "subscriptions: [{name: a, url: 'http://h/', events: ['*'], filters: {host: x}}]",
            "unknown filter 'host'",
        ),
        (
            "subscriptions: [{name: a, url: 'http://h/', events: ['*'], evnts: x}]",
            "unknown key 'evnts'",
        ),
        ("subscriptions: [{name: 'a b', url: 'http://h/', events: ['*']}]", "name is required"),
        ("subscriptions: [{name: a, url: 'http://h/'}]", "events is required"),
        (
            "subscriptions: [{name: a, url: 'http://h/', events: ['*']},"
            " {name: a, url: 'http://h/', events: ['*']}]",
            "'a' is named twice",
        ),
        (
            "subscriptions: [{name: a, url: 'http://h/', events: ['*'],"
            " allow_private: yes please}]",
            "allow_private must be true or false",
        ),
        ("subscriptions: {a: b}", "subscriptions must be a list"),
        ("[1]", "must hold a mapping"),
        ("subscriptions: [\n  - {name: a", "not valid YAML or JSON"),
    ],
)
def test_every_mistake_is_one_clear_error(text: str, message: str) -> None:
    with pytest.raises(WebhookConfigError) as caught:
        parse(text, "hooks.yaml", {})
    assert message in str(caught.value) and str(caught.value).startswith("hooks.yaml")


def test_json_is_read_too(tmp_path: Path) -> None:
    path = tmp_path / "hooks.json"
    path.write_text('{"subscriptions": [{"name": "a", "url": "http://h/", "events": ["*"]}]}')
    assert load(path).subscriptions[0].name == "a"


def test_a_reload_keeps_the_last_good_config_and_says_why(tmp_path: Path) -> None:
    path = tmp_path / "hooks.yaml"
    path.write_text("subscriptions: [{name: a, url: 'http://h/', events: ['*']}]")
    now = [0.0]
    watch = ConfigWatch(str(path), interval=1.0, clock=lambda: now[0])
    path.write_text("subscriptions: [{name: a, url: 'http://h/', events: [nope]}]")
    os.utime(path, ns=(1, 1))
    assert watch.current.subscriptions[0].name == "a" and watch.error is None  # not looked at yet
    now[0] = 2.0
    assert watch.current.subscriptions[0].name == "a"
    assert watch.error is not None and "unknown event 'nope'" in watch.error
    path.write_text("subscriptions: [{name: b, url: 'http://h/', events: ['*']}]")
    os.utime(path, ns=(2, 2))
    now[0] = 4.0
    assert watch.current.subscriptions[0].name == "b" and watch.error is None


def test_a_bad_file_at_start_raises() -> None:
    with pytest.raises(WebhookConfigError, match="cannot read the webhooks file /nonexistent"):
        ConfigWatch("/nonexistent/hooks.yaml")


def test_an_outcome_filter_on_rolled_back_hears_every_rollback() -> None:
    chat = parse(GOOD, "hooks.yaml", {"QA_SECRET": "x"}).subscriptions[0]
    rolled = {"outcome": "verification_failed", "rolled_back_to": 5}
    assert chat.wants(
        Event("deployment.recorded", "s", rolled, environment="qa-1", outcome="verification_failed")
    )
    kept = {"outcome": "verification_failed", "rolled_back_to": None}
    assert not chat.wants(
        Event("deployment.recorded", "s", kept, environment="qa-1", outcome="verification_failed")
    )
