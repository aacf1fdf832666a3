"""Reading the registry's JSON API for people (`consign versions`, `show`, `diff`).

Every failure is one line through :class:`consign.errors.RegistryUnreachable` (exit 5):
an unreachable registry in words (:mod:`consign.registry_url`), a refused token, and a
name the registry does not know with the names close to it
(``no such application 'Shopp' at URL (did you mean Shop?)``).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Any

import requests

from consign.errors import RegistryUnreachable
from consign.registryclient import RegistryClient, answer_message
from consign.suggest import did_you_mean

#: Seconds to wait for the registry to answer.
TIMEOUT = 30.0

__all__ = ["RegistryReader", "answer_message"]


def _known(name: str, names: list[str]) -> bool:
    """Whether the registry has ``name``: it compares names in NFC."""
    nfc = unicodedata.normalize("NFC", name)
    return any(unicodedata.normalize("NFC", n) == nfc for n in names)


@dataclass(frozen=True)
class RegistryReader:
    """GETs on one registry's ``/api`` through the one client (its token, CA file and
    retries of idempotent reads); answers are JSON objects."""

    url: str
    token: str | None = None
    ca_file: str | None = None
    timeout: float = TIMEOUT
    client: RegistryClient = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        client = RegistryClient(self.url, self.token, self.ca_file, timeout=self.timeout)
        object.__setattr__(self, "client", client)

    @property
    def base(self) -> str:
        return self.client.base

    def _request(self, path: list[str], params: dict[str, str]) -> requests.Response:
        return self.client.get(self.client.url(*path), params=params)

    def get(self, path: list[str], **params: str) -> dict[str, Any]:
        """The JSON object at ``/api/<path>``; a 404 explained by :meth:`not_found` when the
        path names an application (and release)."""
        resp = self._request(path, params)
        if resp.status_code == 404 and len(path) >= 2 and path[0] == "applications":
            release = path[3] if len(path) >= 4 and path[2] == "releases" else None
            raise RegistryUnreachable(self.not_found(path[1], release, answer_message(resp)))
        return self._json(resp)

    def optional(self, path: list[str], **params: str) -> dict[str, Any] | None:
        """Like :meth:`get`, None when the registry has no such thing (or cannot say): for
        what a listing adds when it can (the release policies)."""
        try:
            resp = self._request(path, params)
            return self._json(resp) if resp.status_code == 200 else None
        except RegistryUnreachable:
            return None

    def _json(self, resp: requests.Response) -> dict[str, Any]:
        if resp.status_code in (401, 403):
            raise RegistryUnreachable(
                f"the registry at {self.base} refused access (HTTP {resp.status_code}: "
                f"{answer_message(resp)}); check the token (--token, CONSIGN_TOKEN)"
            )
        if resp.status_code != 200:
            raise RegistryUnreachable(
                f"the registry at {self.base} answered HTTP {resp.status_code}: "
                f"{answer_message(resp)}"
            )
        try:
            body = resp.json()
        except ValueError as e:
            raise RegistryUnreachable(
                f"{resp.url} did not answer JSON: is {self.base} a Consignment registry?"
            ) from e
        if not isinstance(body, dict):
            raise RegistryUnreachable(f"{resp.url} answered unexpected JSON")
        return body

    def names(self, path: list[str], key: str) -> list[str] | None:
        found = self.optional(path)
        values = found.get(key) if found is not None else None
        return [str(v) for v in values] if isinstance(values, list) else None

    def not_found(self, application: str, release: str | None, answered: str) -> str:
        """Why the registry answered 404 for ``application`` (``release``): the name it does
        not know, with the close ones; else (a version, a file) what it said."""
        apps = self.names(["applications"], "applications")
        if apps is not None and not _known(application, apps):
            return (
                f"no such application {application!r} at {self.base}"
                f"{did_you_mean(application, apps)}"
            )
        if release is not None:
            rels = self.names(["applications", application, "releases"], "releases")
            if rels is not None and not _known(release, rels):
                return (
                    f"{application} has no release {release!r} at {self.base}"
                    f"{did_you_mean(release, rels)}"
                )
        return f"{answered} (at {self.base})"
