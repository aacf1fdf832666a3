"""The registry's address as people give it (``--registry``), and what to tell them when
it does not answer.

A URL without ``http://`` is a usage error (exit 2) before any request: requests would
only say ``No connection adapters were found``. When the registry cannot be reached, the
message is one line naming the URL, what happened in words (not urllib3's
``HTTPConnectionPool(...): Max retries exceeded``) and what to check.
"""

from __future__ import annotations

import errno
import socket
from typing import Any
from urllib.parse import urlsplit

import click
import requests


def problem(url: str) -> str | None:
    """Why ``url`` cannot be a registry's base URL, or None when it can."""
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
        host = parts.hostname
    except ValueError as e:  # a bad IPv6 literal or port number
        return f"{text!r} is not a URL ({e})"
    if parts.scheme not in ("http", "https"):
        example = f"http://{text}" if text and "://" not in text else "http://registry:9090"
        return f"{text!r} is not an http:// or https:// URL (e.g. {example})"
    if not host or port == 0:
        return f"{text!r} names no host (e.g. {parts.scheme}://registry:9090)"
    if parts.query or parts.fragment:
        return f"{text!r} has a query or fragment; give the registry's base URL"
    return None


def base(url: str) -> str:
    """The URL as requests are built on it: stripped, no trailing slash."""
    return url.strip().rstrip("/")


class RegistryURL(click.ParamType):
    """``--registry``: an http(s) URL with a host, else a usage error (exit 2)."""

    name = "url"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        why = problem(text)
        if why is not None:
            self.fail(f"{why}; check --registry or CONSIGN_REGISTRY", param, ctx)
        return base(text)


REGISTRY_URL = RegistryURL()

#: What to check when the registry does not answer.
CHECK = "check the URL (--registry, CONSIGN_REGISTRY) and that the registry runs there"


def _cause(error: BaseException) -> BaseException:
    """The innermost cause: what the socket or TLS layer said under requests and urllib3."""
    seen: set[int] = set()
    while id(error) not in seen:
        seen.add(id(error))
        inner = error.__cause__ or error.__context__
        reason = getattr(error, "reason", None)
        if isinstance(reason, BaseException):
            inner = reason
        elif error.args and isinstance(error.args[0], BaseException):
            inner = error.args[0]
        if inner is None:
            break
        error = inner
    return error


def reason(error: BaseException | None, timeout: float | None = None) -> str:
    """What went wrong, in a few words (``error``: requests' or urllib3's)."""
    if error is None:
        return "no answer"
    if isinstance(error, requests.exceptions.SSLError):
        return (
            "TLS verification failed (give the registry's CA with --ca-file or "
            f"REQUESTS_CA_BUNDLE): {_cause(error)}"
        )
    if isinstance(error, requests.exceptions.ConnectTimeout | requests.exceptions.ReadTimeout):
        within = f" within {timeout:g}s" if timeout else ""
        return f"no answer{within}"
    if isinstance(error, requests.exceptions.InvalidURL | requests.exceptions.InvalidSchema):
        return f"not a usable URL ({error})"
    if isinstance(error, requests.exceptions.TooManyRedirects):
        return "too many redirects"
    cause = _cause(error)
    if isinstance(cause, TimeoutError):  # urllib3's read timeout, under its retries
        within = f" within {timeout:g}s" if timeout else ""
        return f"no answer{within}"
    if isinstance(cause, socket.gaierror):
        return "its host name does not resolve"
    code = getattr(cause, "errno", None)
    if code == errno.ECONNREFUSED or isinstance(cause, ConnectionRefusedError):
        return "connection refused (nothing listens there)"
    if code in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return "no route to the host"
    if "RemoteDisconnected" in str(error) or "RemoteDisconnected" in type(cause).__name__:
        return "the connection was closed without an answer"
    text = str(cause) or type(cause).__name__
    # urllib3 prefixes its own object's repr: keep what follows it
    return text.split(">: ", 1)[-1] if ">: " in text else text


def unreachable(url: str, error: requests.RequestException, timeout: float | None = None) -> str:
    """One line: ``cannot reach the registry at URL: connection refused; check ...``."""
    words = reason(error, timeout)
    if isinstance(error, requests.exceptions.SSLError):
        return f"cannot reach the registry at {base(url)}: {words}"
    return f"cannot reach the registry at {base(url)}: {words}; {CHECK}"
