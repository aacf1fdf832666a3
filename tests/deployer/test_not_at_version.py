"""After a failed ``compose up``: a service judged on a container of another build is not
deployed (the rule of :func:`deployer.deploy.attempt.not_at_version`)."""

from __future__ import annotations

from deployer.deploy.attempt import not_at_version
from deployer.verdicts import ServiceVerdict, Verdict


def _sv(service: str, verdict: Verdict = Verdict.RUNNING) -> ServiceVerdict:
    return ServiceVerdict(service, verdict, None, "", 2.0, [f"p-{service}-1"])


def test_a_service_still_on_the_old_build_is_not_created_with_composes_words() -> None:
    verdicts = {"web": _sv("web"), "worker": _sv("worker")}
    behind = {"worker": ["p-worker-1"]}  # it carries the previous version's labels
    words = {"worker": "image x:2 is not on the host and could not be pulled: pull denied"}
    changed = not_at_version(verdicts, behind, words)
    assert list(changed) == ["worker"]
    assert changed["worker"].verdict == Verdict.NOT_CREATED
    assert changed["worker"].detail.endswith(words["worker"])
    assert changed["worker"].containers == ["p-worker-1"]


def test_compose_complaining_while_every_service_is_at_the_version_changes_nothing() -> None:
    verdicts = {"web": _sv("web"), "worker": _sv("worker")}
    assert not_at_version(verdicts, {}, {"web": "some complaint"}) == {}


def test_a_service_partly_replaced_is_not_at_the_version() -> None:
    verdicts = {"web": _sv("web")}  # two replicas: one new, one still the old build's
    changed = not_at_version(verdicts, {"web": ["p-web-2"]}, {})
    assert changed["web"].verdict == Verdict.NOT_CREATED and "p-web-2" in changed["web"].detail


def test_an_observed_failure_is_left_as_it_is() -> None:
    verdicts = {"worker": _sv("worker", Verdict.EXITED)}
    assert not_at_version(verdicts, {"worker": ["p-worker-1"]}, {"worker": "failed"}) == {}
