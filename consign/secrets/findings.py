"""Secret-looking literals in a fragment and its attached env files: where, and of what
kind, never the value (issue 24, "Found at publish"; docs/secrets.md).

A finding's ``path`` is readable and documented: ``web.environment.MYSQL_ROOT_PASSWORD``,
``api.command[3]``, ``web.build.args.NPM_TOKEN``, ``web.healthcheck.test[2]``, and for an
attached env file ``db.env_file:db.env:DB_PASS`` (the first service naming the file).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from consign.compose import envfiles
from consign.secrets import detector
from consign.secrets.literals import literals

#: How a finding is written in a warning: "web.environment.X (Secret Keyword)".
SEPARATOR = " ("


@dataclass(frozen=True, order=True)
class SecretFinding:
    path: str
    kind: str  # detect-secrets' name of the most telling plugin that flagged it

    def describe(self) -> str:
        return f"{self.path}{SEPARATOR}{self.kind})"

    @classmethod
    def read(cls, text: str) -> SecretFinding:
        """The inverse of :meth:`describe` (a manifest's record)."""
        path, sep, kind = text.rpartition(SEPARATOR)
        return cls(path, kind.removesuffix(")")) if sep else cls(text, "")


def in_spec(spec: Mapping[str, Any]) -> list[SecretFinding]:
    """The fragment's findings, in the order of its services and fields."""
    found: list[SecretFinding] = []
    for literal in literals(spec):
        kinds = detector.scan(literal.value, literal.key)
        if kinds:
            found.append(SecretFinding(literal.path, kinds[0]))
    return list(dict.fromkeys(found))


def env_lines(data: bytes) -> Iterator[tuple[str, str]]:
    """(KEY, VALUE) of an env file as Compose reads one: ``KEY=VALUE`` lines, ``export``
    allowed, comments and blank lines skipped, matching quotes around the value removed."""
    text = data.decode("utf-8", "replace")
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        yield key.strip(), value


def in_env_file(service: str, path: str, data: bytes) -> list[SecretFinding]:
    """An attached env file's findings, named ``service.env_file:path:KEY``."""
    found = []
    for key, value in env_lines(data):
        kinds = detector.scan(value, key)
        if kinds:
            found.append(SecretFinding(f"{service}.env_file:{path}:{key}", kinds[0]))
    return list(dict.fromkeys(found))


def in_fragment(spec: Mapping[str, Any], files: Mapping[str, bytes]) -> list[SecretFinding]:
    """Every finding of a fragment: its literals, then each attached env file's (``files``:
    {normalised path: bytes}), named after the first service naming the file."""
    found = in_spec(spec)
    users: dict[str, str] = {}
    for ref in envfiles.references(spec):
        if ref.path is not None:
            users.setdefault(ref.path, ref.service)
    for path in sorted(files):
        found += in_env_file(users.get(path, "?"), path, files[path])
    return found
