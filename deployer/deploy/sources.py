"""Where a descriptor comes from: the registry's HTTP API, a Git tag, or a local file.

Every source answers the same :class:`Descriptor`, which records where it came from
(kind, URL or path, commit) for the project record, and its components (name, build,
fragment hash, services) for each container's labels.
"""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from consign.compose import refnames
from consign.compose.errors import InvalidName
from consign.errors import RegistryNotReached, RegistryUnreachable
from consign.process import CommandFailed, run
from consign.registryclient import RegistryClient
from deployer.registry_reader import RegistryReader

#: Seconds to wait for the registry to answer.
TIMEOUT = 30.0


class SourceError(RegistryUnreachable):
    """The registry (HTTP or Git) could not be reached or does not have the version."""

    label = "cannot get the descriptor"


@dataclass(frozen=True)
class Descriptor:
    text: str
    kind: str  # "registry" | "git" | "file"
    location: str  # registry URL, git URL/path, or file path
    application: str | None = None
    release: str | None = None
    version: str | None = None  # the resolved number as text (never "latest")
    commit: str | None = None
    builds: dict[str, Any] = field(default_factory=dict)
    #: The version's manifest components: [{"name", "sha256", "build", "services"}, ...]
    components: list[dict[str, Any]] = field(default_factory=list)
    #: The rejection in force at the gate (issue 10: ``{"by", "reason", "at", ...}``), None
    #: when not rejected or not known (a Git or file source).
    rejected: dict[str, Any] | None = None
    #: Files published with the fragments (env files), by their path in the version's tree
    #: (``fragments/<component>/<path>``, as the descriptor names them): the deployer writes
    #: each there, next to the descriptor, before Compose reads it.
    files: dict[str, bytes] = field(default_factory=dict)

    def component_of(self, service: str) -> dict[str, Any] | None:
        """The component that provides ``service`` (None for a file or an older manifest)."""
        for c in self.components:
            if service in (c.get("services") or []):
                return c
        return None


def from_registry(
    url: str,
    application: str,
    release: str,
    version: str,
    token: str | None = None,
    ca_file: str | None = None,
) -> Descriptor:
    """The version's descriptor, details and files through the one registry client
    (``ca_file``: a CA bundle (PEM) for an HTTPS registry, else the default trust, which
    honours ``REQUESTS_CA_BUNDLE``)."""
    http = RegistryClient(url, token, ca_file, timeout=TIMEOUT, agent="consign-deploy/0.1")
    try:
        return _from_registry(http, application, release, version)
    finally:
        http.close()


def _from_registry(
    http: RegistryClient, application: str, release: str, version: str
) -> Descriptor:
    base = http.base
    target = http.url(application, release, version, under="descriptor/application")
    try:  # TLS included: the message says what to give
        resp = http.get(target, accept=YAML)
    except RegistryNotReached as e:
        raise SourceError(e.message) from e
    if resp.status_code == 404:
        raise SourceError(_missing(http, application, release, version, resp))
    if resp.status_code in (401, 403):
        raise SourceError(
            f"the registry at {base} refused access (HTTP {resp.status_code}); check the token "
            "(--token, CONSIGN_TOKEN)"
        )
    if resp.status_code != 200:
        raise SourceError(f"the registry at {base} answered HTTP {resp.status_code}: {why(resp)}")
    number = resp.headers.get("X-Consign-Version") or (version if version != "latest" else None)
    details = _details(http, application, release, number)
    components = _components(json.dumps(details))
    rejected = details.get("rejected")
    files = _registry_files(http, application, release, number, details)
    return Descriptor(
        text=resp.text,
        kind="registry",
        location=base,
        application=application,
        release=release,
        version=number,
        commit=resp.headers.get("X-Consign-Commit"),
        builds=_builds(components),
        components=components,
        rejected=rejected if isinstance(rejected, dict) else None,
        files=files,
    )


#: What a descriptor is asked as.
YAML = "application/x-yaml, text/yaml, */*"


