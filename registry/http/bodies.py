"""Request bodies: a streamed (chunked) body over the limit is refused like a sized one.

Werkzeug bounds a body without ``Content-Length`` by wrapping it in a stream that stops
at ``max_content_length``; reading it whole then returns the first ``max_content_length``
bytes and silently drops the rest, so valid JSON followed by padding would be accepted
where the same body with a ``Content-Length`` gets 413. Here, a body read up to the limit
is checked for one more byte, and refused with the same 413 if there is one.
"""

from __future__ import annotations

import typing as t

from flask import Request as FlaskRequest
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import cached_property
from werkzeug.wsgi import LimitedStream, get_input_stream


class _CappedStream(LimitedStream):
    """A stream of unknown length capped at ``limit``: reading past the cap is a 413."""

    def readall(self) -> bytes:
        data = super().readall()
        if self.is_exhausted and self._stream.read(1):
            raise RequestEntityTooLarge()
        return data


class Request(FlaskRequest):
    @cached_property
    def stream(self) -> t.IO[bytes]:
        limit = self.max_content_length
        terminated = self.environ.get("wsgi.input_terminated")
        if self.content_length is None and limit is not None and terminated:
            return t.cast(t.IO[bytes], _CappedStream(self.environ["wsgi.input"], limit, True))
        return get_input_stream(self.environ, max_content_length=limit)
