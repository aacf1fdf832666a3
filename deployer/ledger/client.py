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
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from consign.registry_url import unreachable
from publisher.client import _error_message

#: (connect, read) seconds for every request: a registry that does not answer within
#: these never holds a deploy up for longer.
TIMEOUT = (3.05, 10.0)
#: Answers after which the same request may succeed later (keep a record for a retry).
TRANSIENT = {401, 403, 408, 425, 429}
#: Retries of one request (connection errors, 502/503/504): with the backoff below at most
#: about 6 s of sleeping, plus each attempt's own timeouts.
RETRIES = 4
BACKOFF = 0.4


def retrying_session(retries: int = RETRIES, backoff: float = BACKOFF) -> requests.Session:
    """A session whose every request is retried by urllib3 on connection errors and
    502/503/504 (then the last answer is returned, not raised)."""
    retry = Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        other=0,
        redirect=0,
        allowed_methods=None,  # every method (see the module's docstring)
        status_forcelist=(502, 503, 504),
        backoff_factor=backoff,
        backoff_max=2.0,
        raise_on_status=False,
        respect_retry_after_header=False,  # never sleep longer than the budget above
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


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
    registry: str  # base URL, e.g. http://registry:9090
    token: str | None = None
    timeout: tuple[float, float] = TIMEOUT
    session: requests.Session | None = None

    def __post_init__(self) -> None:
        self.registry = self.registry.rstrip("/")
        self._http = self.session or retrying_session()

    def url(self, environment: str, *rest: str) -> str:
        parts = [quote(p, safe="") for p in (environment, *rest)]
        return f"{self.registry}/api/environments/" + "/".join(parts)

    def _request(self, method: str, url: str, body: Any = None) -> requests.Response:
        headers = {"Accept": "application/json", "User-Agent": "consign-deploy/0.1"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            response = self._http.request(
                method, url, json=body, headers=headers, timeout=self.timeout
            )
        except (requests.ConnectionError, requests.Timeout) as e:  # in words, not urllib3's
            raise LedgerError(unreachable(self.registry, e), transient=True) from e
        except requests.RequestException as e:
            raise LedgerError(unreachable(self.registry, e), transient=False) from e
        if response.status_code >= 400:
            status = response.status_code
            error = LedgerError(
                _error_message(response),
                status=status,
                transient=status >= 500 or status in TRANSIENT,
            )
            try:
                found = response.json()
            except ValueError:
                found = None
            error.body = found if isinstance(found, dict) else {}
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
