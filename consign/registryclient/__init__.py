"""THE one HTTP client for the registry's API, used by every command that talks to it
(publish, promote, environment retire/restore, deploy's descriptor and file fetch, the
lock and the ledger, versions/show/diff, ``status --environment``, drift, unlock).

It owns what each of them used to do by hand: the base URL (:mod:`consign.registry_url`
refuses one without a scheme), the bearer token, the CA file, timeouts, retries and the
reading of the registry's errors.

The CA file is passed with every request (``verify=``), not set on the session: requests
lets ``REQUESTS_CA_BUNDLE`` (and ``CURL_CA_BUNDLE``) override a session's ``verify``, so a
``--ca-file`` set there would silently lose to the environment. Without a CA file the
default trust applies, which honours ``REQUESTS_CA_BUNDLE``.

Retries are urllib3's :class:`~urllib3.util.retry.Retry` mounted on the session, with the
rules the caller names (:func:`idempotent_reads`, :func:`every_method`, and
:class:`.sending.SafeRetry` for a publish, a promotion or a retirement, which also says
each failed try in the build log).

A request that gets no answer raises :class:`consign.errors.RegistryNotReached` (one line
naming the URL and what to check); an answer, whatever its status, is returned: what a
4xx means is the caller's domain (:func:`error_message`, :func:`answer_message` and
:func:`answer_body` read the registry's ``{"error", "message"}``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import click
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from consign.errors import RegistryNotReached
from consign.registry_url import base as base_url
from consign.registry_url import problem, unreachable

#: Seconds to wait for a connection and for an answer, unless the caller says otherwise.
TIMEOUT: float | tuple[float, float] = 30.0

F = Callable[..., Any]


def ca_file_option(func: F) -> F:
    """``--ca-file`` / ``CONSIGN_CA_FILE``, for every command that talks to the registry."""
    return click.option(
        "--ca-file",
        envvar="CONSIGN_CA_FILE",
        type=click.Path(exists=True, dir_okay=False),
        help="PEM CA bundle to verify an HTTPS registry (default: the system's, or "
        "REQUESTS_CA_BUNDLE; this file wins over REQUESTS_CA_BUNDLE).",
    )(func)


class _QuietRetries(logging.Filter):
    """Drops urllib3's ``Retrying (Retry(total=2, ...)) after connection broken by
    'NewConnectionError(...)'`` warnings: a retry that ends well is nobody's business, one
    that does not is said once, in words, by :func:`~consign.registry_url.unreachable`
    (and each failed try of a publish by :class:`.sending.SafeRetry`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Retrying (")


logging.getLogger("urllib3.connectionpool").addFilter(_QuietRetries())


def idempotent_reads(retries: int = 3, backoff: float = 0.3) -> Retry:
    """GET and HEAD retried on connection errors, read errors and 502/503/504."""
    return Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        other=0,
        redirect=0,
        allowed_methods=frozenset({"GET", "HEAD"}),
        status_forcelist=(502, 503, 504),
        backoff_factor=backoff,
        backoff_max=2.0,
        raise_on_status=False,  # the last answer is returned, for the caller to read
        respect_retry_after_header=False,
    )


def every_method(retries: int, backoff: float) -> Retry:
    """Every method retried on connection errors, read errors and 502/503/504: for requests
    the registry makes safe to repeat (a lock request carries its attempt token, a record
    its id)."""
    retry = idempotent_reads(retries, backoff)
    return retry.new(allowed_methods=None)


def retrying_session(retry: Retry | None) -> requests.Session:
    """A session with ``retry`` mounted for http:// and https:// (None: no retry)."""
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry if retry is not None else Retry(0, read=False))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


#: Failures of the transport that may pass when tried again (a certificate problem will not).
TRANSIENT = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


