"""A JSON request the registry makes safe to repeat (a publish's PUT /fragment, a
promotion, an environment's retirement), sent through the one client and retried while
retrying is safe.

Retrying is safe because the registry answers a retry of identical content with 200 and
the existing version (or the same state) instead of creating another one. So connection
errors, timeouts and 5xx answers are retried with exponential backoff, a bounded number of
times; a 4xx answer means the request itself is wrong and is never retried.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from consign.errors import RegistryNotReached
from consign.registry_url import CHECK, reason
from consign.registryclient import (
    TRANSIENT,
    RegistryClient,
    answer_body,
    error_message,
)

log = logging.getLogger(__name__)


class SendFailed(Exception):
    """The request did not succeed; ``message`` is what the build log should show."""

    def __init__(
        self, message: str, *, status: int | None = None, body: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.body = body or {}  # the registry's JSON error, when it sent one


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5  # total tries, including the first
    backoff: float = 1.0  # seconds before the 2nd try; doubles each time
    max_backoff: float = 30.0
    timeout: float = 30.0  # per request (connect and read)

    def delay(self, failed_attempt: int) -> float:
        """Seconds to wait after the ``failed_attempt``-th try (1-based) failed."""
        return float(min(self.max_backoff, self.backoff * 2 ** (failed_attempt - 1)))


@dataclass(frozen=True)
class PublishResult:
    status: int  # 201 (something created) or 200 (a retry: nothing new)
    body: dict[str, Any]
    attempts: int


#: Failures of the transport that may pass if tried again (safe: the registry makes a retried
#: publish idempotent). Every other requests error (a bad URL, too many redirects) is final.
RETRIED = TRANSIENT


AnswerCheck = Callable[[Any], bool]


def is_publish_answer(body: Any) -> bool:
    """The shape of a publish answer: an object with a list of version objects."""
    versions = body.get("versions") if isinstance(body, dict) else None
    return isinstance(versions, list) and all(isinstance(v, dict) for v in versions)


def is_version(body: Any) -> bool:
    """The shape of one version (a promotion's answer)."""
    return isinstance(body, dict) and isinstance(body.get("version"), int)


def _answer(response: requests.Response, expect: AnswerCheck, what: str) -> dict[str, Any]:
    """The JSON object of a 2xx/3xx answer, checked to have the shape the registry documents."""
    try:
        body = response.json()
    except ValueError as e:
        raise SendFailed(
            f"{response.status_code} answer is not JSON: {response.text[:200]!r}",
            status=response.status_code,
        ) from e
    if not expect(body):
        raise SendFailed(
            f"{response.status_code} answer is not {what}: {response.text[:200]!r}",
            status=response.status_code,
        )
    return dict(body)


def send_json(
    method: str,
    url: str,
    payload: dict[str, Any],
    *,
    token: str | None = None,
    policy: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
    warn: Callable[[str], None] = log.warning,
    agent: str = "consign-publish/0.1",
    expect: AnswerCheck = is_publish_answer,
    expected: str = "a registry's publish answer (an object with a list of versions)",
    ca_file: str | None = None,
) -> PublishResult:
    """Send ``payload`` as JSON through the registry client; retry connection errors,
    timeouts and 5xx (only for requests the registry makes idempotent: a publish, a
    promotion), logging each failed attempt; raise SendFailed.

    The tries are counted here rather than by urllib3's ``Retry`` because each failed one
    is said in the build log (what failed, how long until the next) and the sleep is
    injected for the tests; the client under it makes one try per call."""
    policy = policy or RetryPolicy()
    where = urlsplit(url)  # the request's full URL; the client's base is its origin
    http = RegistryClient.without_retry(
        f"{where.scheme}://{where.netloc}", token, ca_file, timeout=policy.timeout, agent=agent
    )
    data = json.dumps(payload).encode()
    last, last_status = "", None
    try:
        for attempt in range(1, max(1, policy.attempts) + 1):
            try:
                response = http.request(method, url, data=data, content_type="application/json")
            except RegistryNotReached as e:
                cause = e.cause
                if not isinstance(cause, requests.RequestException):  # the CA file
                    raise SendFailed(e.message) from e
                if not e.transient:  # a certificate problem, a bad URL: retrying won't help
                    raise SendFailed(reason(cause)) from e
                last, last_status = reason(cause, policy.timeout), None  # in words
            else:
                if response.status_code < 400:
                    return PublishResult(
                        response.status_code, _answer(response, expect, expected), attempt
                    )
                if response.status_code < 500:
                    raise SendFailed(
                        error_message(response),
                        status=response.status_code,
                        body=answer_body(response),
                    )
                last, last_status = error_message(response), response.status_code
            if attempt < policy.attempts:
                wait = policy.delay(attempt)
                warn(f"attempt {attempt}/{policy.attempts} failed ({last}); retrying in {wait:g}s")
                sleep(wait)
    finally:
        http.close()
    check = f"; {CHECK}" if last_status is None else ""
    raise SendFailed(f"gave up after {policy.attempts} attempts: {last}{check}", status=last_status)
