"""The detector of secret-looking literal values: Yelp's ``detect-secrets``, configured once.

Its plugins are used through their Python API on strings (never files): each literal is
handed over as one YAML-like line ``KEY: "value"`` (or ``"value"`` without a key), so the
keyword plugin sees the name and the entropy plugins see a quoted string. The plugins are
built once per process (:func:`plugins`); a value costs tens of microseconds.

What is left out, and why (docs/secrets.md, "Found at publish"):

- ``Public IP (ipv4)``: an address is not a secret.
- a ``${VAR}`` or ``$VAR`` (and ``$$``-escaped text, the container's own variables): the
  value comes from elsewhere; only the literal text around such a reference is looked at,
  and not by the keyword plugin (the name says the variable is the secret).
- a keyword hit whose value is a path (``MYSQL_PASSWORD_FILE: /run/secrets/db``), a
  reference to another variable, a boolean, a number or a placeholder shorter than 2
  characters: the keyword plugin's own heuristics say so for code; these are Compose's.
- detect-secrets' heuristic filters for ids, UUIDs, sequences and templates;
- a hex string (7 to 64 digits) named as an object id: a commit in a revision label or a
  build argument (``org.opencontainers.image.revision``, ``GIT_COMMIT``), a digest, a hash.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterator
from typing import Any

from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
from detect_secrets.filters import heuristic
from detect_secrets.plugins.base import BasePlugin
from detect_secrets.plugins.high_entropy_strings import (
    Base64HighEntropyString,
    HexHighEntropyString,
)
from detect_secrets.plugins.keyword import KeywordDetector

#: Entropy limits (bits per character), detect-secrets' defaults: lower finds more noise.
BASE64_LIMIT = 4.5
HEX_LIMIT = 3.0
#: Plugins not used: an IP address is not a secret.
LEFT_OUT = frozenset({"Public IP (ipv4)"})
#: The line handed to the plugins is read as YAML (keyword: ``key: value``).
_FILENAME = "fragment.yaml"

_REFERENCE = re.compile(r"\$\$\{[^}]*\}?|\$\$[A-Za-z_]\w*|\$\{[^}]*\}?|\$[A-Za-z_]\w*|\$\$")
_PATH = re.compile(r"^(/|\./|\.\./|~/)[^\s]*$")
_PLAIN_WORDS = frozenset({"true", "false", "yes", "no", "on", "off", "null", "none", "changeme"})


#: When several plugins flag one value, the kind named is the most telling: a format
#: (AWS, GitHub, ...) before a keyword before a mere high entropy.
_VAGUE = ("Secret Keyword", "Hex High Entropy String", "Base64 High Entropy String")


def _rank(kind: str) -> int:
    return _VAGUE.index(kind) + 1 if kind in _VAGUE else 0


@functools.cache
def plugins() -> tuple[BasePlugin, ...]:
    """Every detect-secrets plugin but those LEFT_OUT, built once (entropy limits above)."""
    built: list[BasePlugin] = []
    mapping: dict[str, type[BasePlugin]] = dict(get_mapping_from_secret_type_to_class())
    for kind, cls in sorted(mapping.items()):
        if kind in LEFT_OUT:
            continue
        if cls is Base64HighEntropyString:
            built.append(Base64HighEntropyString(limit=BASE64_LIMIT))
        elif cls is HexHighEntropyString:
            built.append(HexHighEntropyString(limit=HEX_LIMIT))
        else:
            built.append(cls())
    return tuple(built)


@functools.cache
def _sized() -> tuple[tuple[BasePlugin, int], ...]:
    return tuple((plugin, _shortest(plugin)) for plugin in plugins())


def literal_parts(value: str) -> list[str]:
    """The literal text of a Compose value: what is left between its variable references
    (``${VAR}``, ``$VAR``, ``$$`` and what it escapes), each part on its own."""
    return [part for part in _REFERENCE.split(value) if part.strip()]


#: A name saying its hex value is an object id, not a key: a commit in a revision label or
#: build arg (``org.opencontainers.image.revision``, ``GIT_COMMIT``), a digest, a checksum.
_ID_NAME = re.compile(r"revision|commit|sha|digest|hash|checksum|git_?ref", re.IGNORECASE)
_HEX_ID = re.compile(r"^[0-9a-fA-F]{7,64}$")


def _an_id(key: str | None, secret: str, plugin: BasePlugin) -> bool:
    return (
        isinstance(plugin, HexHighEntropyString)
        and key is not None
        and bool(_ID_NAME.search(key))
        and bool(_HEX_ID.match(secret.strip("'\"")))
    )


def _kept(secret: str, line: str, plugin: BasePlugin) -> bool:
    if heuristic.is_sequential_string(secret) or heuristic.is_potential_uuid(secret):
        return False
    if heuristic.is_templated_secret(secret) or heuristic.is_likely_id_string(secret, line, plugin):
        return False
    if isinstance(plugin, KeywordDetector):
        bare = secret.strip("'\"")
        if len(bare) < 2 or bare.lower() in _PLAIN_WORDS or _PATH.match(bare):
            return False
        if heuristic.is_indirect_reference(line) or re.fullmatch(r"[\d.]+", bare):
            return False
    return True


def _line(key: str | None, text: str) -> str:
    quoted = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'{key}: "{quoted}"' if key else f'"{quoted}"'


def _shortest(plugin: BasePlugin) -> int:
    """The shortest string a plugin can flag: Shannon entropy cannot exceed log2(length),
    so a string shorter than 2**limit characters is never high-entropy (23 for 4.5, 8 for
    3.0). Computing it for every short value was most of the detector's cost."""
    limit = getattr(plugin, "entropy_limit", None)
    return 0 if limit is None else math.ceil(2**limit)


#: Values already judged, by (value, key): a release's next publish mostly repeats them.
SCANNED_CACHE = 65536


def scan(value: Any, key: str | None = None) -> tuple[str, ...]:
    """The kinds of secret ``value`` looks like (most telling first; empty: none), for one
    literal (only strings and numbers are looked at) named ``key`` (an environment
    variable, a label, a ``--flag``). The value itself is never written anywhere."""
    if isinstance(value, bool) or value is None or not isinstance(value, (str, int, float)):
        return ()
    return _scan(str(value), key)


@functools.lru_cache(maxsize=SCANNED_CACHE)
def _scan(text: str, key: str | None) -> tuple[str, ...]:
    kinds: set[str] = set()
    parts = literal_parts(text)
    # With a variable in it, the value's secret is the variable: the text around it
    # (``postgres://app:${DB_PASSWORD}@db``) is structure, which the keyword plugin (a guess
    # from the name) would flag; formats and entropy still speak for themselves.
    referenced = parts != [text]
    for part in parts:
        line = _line(key, part)
        for plugin, shortest in _sized():
            if len(part) < shortest or (referenced and isinstance(plugin, KeywordDetector)):
                continue
            for found in _analyze(plugin, line):
                secret = str(found.secret_value or "")
                if secret and secret in part and _kept(secret, line, plugin):
                    if _an_id(key, secret, plugin):
                        continue
                    kinds.add(str(found.type))
    return tuple(sorted(kinds, key=lambda k: (_rank(k), k)))


def _analyze(plugin: BasePlugin, line: str) -> Iterator[Any]:
    # The plugins' verification (network calls) stays off: it is a filter in detect-secrets'
    # global settings, which nothing here enables.
    yield from plugin.analyze_line(filename=_FILENAME, line=line, line_number=0)