class RegistryClient:
    """Requests to one registry: its base URL, token, CA file, timeout and retry rules."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        ca_file: str | None = None,
        *,
        timeout: float | tuple[float, float] = TIMEOUT,
        retry: Retry | None = None,
        agent: str = "consign/0.1",
        session: requests.Session | None = None,
    ) -> None:
        why = problem(url)
        if why is not None:  # requests would only say "No connection adapters were found"
            raise click.UsageError(f"{why}; check --registry or CONSIGN_REGISTRY")
        self.base = base_url(url)
        self.token = token or None
        self.ca_file = ca_file or None
        self.timeout = timeout
        self.agent = agent
        self.session = session or retrying_session(idempotent_reads() if retry is None else retry)

    @classmethod
    def without_retry(
        cls, url: str, token: str | None = None, ca_file: str | None = None, **kw: Any
    ) -> RegistryClient:
        """A client whose caller retries itself (and says so between tries)."""
        return cls(url, token, ca_file, session=retrying_session(None), **kw)

    @property
    def verify(self) -> str | bool:
        """What requests verifies the server with: the CA file, else the default trust."""
        return self.ca_file or True

    def url(self, *parts: str, under: str = "api", safe: str = "") -> str:
        """``<base>/<under>/<each part quoted>``: e.g. ``url("environments", name)``."""
        quoted = "/".join(quote(p, safe=safe) for p in parts)
        return f"{self.base}/{under}/{quoted}" if under else f"{self.base}/{quoted}"

    def headers(self, accept: str = "application/json") -> dict[str, str]:
        headers = {"Accept": accept, "User-Agent": self.agent}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def request(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        data: bytes | None = None,
        params: dict[str, str] | None = None,
        accept: str = "application/json",
        content_type: str | None = None,
        timeout: float | tuple[float, float] | None = None,
    ) -> requests.Response:
        """Send one request (``url``: from :meth:`url`, or a path under the base); the
        answer whatever its status, or :class:`RegistryNotReached`."""
        target = url if "://" in url else f"{self.base}/{url.lstrip('/')}"
        headers = self.headers(accept)
        if content_type:
            headers["Content-Type"] = content_type
        wait = self.timeout if timeout is None else timeout
        try:
            return self.session.request(
                method,
                target,
                json=json,
                data=data,
                params=params or None,
                headers=headers,
                timeout=wait,
                verify=self.verify,
            )
        except requests.exceptions.SSLError as e:
            raise RegistryNotReached(
                unreachable(self.base, e, _seconds(wait)), cause=e, transient=False
            ) from e
        except TRANSIENT as e:  # in words, not urllib3's reprs
            raise RegistryNotReached(
                unreachable(self.base, e, _seconds(wait)), cause=e, transient=True
            ) from e
        except requests.RequestException as e:  # InvalidURL, TooManyRedirects, ...
            raise RegistryNotReached(
                unreachable(self.base, e, _seconds(wait)), cause=e, transient=False
            ) from e
        except OSError as e:  # requests opens the CA file itself: a file that went away
            where = self.ca_file or os.environ.get("REQUESTS_CA_BUNDLE") or "the CA bundle"
            raise RegistryNotReached(
                f"cannot use {where} to verify the registry at {self.base}: {e}; "
                "check --ca-file (CONSIGN_CA_FILE) or REQUESTS_CA_BUNDLE",
                transient=False,
            ) from e

    def get(self, url: str, **kw: Any) -> requests.Response:
        return self.request("GET", url, **kw)

    def close(self) -> None:
        self.session.close()


def _seconds(timeout: float | tuple[float, float] | None) -> float | None:
    """The read timeout, for "no answer within N s"."""
    if isinstance(timeout, tuple):
        return timeout[1]
    return timeout


def answer_body(response: requests.Response) -> dict[str, Any]:
    """The answer's JSON object, {} when it is not one."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def error_message(response: requests.Response) -> str:
    """``<status> <error>: <message>`` from the registry's JSON error, or the start of
    whatever came back (a proxy's page)."""
    body = answer_body(response)
    if body.get("message"):
        code = body.get("error")
        return f"{response.status_code} {code}: {body['message']}" if code else str(body["message"])
    text = response.text.strip()[:500]
    return f"{response.status_code} {response.reason}" + (f": {text}" if text else "")


def answer_message(response: requests.Response) -> str:
    """The registry's ``message`` (or the start of what came back), on one line."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()[:200] or response.reason or ""
    else:
        text = str(body.get("message") or body.get("error") or "") if isinstance(body, dict) else ""
        text = text[:200] or str(body)[:200]
    return " ".join(text.split())
