"""Masker: the one object that keeps secret values out of what a command writes down.

It holds the values (never their names' meaning: the caller decides which values are
secret) and is applied at each exit door of a command: the lines it prints (through
:class:`MaskedStream`), the JSON it writes (:meth:`Masker.tree`), the records it sends.
Every occurrence of a held value becomes ``••••••`` (longest values first, so a value that
contains another is masked whole).

A value shorter than :data:`MIN_LENGTH` characters is not held: masking ``on`` or ``42``
everywhere would garble every line that happens to contain those letters, and such a
value is no secret worth the name. :meth:`Masker.add` returns the names it could not
hold so the caller can say so (by name, never by value).
"""

from __future__ import annotations

import contextlib
import re
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TextIO

from consign.errors import ConsignError

#: What a masked value is replaced with (also the mark of the registry's UI: masking.py).
MASK = "••••••"
#: The mark on a stream whose encoding has no "•".
ASCII_MASK = "******"
#: Values shorter than this are not masked (see the module's docstring).
MIN_LENGTH = 4


class Masker:
    """The secret values of one command, and the rule that replaces them in text."""

    def __init__(self, values: Mapping[str, str] | None = None) -> None:
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._ordered: tuple[str, ...] = ()  # longest first; replaced whole, read unlocked
        self._lock = threading.Lock()
        if values:
            self.add(values)

    def add(self, values: Mapping[str, str]) -> list[str]:
        """Hold ``values`` (name -> value) from now on; the names whose (non-empty) value is
        too short to be masked are returned, sorted."""
        too_short: list[str] = []
        fresh: set[str] = set()
        for name, value in values.items():
            if not value:
                continue
            if len(value) < MIN_LENGTH:
                too_short.append(name)
                continue
            fresh.add(value)
            # a value seen with other line endings (Compose, a log) is the same secret
            for line in value.splitlines():
                if len(line) >= MIN_LENGTH:
                    fresh.add(line)
        with self._lock:
            if not fresh <= self._values:
                self._values |= fresh
                self._ordered = tuple(sorted(self._values, key=lambda v: (-len(v), v)))
                self._pattern = re.compile("|".join(map(re.escape, self._ordered)))
        return sorted(too_short)

    def __bool__(self) -> bool:
        return self._pattern is not None

    def mask(self, text: str) -> str:
        """``text`` with every held value replaced by :data:`MASK`; also the start of one
        that ends the text, alone or before ``...``/``…`` (a detail or record cut to its
        limit: ``check s3cr3t-ca...`` would still tell most of the secret)."""
        pattern = self._pattern
        if pattern is None or not text:
            return text
        return self._cut(pattern.sub(MASK, text))

    def _cut(self, text: str) -> str:
        body, tail = text, ""
        for ellipsis in ("...", "…"):
            if body.endswith(ellipsis):
                body, tail = body[: -len(ellipsis)], ellipsis
                break
        for value in self._ordered:
            head = value[:MIN_LENGTH]
            i = body.find(head, max(0, len(body) - len(value) + 1))
            while i >= 0:
                if value.startswith(body[i:]):
                    return body[:i] + MASK + tail
                i = body.find(head, i + 1)
        return text

    def tree(self, value: Any) -> Any:
        """A JSON-like value (dicts, lists, strings, numbers) with every string masked,
        keys included; a new value, the original is left alone."""
        if isinstance(value, str):
            return self.mask(value)
        if isinstance(value, Mapping):
            return {self.tree(k): self.tree(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.tree(v) for v in value]
        return value

    def stream(self, target: TextIO) -> MaskedStream:
        """``target`` seen through this masker."""
        return MaskedStream(target, self)


class MaskedStream:
    """A text stream whose writes are masked before they reach ``target``.

    A value split across two writes (``print`` writes the text, then the newline) is still
    found: text is held back until a newline (or :meth:`flush`), and what is written is
    whole lines. Everything else (``isatty``, ``fileno``, ``encoding``) is the target's, so
    rich and click treat it as they would the target; but not its binary ``buffer``.
    """

    def __init__(self, target: TextIO, masker: Masker) -> None:
        self.target = target
        self.masker = masker
        self._pending = ""
        self._lock = threading.Lock()
        # a terminal that cannot show the mark (ASCII, Latin-1) gets stars, not a crash
        try:
            MASK.encode(getattr(target, "encoding", None) or "utf-8")
            self._mark = MASK
        except (UnicodeEncodeError, LookupError):
            self._mark = ASCII_MASK

    def _masked(self, text: str) -> str:
        masked = self.masker.mask(text)
        return masked if self._mark is MASK else masked.replace(MASK, self._mark)

    def write(self, text: str) -> int:
        with self._lock:
            self._pending += text
            head, sep, rest = self._pending.rpartition("\n")
            if sep:
                self._pending = rest
                self.target.write(self._masked(head + sep))
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        with self._lock:
            if self._pending:
                self.target.write(self._masked(self._pending))
                self._pending = ""
        self.target.flush()

    def __getattr__(self, name: str) -> Any:
        if name == "buffer":  # no way around the mask (click writes bytes to a buffer)
            raise AttributeError(name)
        return getattr(self.target, name)


@contextlib.contextmanager
def masked_output(masker: Masker) -> Iterator[None]:
    """While a command runs: everything it prints (stdout and stderr) goes through
    ``masker``, and so does the message of the error it ends with (printed after this)."""
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = MaskedStream(out, masker), MaskedStream(err, masker)
    try:
        yield
    except ConsignError as e:
        e.args = tuple(masker.mask(a) if isinstance(a, str) else a for a in e.args)
        raise
    finally:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        sys.stdout, sys.stderr = out, err
