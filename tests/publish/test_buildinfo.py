"""Build provenance collected from Bamboo's script-task environment and from options."""

from __future__ import annotations

import pytest

from publisher.buildinfo import BuildInfoError, collect, from_bamboo, parse_digests, parse_pairs

BAMBOO_ENV = {
    "bamboo_planKey": "TLO-TRANS",
    "bamboo_buildKey": "TLO-TRANS-JOB1",
    "bamboo_buildNumber": "42",
    "bamboo_buildResultKey": "TLO-TRANS-JOB1-42",
    "bamboo_buildResultsUrl": "https://bamboo.example/browse/TLO-TRANS-JOB1-42",
    "bamboo_shortJobName": "Default Job",
    "bamboo_planRepository_revision": "0123456789abcdef0123456789abcdef01234567",
    "bamboo_planRepository_branch": "master",
    "PATH": "/usr/bin",
    "bamboo_somePassword": "********",
}


def test_bamboo_variables_are_collected_without_being_told() -> None:
    build = from_bamboo(BAMBOO_ENV)
    assert build == {
        "ci": "bamboo",
        "planKey": "TLO-TRANS",
        "buildKey": "TLO-TRANS-JOB1",
        "buildNumber": "42",
        "buildResultKey": "TLO-TRANS-JOB1-42",
        "buildResultsUrl": "https://bamboo.example/browse/TLO-TRANS-JOB1-42",
        "shortJobName": "Default Job",
        "planRepository.revision": "0123456789abcdef0123456789abcdef01234567",
        "planRepository.branch": "master",
    }


def test_outside_bamboo_nothing_is_invented() -> None:
    assert from_bamboo({"PATH": "/usr/bin", "HOME": "/root"}) == {}
    assert from_bamboo({"bamboo_planKey": ""}) == {}


def test_older_names_are_fallbacks_only() -> None:
    env = {"bamboo_resultsUrl": "https://old/1", "bamboo_repository_revision_number": "abc"}
    assert from_bamboo(env)["buildResultsUrl"] == "https://old/1"
    assert from_bamboo(env)["planRepository.revision"] == "abc"
    both = {**env, "bamboo_buildResultsUrl": "https://new/1"}
    assert from_bamboo(both)["buildResultsUrl"] == "https://new/1"


def test_build_info_pairs_override_bamboo() -> None:
    build = collect(BAMBOO_ENV, ["buildNumber=43", "note=a=b"], [])
    assert build["buildNumber"] == "43"
    assert build["note"] == "a=b"


@pytest.mark.parametrize("bad", ["novalue", "=x", " =x"])
def test_bad_build_info(bad: str) -> None:
    with pytest.raises(BuildInfoError, match="KEY=VALUE"):
        parse_pairs([bad])


def test_image_digests_in_both_forms() -> None:
    hexa = "a" * 64
    digests = parse_digests(
        [f"registry.example:5000/tlo/plex@sha256:{hexa}", f"transmission=sha256:{'b' * 64}"]
    )
    assert digests == {
        "registry.example:5000/tlo/plex": f"sha256:{hexa}",
        "transmission": f"sha256:{'b' * 64}",
    }
    assert collect({}, [], [f"plex@sha256:{hexa}"]) == {"images": {"plex": f"sha256:{hexa}"}}


@pytest.mark.parametrize("bad", ["plex", "plex@latest", "plex=sha256:xyz", "@sha256:" + "a" * 64])
def test_bad_image_digest(bad: str) -> None:
    with pytest.raises(BuildInfoError, match="image-digest"):
        parse_digests([bad])
