"""A JSON request the registry makes safe to repeat (a publish's PUT /fragment, a
promotion, an environment's retirement), sent through the one client and retried while
retrying is safe.

Retrying is safe because the registry answers a retry of identical content with 200 and
the existing version (or the same state) instead of creating another one. So connection
errors, timeouts and 5xx answers are retried by urllib3's ``Retry`` (:class:`SafeRetry`,
mounted on the client's session) with exponential backoff, a bounded number of times; a
4xx answer means the request itself is wrong and is never retried.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import requests
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

from consign.errors import RegistryNotReached
from consign.registry_url import CHECK, reason
from consign.registryclient import (
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


class SafeRetry(Retry):
    """urllib3's ``Retry`` with the rules of a request the registry makes safe to repeat:
    every method, connection errors, timeouts and every 5xx retried, ``policy.attempts``
    tries in all, ``policy.delay`` between them (slept by ``sleeper``, injected for the
    tests), each failed try said through ``warn`` (the build log)."""

    def __init__(
        self,
        *args: Any,
        policy: RetryPolicy | None = None,
        sleeper: Callable[[float], None] = time.sleep,
        warn: Callable[[str], None] = log.warning,
        **kw: Any,
    ) -> None:
        super().__init__(*args, **kw)
        self.policy = policy or RetryPolicy()
        self.sleeper = sleeper
        self.warn = warn

    @classmethod
    def of(
        cls, policy: RetryPolicy, sleeper: Callable[[float], None], warn: Callable[[str], None]
    ) -> SafeRetry:
        retries = max(1, policy.attempts) - 1
        return cls(
            total=retries,
            connect=retries,
            read=retries,
            status=retries,
            other=0,  # a TLS failure, a bad answer: trying again won't help
            redirect=0,
            allowed_methods=None,  # every method: the registry makes these safe to repeat
            status_forcelist=range(500, 600),
            raise_on_status=False,  # the last answer is returned and said
            respect_retry_after_header=False,
            policy=policy,
            sleeper=sleeper,
            warn=warn,
        )

    def new(self, **kw: Any) -> SafeRetry:
        made = super().new(**kw)
        assert isinstance(made, SafeRetry)
        made.policy, made.sleeper, made.warn = self.policy, self.sleeper, self.warn
        return made

    def get_backoff_time(self) -> float:
        return self.policy.delay(max(1, len(self.history)))

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        self.sleeper(self.get_backoff_time())

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: TracebackType | None = None,
    ) -> SafeRetry:
        made = super().increment(method, url, response, error, _pool, _stacktrace)
        assert isinstance(made, SafeRetry)  # raised MaxRetryError when there is no next try
        what = _said(response) if response is not None else reason(error, self.policy.timeout)
        made.warn(
            f"attempt {len(made.history)}/{self.policy.attempts} failed ({what}); "
            f"retrying in {made.get_backoff_time():g}s"
        )
        return made


def _said(response: BaseHTTPResponse) -> str:
    """What a failed try's answer said (as :func:`error_message` says it)."""
    text = response.data.decode("utf-8", "replace") if response.data else ""
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("message"):
        code = body.get("error")
        return f"{response.status} {code}: {body['message']}" if code else str(body["message"])
    words = f"{response.status} {response.reason}"
    return words + (f": {text.strip()[:500]}" if text.strip() else "")


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
    """Send ``payload`` as JSON through the registry client, retried by :class:`SafeRetry`
    (only for requests the registry makes idempotent: a publish, a promotion, a
    retirement); the answer, or SendFailed."""
    policy = policy or RetryPolicy()
    where = urlsplit(url)  # the request's full URL; the client's base is its origin
    http = RegistryClient(
        f"{where.scheme}://{where.netloc}",
        token,
        ca_file,
        timeout=policy.timeout,
        agent=agent,
        retry=SafeRetry.of(policy, sleep, warn),
    )
    data = json.dumps(payload).encode()
    try:
        response = http.request(method, url, data=data, content_type="application/json")
    except RegistryNotReached as e:
        cause = e.cause
        if not isinstance(cause, requests.RequestException):  # the CA file
            raise SendFailed(e.message) from e
        if not e.transient:  # a certificate problem, a bad URL: retrying won't help
            raise SendFailed(reason(cause)) from e
        words = reason(cause, policy.timeout)
        if isinstance(cause, requests.exceptions.ChunkedEncodingError):
            # the answer broke off after the request was taken: urllib3 retries before an
            # answer only; the registry makes a repeat safe, so the caller may send it again
            raise SendFailed(
                f"the registry's answer was cut off ({words}); the request may have been "
                "taken: sending it again is safe (the registry answers a repeat with what "
                "it stored)"
            ) from e
        raise SendFailed(f"gave up after {policy.attempts} attempts: {words}; {CHECK}") from e
    finally:
        http.close()
    retries = getattr(response.raw, "retries", None)
    attempt = len(retries.history) + 1 if isinstance(retries, Retry) else 1
    if response.status_code < 400:
        return PublishResult(response.status_code, _answer(response, expect, expected), attempt)
    status = response.status_code
    if status < 500:
        raise SendFailed(error_message(response), status=status, body=answer_body(response))
    raise SendFailed(f"gave up after {attempt} attempts: {error_message(response)}", status=status)
