"""The deploy typed once: the request's parts and the Outcome's one error (no engine)."""

from __future__ import annotations

import pytest

from deployer.deploy.outcome import Outcome
from deployer.deploy.record import Deployed
from deployer.deploy.request import DeployRequest, DeploySettings, LedgerOptions, Source, Target
from deployer.deploy.sources import SourceError


def _record(source: str, where: str) -> Deployed:
    return Deployed("p", "A", "R", "4", "c0ffee", source, where, {})


def test_a_version_deployed_from_a_file_cannot_be_fetched_again() -> None:
    source = Source(file_path="/tmp/descriptor.yml")
    with pytest.raises(SourceError, match="local file"):
        source.previous(_record("file", "/tmp/old.yml"))


def test_a_source_with_nothing_to_fetch_from_says_so() -> None:
    with pytest.raises(SourceError):
        Source().fetch("A", "R", "1")


def test_the_request_is_frozen_and_names_its_project() -> None:
    request = DeployRequest(
        "A", "R", "2", Source(registry="http://r"), Target(), DeploySettings("a-r"),
        LedgerOptions(),
    )  # fmt: skip
    assert request.project == "a-r" and request.settings.workdir.root is None
    with pytest.raises(AttributeError):
        request.force = True  # type: ignore[misc]


def test_the_first_failure_is_the_cause_and_stays() -> None:
    outcome = Outcome("A", "R", "2", "registry", "http://r", None, "p")
    assert outcome.ok
    outcome.fail("compose up failed: pull access denied")
    outcome.fail("--require-pinned-images: web not running the image CI built and recorded")
    assert outcome.error == "compose up failed: pull access denied" and not outcome.ok