def _details(
    http: RegistryClient, application: str, release: str, number: str | None
) -> dict[str, Any]:
    """The version's discovery document (components, gate standing, files); {} when not
    offered (an older registry)."""
    if number is None:
        return {}
    url = http.url("applications", application, "releases", release, "versions", number)
    try:
        resp = http.get(url)
        data = resp.json() if resp.status_code == 200 else {}
    except (RegistryNotReached, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _registry_files(
    http: RegistryClient,
    application: str,
    release: str,
    number: str | None,
    details: dict[str, Any],
) -> dict[str, bytes]:
    """Each file the version's details list (``files``), fetched and checked by its sha256.

    A listed file that cannot be fetched, or arrives with another digest, is an error: a
    deploy without its env file would start containers without their settings.
    """
    found: dict[str, bytes] = {}
    listed = details.get("files")
    if number is None or not isinstance(listed, list):
        return found
    for entry in listed:
        stored = str(entry.get("stored", "")) if isinstance(entry, dict) else ""
        if not stored:
            continue
        url = http.url(application, release, number, under="descriptor/application")
        url += "/files/" + quote(stored, safe="/")
        try:
            resp = http.get(url, accept=YAML)
        except RegistryNotReached as e:
            raise SourceError(f"cannot fetch {stored} of version {number}: {e.message}") from e
        if resp.status_code != 200:
            raise SourceError(
                f"cannot fetch {stored} of version {number}: HTTP {resp.status_code} {why(resp)}"
            )
        digest = hashlib.sha256(resp.content).hexdigest()
        if entry.get("sha256") and digest != entry["sha256"]:
            raise SourceError(
                f"{stored} of version {number} arrived with sha256 {digest}, "
                f"not the published {entry['sha256']}"
            )
        found[stored] = resp.content
    return found


def _missing(
    http: RegistryClient,
    application: str,
    release: str,
    version: str,
    resp: requests.Response,
) -> str:
    """Why the registry has no such descriptor: an unknown application or release (with
    the names close to it), else no such version."""
    reader = RegistryReader(http.base, http.token, http.ca_file, TIMEOUT)
    said = f"no such version: {application} / {release} / {version}: {why(resp)}"
    return reader.not_found(application, release, said)


def why(resp: requests.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.text.strip()[:200] or resp.reason
    if isinstance(body, dict):
        return str(body.get("message") or body.get("error") or body)[:200]
    return str(body)[:200]


def from_git(url: str, application: str, release: str, version: str) -> Descriptor:
    """Fetch just one version's tag into a scratch repo and read the descriptor from it."""
    remote = Path(url).resolve().as_uri() if os.path.exists(url) else url
    try:
        names = refnames.encode(application, "application"), refnames.encode(release, "release")
    except InvalidName as e:
        raise SourceError(e.message) from e
    prefix = f"refs/tags/{names[0]}/{names[1]}/"
    number = _latest(remote, prefix, application, release) if version == "latest" else version
    if not number.isdigit():
        raise SourceError(f"version must be a number or 'latest', not {version!r}")
    ref = prefix + number
    with tempfile.TemporaryDirectory(prefix="consign-git-") as scratch:
        try:
            run(["git", "init", "-q", "--bare", scratch])
            run(["git", "-C", scratch, "fetch", "-q", "--depth", "1", remote, f"+{ref}:{ref}"])
        except CommandFailed as e:
            if "couldn't find remote ref" in e.stderr:
                raise SourceError(f"no such version: {application} / {release} / {number}") from e
            raise SourceError(f"cannot fetch {ref} from {url}: {e}") from e
        commit = run(["git", "-C", scratch, "rev-parse", f"{ref}^{{commit}}"]).stdout.strip()
        text = _show(scratch, commit, "docker-compose.yml")
        components = _components(_show(scratch, commit, "consign.json", required=False))
        files = _git_files(scratch, commit, components)
    where = str(Path(url).resolve()) if os.path.exists(url) else url
    return Descriptor(
        text,
        "git",
        where,
        application,
        release,
        number,
        commit,
        _builds(components),
        components,
        files=files,
    )


def _git_files(repo: str, commit: str, components: list[dict[str, Any]]) -> dict[str, bytes]:
    """The attached files the manifest lists, as the tag's tree holds them (bytes intact:
    ``git archive`` into a tar, since the process wrapper captures text)."""
    stored = sorted(
        {
            str(f["stored"])
            for c in components
            for f in c.get("files") or ()
            if isinstance(f, dict) and f.get("stored")
        }
    )
    if not stored:
        return {}
    archive = Path(repo, "files.tar")
    try:
        run(["git", "-C", repo, "archive", "-o", str(archive), commit, "--", *stored])
    except CommandFailed as e:
        raise SourceError(f"commit {commit} lacks a file its manifest lists: {e}") from e
    with tarfile.open(archive) as tar:
        found = {}
        for member in tar.getmembers():
            data = tar.extractfile(member) if member.isfile() else None
            if data is not None:
                found[member.name] = data.read()
    return found


def _latest(remote: str, prefix: str, application: str, release: str) -> str:
    try:
        out = run(["git", "ls-remote", "--tags", remote, prefix + "*"]).stdout
    except CommandFailed as e:
        raise SourceError(f"cannot list versions at {remote}: {e}") from e
    numbers = [
        int(tail)
        for line in out.splitlines()
        if "\t" in line
        and (tail := line.split("\t", 1)[1].removeprefix(prefix)).isdigit()
        and line.split("\t", 1)[1].startswith(prefix)
    ]
    if not numbers:
        raise SourceError(f"no versions of {application} / {release} at {remote}")
    return str(max(numbers))


def _show(repo: str, commit: str, path: str, *, required: bool = True) -> str:
    try:
        return run(["git", "-C", repo, "show", f"{commit}:{path}"]).stdout
    except CommandFailed as e:
        if not required:
            return ""
        raise SourceError(f"commit {commit} has no {path}: {e}") from e


def _components(manifest: str) -> list[dict[str, Any]]:
    """The components of a version's manifest (consign.json or the API), [] when absent."""
    try:
        data = json.loads(manifest) if manifest else {}
    except ValueError:
        return []
    comps = data.get("components") if isinstance(data, dict) else None
    if not isinstance(comps, list):
        return []
    return [c for c in comps if isinstance(c, dict) and "name" in c]


def _builds(components: list[dict[str, Any]]) -> dict[str, Any]:
    """component -> build info."""
    return {c["name"]: c.get("build", {}) for c in components}


def from_file(
    path: str,
    application: str | None = None,
    release: str | None = None,
    version: str | None = None,
) -> Descriptor:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise SourceError(f"cannot read descriptor file {path}: {e.strerror or e}") from e
    location = str(Path(path).resolve())
    return Descriptor(text, "file", location, application, release, version)
