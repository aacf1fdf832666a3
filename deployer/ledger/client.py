"""HTTP to the registry's ledger and lock endpoints, with bounded timeouts.

A request whose connection fails (refused, reset, a kept-alive connection the server
closed between two polls) or that meets a 502/503/504 is retried a few times by urllib3's
own :class:`~urllib3.util.retry.Retry`, mounted on the session (every method: a lock
request carries the deployer's ``attempt`` token, so a retried POST that had in fact taken
the lock is recognised by :mod:`.lock`; a record carries its id). What still fails is the
caller's to decide: a report goes to the spool (:mod:`.spool`), a lock request is judged by
:mod:`.lock`, each within its own deadline, so a deploy is never held up longer than it
allows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

from consign.errors import RegistryNotReached
from consign.registryclient import RegistryClient, answer_body, error_message, every_method

#: (connect, read) seconds for every request: a registry that does not answer within
#: these never holds a deploy up for longer.
TIMEOUT = (3.05, 10.0)
#: Answers after which the same request may succeed later (keep a record for a retry).
TRANSIENT = {401, 403, 408, 425, 429}
#: Retries of one request (connection errors, 502/503/504): with the backoff below at most
#: about 6 s of sleeping, plus each attempt's own timeouts.
RETRIES = 4
BACKOFF = 0.4


class LedgerError(Exception):
    """A request to the registry failed; ``transient`` when trying again later may work."""

    def __init__(self, message: str, *, status: int | None = None, transient: bool) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.transient = transient
        self.body: dict[str, Any] = {}


@dataclass
class LedgerClient:
    """The ledger's and the lock's requests, on the one :class:`RegistryClient` (with its
    token and CA file, retrying every method: see the module's docstring)."""

    registry: str  # base URL, e.g. http://registry:9090
    token: str | None = None
    timeout: tuple[float, float] = TIMEOUT
    ca_file: str | None = None

    def __post_init__(self) -> None:
        self.http = RegistryClient(
            self.registry,
            self.token,
            self.ca_file,
            timeout=self.timeout,
            retry=every_method(RETRIES, BACKOFF),
            agent="consign-deploy/0.1",
        )
        self.registry = self.http.base

    def url(self, environment: str, *rest: str) -> str:
        return self.http.url("environments", environment, *rest)

    def _request(self, method: str, url: str, body: Any = None) -> requests.Response:
        try:
            response = self.http.request(method, url, json=body)
        except RegistryNotReached as e:
            raise LedgerError(e.message, transient=e.transient) from e
        if response.status_code >= 400:
            status = response.status_code
            error = LedgerError(
                error_message(response),
                status=status,
                transient=status >= 500 or status in TRANSIENT,
            )
            error.body = answer_body(response)
            raise error
        return response

    def _json(self, response: requests.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError as e:
            raise LedgerError(
                f"{response.status_code} answer is not JSON", status=response.status_code,
                transient=True,
            ) from e  # fmt: skip
        if not isinstance(body, dict):
            raise LedgerError("the answer is not a JSON object", transient=True)
        return body

    def report(self, record: dict[str, Any]) -> dict[str, Any]:
        """POST one record; the stored record (a retry of a known id answers it too)."""
        url = self.url(record["environment"], "deployments")
        return self._json(self._request("POST", url, record))

    def environment(self, environment: str) -> dict[str, Any]:
        return self._json(self._request("GET", self.url(environment)))

    def acquire_lock(
        self, environment: str, holder: dict[str, Any], ttl: int, replace: str | None = None
    ) -> dict[str, Any]:
        """Take the lock (``replace``: the id of a held lock whose holder is known gone)."""
        body: dict[str, Any] = {"holder": holder, "ttl": ttl}
        if replace is not None:
            body["replace"] = replace
        return self._json(self._request("POST", self.url(environment, "lock"), body))

    def lock(self, environment: str) -> dict[str, Any] | None:
        """The lock held now (None when free)."""
        try:
            return self._json(self._request("GET", self.url(environment, "lock")))
        except LedgerError as e:
            if e.status == 404:
                return None
            raise

    def break_lock(
        self, environment: str, by: str, reason: str, lock_id: str | None = None
    ) -> dict[str, Any]:
        """Break the lock whoever holds it; the registry records it (``unlock``)."""
        body = {"by": by, "reason": reason} | ({"id": lock_id} if lock_id else {})
        return self._json(self._request("POST", self.url(environment, "lock", "break"), body))

    def renew_lock(self, environment: str, lock_id: str, ttl: int) -> dict[str, Any]:
        url = self.url(environment, "lock", lock_id)
        return self._json(self._request("PUT", url, {"ttl": ttl}))

    def release_lock(self, environment: str, lock_id: str) -> None:
        self._request("DELETE", self.url(environment, "lock", lock_id))
