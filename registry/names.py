"""The rules for a *new* application, release or component name, on top of refnames'.

:func:`consign.compose.refnames.validate` is the rule every stored name already satisfies (so that
every ref decodes, whenever it was written). A name that is not stored yet must also:

- be Unicode NFC: it is normalised on the way in, so a decomposed ``Cafe\\u0301`` and a
  composed ``Café`` are one application, not two that look the same in Rundeck;
- contain no invisible or look-alike characters: format characters (bidi overrides such as
  U+202E, zero-width spaces and joiners, U+FEFF), spaces other than U+0020 (the no-break
  space U+00A0 in ``TLO GE``), line and paragraph separators, private-use and unassigned
  code points; and not start or end with a space;
- fit the file system once encoded (:data:`MAX_ENCODED_BYTES`): the encoded name is a Git
  ref component (a file or directory under ``refs/``, next to its ``.lock``) and, for a
  component, a file name in the version's tree (``fragments/<name>.yml``) that ``git
  checkout`` must be able to create. Most file systems allow 255 bytes per name.

Names already stored keep working: :func:`admit` leaves a name that is stored exactly as
given alone, whatever these rules say.

Lookups follow the same rule (:func:`stored_spelling`): two spellings are one name when
their NFC forms are equal, so ``GET .../Cafe\u0301/...`` finds the application published
as ``Café`` and the reverse, and a name stored decomposed by an older registry is found by
its composed spelling too. The exact stored spelling wins when it exists.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable

from consign.compose import refnames
from consign.compose.errors import InvalidName

#: File systems allow 255 bytes per path component (NAME_MAX); Git adds ``.lock`` (5 bytes)
#: next to a ref while it moves it, and a fragment file adds ``.yml``.
NAME_MAX = 255
MAX_ENCODED_BYTES = NAME_MAX - len(".lock")
_REFUSED_CATEGORIES = {
    "Cc": "control character",
    "Cf": "invisible formatting character",
    "Cs": "surrogate",
    "Co": "private-use character",
    "Cn": "unassigned code point",
    "Zl": "line separator",
    "Zp": "paragraph separator",
}


def check_new(name: str, what: str) -> str:
    """Raise InvalidName (400, naming ``what``) unless ``name`` may be stored as a new name.

    ``name`` must already have passed :func:`consign.compose.refnames.validate` and be NFC."""
    for position, char in enumerate(name):
        category = unicodedata.category(char)
        kind = _REFUSED_CATEGORIES.get(category)
        if kind is None and category == "Zs" and char != " ":
            kind = "space other than U+0020"
        if kind is not None:
            label = unicodedata.name(char, "")
            raise InvalidName(
                f"{what} {name!r} contains U+{ord(char):04X}{f' {label}' if label else ''} "
                f"at position {position}: a {kind} is not allowed in a name (it would look "
                "like another name)",
                details={"field": what},
            )
    if name != name.strip(" "):
        raise InvalidName(
            f"{what} {name!r} must not start or end with a space", details={"field": what}
        )
    encoded = refnames.encode(name, what)
    if len(encoded) > MAX_ENCODED_BYTES:
        raise InvalidName(
            f"{what} {name!r} is {len(encoded)} bytes once encoded for Git ({len(name)} "
            f"characters, {len(name.encode('utf-8'))} bytes of UTF-8, each byte outside "
            f"[A-Za-z0-9_-] taking 3); the limit is {MAX_ENCODED_BYTES} bytes, so that its ref "
            f"and file names fit the file system's {NAME_MAX}",
            details={"field": what, "max_encoded_bytes": MAX_ENCODED_BYTES},
        )
    return name


def admit(name: str, what: str, stored: Callable[[str], bool]) -> str:
    """The name to use for ``name``: itself when stored exactly so; else its NFC form,
    which must pass :func:`check_new` unless that form is stored.

    ``stored`` is only asked about names that are not NFC or break a rule (rare), so the
    usual publish costs no lookup."""
    nfc = unicodedata.normalize("NFC", name)
    if nfc == name:
        try:
            return check_new(name, what)
        except InvalidName:
            if stored(name):
                return name
            raise
    if stored(name):
        return name
    try:  # NFC can lengthen a name past 100 characters
        refnames.validate(nfc, what)
    except InvalidName as e:
        raise InvalidName(e.message, details={"field": what}) from e
    return nfc if stored(nfc) else check_new(nfc, what)


def stored_spelling(name: str, stored: Iterable[str]) -> str:
    """``name`` as it is stored among ``stored``: itself if stored so; else the stored name
    with the same NFC form (the first in order, should an old registry have kept two);
    else the NFC form of ``name`` (what a publish of it would store, so a 404 names that)."""
    nfc = unicodedata.normalize("NFC", name)
    twin = None
    for candidate in stored:
        if candidate == name:
            return name
        if twin is None and unicodedata.normalize("NFC", candidate) == nfc:
            twin = candidate
    return nfc if twin is None else twin
