"""Provenance for `consign publish`: what CI build produced this fragment.

Bamboo exposes its build variables to script tasks as environment variables, with the
dots of ``bamboo.planRepository.revision`` turned into underscores and a ``bamboo_``
prefix (``bamboo_planRepository_revision``). We read the documented ones without being
told, so wiring a plan needs nothing but the publish line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

#: Environment variable (as Bamboo sets it for script tasks) -> key in the build info.
#: The keys keep Bamboo's own variable names, so a reader can look them up in its docs.
BAMBOO_VARIABLES: dict[str, str] = {
    "bamboo_planKey": "planKey",
    "bamboo_shortPlanKey": "shortPlanKey",
    "bamboo_planName": "planName",
    "bamboo_buildKey": "buildKey",
    "bamboo_shortJobKey": "shortJobKey",
    "bamboo_shortJobName": "shortJobName",
    "bamboo_buildNumber": "buildNumber",
    "bamboo_buildResultKey": "buildResultKey",
    "bamboo_buildResultsUrl": "buildResultsUrl",
    "bamboo_buildTimeStamp": "buildTimeStamp",
    "bamboo_planRepository_revision": "planRepository.revision",
    "bamboo_planRepository_branch": "planRepository.branch",
    "bamboo_planRepository_branchName": "planRepository.branchName",
    "bamboo_planRepository_repositoryUrl": "planRepository.repositoryUrl",
}
#: Older Bamboo versions and deployment projects use these names for the same values.
BAMBOO_FALLBACKS: dict[str, str] = {
    "bamboo_resultsUrl": "buildResultsUrl",
    "bamboo_repository_revision_number": "planRepository.revision",
}

_DIGEST = re.compile(r"[a-z0-9]+(?:[+._-][a-z0-9]+)*:[0-9a-fA-F]{32,}")


class BuildInfoError(ValueError):
    """A --build-info or --image-digest value that cannot be understood."""


def from_bamboo(environ: Mapping[str, str]) -> dict[str, Any]:
    """The Bamboo build variables present in ``environ``; ``{}`` outside Bamboo."""
    found = {key: environ[var] for var, key in BAMBOO_VARIABLES.items() if environ.get(var)}
    for var, key in BAMBOO_FALLBACKS.items():
        if environ.get(var) and key not in found:
            found[key] = environ[var]
    if found:
        found = {"ci": "bamboo", **found}
    return found


def parse_pairs(pairs: Iterable[str], option: str = "--build-info") -> dict[str, str]:
    """``KEY=VALUE`` strings as a dict (the value may contain ``=``; the key may not be empty)."""
    result: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise BuildInfoError(f"{option} {pair!r}: expected KEY=VALUE")
        result[key.strip()] = value
    return result


def parse_digests(values: Iterable[str]) -> dict[str, str]:
    """Image digests as ``{image: digest}``.

    Accepts ``repo@sha256:<hex>`` (what ``docker inspect --format '{{index .RepoDigests 0}}'``
    prints) and ``NAME=sha256:<hex>`` (a service or image name of your choosing).
    """
    result: dict[str, str] = {}
    for value in values:
        if "=" in value:
            name, _, digest = value.partition("=")
        else:
            name, _, digest = value.rpartition("@")
        name, digest = name.strip(), digest.strip()
        if not name or not _DIGEST.fullmatch(digest):
            raise BuildInfoError(
                f"--image-digest {value!r}: expected IMAGE@sha256:HEX or NAME=sha256:HEX"
            )
        result[name] = digest
    return result


def collect(
    environ: Mapping[str, str], build_info: Iterable[str], image_digests: Iterable[str]
) -> dict[str, Any]:
    """Bamboo's variables, then explicit ``--build-info`` (wins), then ``images``."""
    build: dict[str, Any] = from_bamboo(environ)
    build.update(parse_pairs(build_info))
    digests = parse_digests(image_digests)
    if digests:
        build["images"] = digests
    return build
