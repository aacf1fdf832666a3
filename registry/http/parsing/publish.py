"""The body of ``PUT /api/.../fragment`` (a publish), parsed and bounded before anything
touches the store. The fragment itself is only checked to be a string: decoding it
(base64, UTF-8, YAML) is :mod:`consign.compose.fragments`' job and fails with 422."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any

from consign.compose import envfiles
from registry.errors import BadRequest, TooLarge
from registry.http.parsing.fields import (
    check_fields,
    check_name,
    fail,
    json_object,
    kind,
    name_list,
)

REQUIRED = ("fragment", "applications", "releases")
OPTIONAL = ("component", "build", "files")


@dataclass(frozen=True)
class PublishLimits:
    max_targets: int = 50
    max_build_bytes: int = 16 * 1024
    max_files: int = 100
    max_file_bytes: int = 256 * 1024


@dataclass(frozen=True)
class PublishRequest:
    fragment: str  # base64, still encoded
    applications: list[str]
    releases: list[str]
    component: str | None = None
    build: dict[str, Any] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)  # normalised path -> bytes

    @property
    def targets(self) -> list[tuple[str, str]]:
        """The cartesian product applications x releases, in request order."""
        return [(app, rel) for app in self.applications for rel in self.releases]


def parse_publish(body: dict[str, Any], limits: PublishLimits) -> PublishRequest:
    """Validate a decoded JSON body; raises BadRequest (400) naming the field at fault."""
    check_fields(body, REQUIRED, OPTIONAL)
    if not isinstance(body["fragment"], str):
        raise fail(f"fragment must be a base64 string, not {kind(body['fragment'])}", "fragment")
    applications = list(name_list(body["applications"], "applications", at_least_one=True))
    releases = list(name_list(body["releases"], "releases", at_least_one=True))
    count = len(applications) * len(releases)
    if count > limits.max_targets:
        raise fail(
            f"{len(applications)} applications x {len(releases)} releases = {count} targets; "
            f"the limit is {limits.max_targets}",
            "applications",
        )
    component = body.get("component")
    if component is not None:
        component = check_name(component, "component")
    build: dict[str, Any] = {}
    if body.get("build") is not None:
        build = json_object(body["build"], "build", max_bytes=limits.max_build_bytes)
    files = _files(body["files"], limits) if body.get("files") is not None else {}
    return PublishRequest(body["fragment"], applications, releases, component, build, files)


def _files(value: Any, limits: PublishLimits) -> dict[str, bytes]:
    """``{"<path as referenced>": "<base64>"}``: confined paths, bounded count and sizes."""
    if not isinstance(value, dict):
        raise fail(f"files must be a JSON object of path: base64, not {kind(value)}", "files")
    if len(value) > limits.max_files:
        raise fail(f"files holds {len(value)} files; the limit is {limits.max_files}", "files")
    files: dict[str, bytes] = {}
    for key, encoded in value.items():
        where = f"files[{key[:100]!r}]"
        path = envfiles.confine(key, where)
        if path in files:
            raise fail(f"{where}: names the same file as another entry", where)
        if not isinstance(encoded, str):
            raise fail(f"{where} must be a base64 string, not {kind(encoded)}", where)
        if len(encoded) > 2 * limits.max_file_bytes + 1024:  # over the limit, whatever it holds
            raise _too_large(where, limits)
        data = _base64(encoded, where)
        if len(data) > limits.max_file_bytes:
            raise _too_large(where, limits)
        files[path] = data
    folders = {"/".join(p.split("/")[:i]) for p in files for i in range(1, p.count("/") + 1)}
    clash = sorted(folders & set(files))
    if clash:
        raise fail(f"files: {clash[0]!r} is both a file and a folder of another file", "files")
    return files


def _too_large(where: str, limits: PublishLimits) -> TooLarge:
    return TooLarge(
        f"{where} is larger than the limit of {limits.max_file_bytes} bytes per file",
        details={"field": where},
    )


def _base64(text: str, where: str) -> bytes:
    compact = "".join(text.split()).rstrip("=")
    try:
        if len(compact) % 4 == 1:
            raise ValueError("truncated")
        return base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)
    except (binascii.Error, ValueError) as e:
        raise BadRequest(f"{where} is not valid base64", details={"field": where}) from e
