"""Reversible encoding of application, release and component names into Git ref components.

Every UTF-8 byte outside ``[A-Za-z0-9_-]`` becomes ``%XX`` (upper-case hex), and so does a
leading ``-``. The result contains no ``.``, ``/``, space, ``~^:?*[\\``, ``@{`` or control
character, so it can never form ``..``, ``.lock``, a leading dot or dash, or any other shape
that ``git check-ref-format`` refuses, and it is also a safe file name. ``TLO GE`` becomes
``TLO%20GE``; ``decode`` inverts ``encode`` exactly and refuses anything ``encode`` could not
have produced, so every ref maps to at most one name.
"""

from __future__ import annotations

import functools
import string
import unicodedata

from consign.compose.errors import InvalidName

MAX_LENGTH = 100
_SAFE = frozenset((string.ascii_letters + string.digits + "_-").encode())
_HEX = "0123456789ABCDEF"


def validate(name: object, what: str = "name") -> str:
    """Return ``name`` if it may be used as an application, release or component name.

    Refused (InvalidName, 400): not a string, empty, longer than MAX_LENGTH characters,
    containing a control character, a ``/`` or something that is not valid Unicode text.
    """
    if not isinstance(name, str):
        raise InvalidName(f"{what} must be a string, not {type(name).__name__}")
    if not name:
        raise InvalidName(f"{what} must not be empty")
    if len(name) > MAX_LENGTH:
        raise InvalidName(f"{what} is {len(name)} characters long; the limit is {MAX_LENGTH}")
    if "/" in name:
        raise InvalidName(f"{what} {name!r} must not contain '/'")
    for position, char in enumerate(name):
        if unicodedata.category(char) in ("Cc", "Cs"):
            raise InvalidName(
                f"{what} {name!r} contains the control character U+{ord(char):04X} "
                f"at position {position}"
            )
    return name


@functools.lru_cache(maxsize=8192)
def encode(name: str, what: str = "name") -> str:
    """Encode a valid name into one Git ref component (raises InvalidName)."""
    validate(name, what)
    out: list[str] = []
    for index, byte in enumerate(name.encode("utf-8")):
        if byte in _SAFE and not (index == 0 and byte == ord("-")):
            out.append(chr(byte))
        else:
            out.append("%" + _HEX[byte >> 4] + _HEX[byte & 15])
    return "".join(out)


@functools.lru_cache(maxsize=8192)
def decode(component: str) -> str:
    """Invert :func:`encode`. Raises ValueError for text ``encode`` cannot produce.

    Cached like :func:`encode`: listing applications decodes every release name of every
    application (1,000 names a call at 1,000 releases, several calls a publish), which made
    publishing into a repository of 1,000 releases ~15 ms slower than into a fresh one."""
    raw = bytearray()
    i = 0
    while i < len(component):
        char = component[i]
        if char == "%":
            pair = component[i + 1 : i + 3]
            if len(pair) != 2 or any(c not in _HEX for c in pair):
                raise ValueError(f"bad percent escape in {component!r}")
            raw.append(int(pair, 16))
            i += 3
        elif ord(char) < 128 and ord(char) in _SAFE:
            raw.append(ord(char))
            i += 1
        else:
            raise ValueError(f"{char!r} cannot occur in an encoded name: {component!r}")
    name = raw.decode("utf-8")  # UnicodeDecodeError is a ValueError
    try:
        canonical = encode(name)
    except InvalidName as e:
        raise ValueError(f"{component!r} decodes to an invalid name: {e.message}") from e
    if canonical != component:  # non-canonical: e.g. %41 for 'A', or an unescaped leading '-'
        raise ValueError(f"{component!r} is not the canonical encoding of {name!r}")
    return name


def is_encoded(component: str) -> bool:
    """True when ``component`` is the encoding of some valid name."""
    try:
        decode(component)
    except ValueError:
        return False
    return True
