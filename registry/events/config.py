"""The subscriptions file (``CONSIGN_WEBHOOKS_FILE``, YAML or JSON; docs/events.md).

::

    allow_private: false            # optional, for every subscription
    subscriptions:
      - name: qa-chat               # [A-Za-z0-9._-], unique; names the delivery log
        url: https://hooks.slack.com/services/T0/B0/XXXX
        format: slack               # or cloudevents (the default)
        events: [deployment.recorded, version.rejected]   # or ["*"]
        filters: {environment: [qa-*], outcome: [failed, rolled_back, timed_out]}
        secret_file: /etc/consign/qa-chat.secret          # or secret_env: QA_CHAT_SECRET
        allow_private: false

A secret is never written in the file itself (``secret:`` is refused): the file may then be
readable by all, and the secret lives where the operator keeps secrets. Every mistake is one
:class:`WebhookConfigError` naming the file, the subscription and the key.
:class:`ConfigWatch` re-reads the file when it changes and keeps the last good one when the
new one is bad.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from consign.compose import yamlio
from consign.compose.errors import ComposeError
from consign.suggest import close_names, did_you_mean
from registry.events.catalog import FILTERED, KINDS, Event

log = logging.getLogger("registry.events")

FORMATS = ("cloudevents", "slack")
NAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_KEYS = {
    "name",
    "url",
    "format",
    "events",
    "filters",
    "secret_file",
    "secret_env",
    "allow_private",
}


class WebhookConfigError(ValueError):
    """The subscriptions file cannot be used (``consign serve`` refuses to start)."""


@dataclass(frozen=True)
class Subscription:
    name: str
    url: str
    format: str = "cloudevents"
    events: frozenset[str] = frozenset(KINDS)
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    secret: bytes | None = field(default=None, repr=False)
    secret_source: str | None = None  # "file /path" or "env NAME": said, never the value
    allow_private: bool = False

    def wants(self, event: Event) -> bool:
        """Its events and filters: a filter constrains the events that carry the attribute
        (a publish has no environment: an environment filter does not hold it back)."""
        if event.kind not in self.events:
            return False
        for attribute, patterns in self.filters.items():
            values = event.filtered_as(attribute)
            if values and not any(fnmatch.fnmatchcase(v, p) for v in values for p in patterns):
                return False
        return True

    def to_json(self) -> dict[str, Any]:
        """What ``GET /api/webhooks`` shows: never the secret, and the URL without its path
        and query (a Slack or Teams URL's path is its secret)."""
        parts = urlsplit(self.url)
        shown = f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        return {
            "name": self.name,
            "url": shown + ("/…" if parts.path.strip("/") or parts.query else ""),
            "format": self.format,
            "events": sorted(self.events),
            "filters": {k: list(v) for k, v in self.filters.items()},
            "signed": self.secret is not None,
            "secret_from": self.secret_source,
            "allow_private": self.allow_private,
        }


@dataclass(frozen=True)
class WebhookConfig:
    subscriptions: tuple[Subscription, ...] = ()
    source: str | None = None  # the file it was read from
    mtime_ns: int = 0

    def named(self, name: str) -> Subscription | None:
        return next((s for s in self.subscriptions if s.name == name), None)

    def wanting(self, event: Event) -> list[Subscription]:
        return [s for s in self.subscriptions if s.wants(event)]


def _fail(where: str, message: str) -> WebhookConfigError:
    return WebhookConfigError(f"{where}: {message}")


def _strings(value: Any, where: str, key: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(v, str) for v in items):
        raise _fail(where, f"{key} must be a name or a non-empty list of names")
    return tuple(items)


def _events(value: Any, where: str) -> frozenset[str]:
    names = _strings(value, where, "events")
    if "*" in names:
        return frozenset(KINDS)
    for name in names:
        if name not in KINDS:
            close = close_names(name, KINDS, limit=1)
            hint = f"did you mean {close[0]}?" if close else f"events: {', '.join(KINDS)}, or '*'"
            raise _fail(where, f"unknown event {name!r} ({hint})")
    return frozenset(names)


def _url(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise _fail(where, "url is required (an http:// or https:// URL)")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError as e:
        raise _fail(where, f"bad url {value!r}: {e}") from e
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _fail(where, f"bad url {value!r}: an http:// or https:// URL with a host is needed")
    if parts.username or parts.password:
        raise _fail(where, "url must not hold credentials (use secret_file for signing)")
    return value


def _secret(
    entry: Mapping[str, Any], where: str, environ: Mapping[str, str]
) -> tuple[bytes | None, str | None]:
    if "secret" in entry:
        raise _fail(
            where,
            "an inline secret is refused (this file need not be secret): "
            "use secret_file: PATH or secret_env: VARIABLE",
        )
    path, variable = entry.get("secret_file"), entry.get("secret_env")
    if path is not None and variable is not None:
        raise _fail(where, "secret_file and secret_env: one or the other")
    if path is not None:
        if not isinstance(path, str) or not path:
            raise _fail(where, "secret_file must be a path")
        try:
            value = Path(path).read_bytes().strip()
        except OSError as e:
            raise _fail(where, f"cannot read secret_file {path}: {e.strerror or e}") from e
        if not value:
            raise _fail(where, f"secret_file {path} is empty")
        return value, f"file {path}"
    if variable is not None:
        if not isinstance(variable, str) or not variable:
            raise _fail(where, "secret_env must name an environment variable")
        text = environ.get(variable, "").strip()
        if not text:
            raise _fail(where, f"secret_env {variable} is not set (or empty) in the environment")
        return text.encode("utf-8"), f"env {variable}"
    return None, None


def _bool(value: Any, where: str, key: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(where, f"{key} must be true or false")
    return value


def _filters(value: Any, where: str) -> dict[str, tuple[str, ...]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _fail(where, f"filters must be a mapping of {', '.join(FILTERED)} to names")
    for key in value:
        if key not in FILTERED:
            raise _fail(where, f"unknown filter {key!r} (filters: {', '.join(FILTERED)})")
    return {key: _strings(value[key], where, f"filters.{key}") for key in value}


def _subscription(
    entry: Any, index: int, source: str, default_private: bool, environ: Mapping[str, str]
) -> Subscription:
    where = f"{source}: subscriptions[{index}]"
    if not isinstance(entry, dict):
        raise _fail(where, "each subscription is a mapping (name, url, events, ...)")
    name = entry.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        raise _fail(where, "name is required: 1 to 64 of A-Z a-z 0-9 . _ -")
    where = f"{source}: subscription {name!r}"
    unknown = sorted(set(entry) - _KEYS - {"secret"})
    if unknown:
        hint = did_you_mean(unknown[0], sorted(_KEYS))
        raise _fail(where, f"unknown key {unknown[0]!r}{hint}")
    fmt = entry.get("format", "cloudevents")
    if fmt not in FORMATS:
        raise _fail(where, f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if "events" not in entry:
        raise _fail(where, "events is required (a list of event names, or ['*'])")
    secret, secret_source = _secret(entry, where, environ)
    private = entry.get("allow_private", default_private)
    return Subscription(
        name=name,
        url=_url(entry.get("url"), where),
        format=fmt,
        events=_events(entry["events"], where),
        filters=_filters(entry.get("filters"), where),
        secret=secret,
        secret_source=secret_source,
        allow_private=_bool(private, where, "allow_private"),
    )


def parse(text: str, source: str, environ: Mapping[str, str] | None = None) -> WebhookConfig:
    """The subscriptions in ``text`` (YAML, of which JSON is a part)."""
    environ = os.environ if environ is None else environ
    try:
        body = yamlio.load(text) if text.strip() else {}
    except ComposeError as e:  # yamlio's errors say line and column
        raise _fail(source, f"not valid YAML or JSON: {e.message}") from e
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise _fail(source, "the file must hold a mapping with a subscriptions list")
    unknown = sorted(set(body) - {"subscriptions", "allow_private"})
    if unknown:
        raise _fail(source, f"unknown key {unknown[0]!r} (keys: subscriptions, allow_private)")
    default_private = _bool(body.get("allow_private", False), source, "allow_private")
    entries = body.get("subscriptions") or []
    if not isinstance(entries, list):
        raise _fail(source, "subscriptions must be a list")
    subscriptions = [
        _subscription(entry, i, source, default_private, environ) for i, entry in enumerate(entries)
    ]
    names = [s.name for s in subscriptions]
    doubled = sorted({n for n in names if names.count(n) > 1})
    if doubled:
        raise _fail(source, f"subscription {doubled[0]!r} is named twice")
    return WebhookConfig(tuple(subscriptions), source)


def load(path: str | Path, environ: Mapping[str, str] | None = None) -> WebhookConfig:
    try:
        stat = os.stat(path)
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise WebhookConfigError(f"cannot read the webhooks file {path}: {e}") from e
    found = parse(text, str(path), environ)
    return WebhookConfig(found.subscriptions, str(path), stat.st_mtime_ns)


def _signature(path: str) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


class ConfigWatch:
    """The subscriptions now in force: the file is looked at (one ``stat``) at most every
    ``interval`` seconds and re-read when it changed; a bad new file is logged and kept in
    :attr:`error` while the last good configuration stays in force. Thread-safe."""

    def __init__(
        self,
        path: str | None,
        *,
        interval: float = 1.0,
        environ: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Loads ``path`` now: a bad file raises :class:`WebhookConfigError` (refuse to
        start). No path: no subscriptions."""
        self.path = path or None
        self._interval = interval
        self._environ = environ
        self._clock = clock
        self._lock = threading.Lock()
        self.error: str | None = None
        self.error_at: float | None = None
        self._config = load(path, environ) if path else WebhookConfig()
        self._seen = _signature(path) if path else None
        self._checked = clock()

    @property
    def current(self) -> WebhookConfig:
        if self.path is None:
            return self._config
        now = self._clock()
        if now - self._checked < self._interval:
            return self._config
        with self._lock:
            self._checked = now
            seen = _signature(self.path)
            if seen != self._seen:
                self._seen = seen
                self._reload()
            return self._config

    def _reload(self) -> None:
        assert self.path is not None
        try:
            self._config = load(self.path, self._environ)
        except WebhookConfigError as e:
            self.error, self.error_at = str(e), time.time()
            log.error("webhooks file not reloaded, the last good one stays in force: %s", e)
            return
        self.error = self.error_at = None
        log.info("webhooks file reloaded: %d subscriptions", len(self._config.subscriptions))


def dumps(config: WebhookConfig) -> str:
    return json.dumps([s.to_json() for s in config.subscriptions])
