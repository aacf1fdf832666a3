"""Environment locks: at most one deploy (or teardown) per environment at a time.

A lock is a small JSON file ``consign-locks/<environment>.json`` inside the repository
directory (not a Git object: it is ephemeral and needs no backup), replaced atomically
(write + rename) and only under the store's writer lock, so two workers can never both
take it. Readers just read the file. A lock carries an expiry: a deployer renews it while
it works, and a lock whose holder was killed expires and can be taken over.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from registry.errors import EnvironmentLocked, NotFound, StoreError
from registry.store.types import EnvironmentLock

FOLDER = "consign-locks"


def _iso(when: datetime) -> str:
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def lock_json(lock: EnvironmentLock) -> dict[str, Any]:
    return {
        "environment": lock.environment,
        "id": lock.id,
        "holder": lock.holder,
        "since": lock.since,
        "expires": lock.expires,
        "ttl": lock.ttl,
    }


def _public(lock: EnvironmentLock) -> dict[str, Any]:
    """What a refused deployer is told: everything but the handle."""
    return {k: v for k, v in lock_json(lock).items() if k != "id"}


def describe(lock: EnvironmentLock) -> str:
    h = lock.holder
    what = "/".join(str(h[k]) for k in ("application", "release", "version") if h.get(k))
    who = h.get("by") or "someone"
    return (
        f"{lock.environment} is locked by {who}"
        + (f" deploying {what}" if what else "")
        + f" since {lock.since} (expires {lock.expires} unless renewed)"
    )


class EnvLocks:
    def __init__(self, gitdir: Path) -> None:
        self.folder = gitdir / FOLDER

    def _path(self, environment: str) -> Path:
        return self.folder / f"{environment}.json"

    def get(self, environment: str, now: datetime | None = None) -> EnvironmentLock | None:
        """The lock held now (None when free or expired)."""
        lock = self._read(environment)
        now = now or datetime.now(UTC)
        if lock is None or _parse(lock.expires) <= now:
            return None
        return lock

    def held(self) -> dict[str, EnvironmentLock]:
        """Every lock held now, by environment (one directory listing when none is)."""
        try:
            names = [n[: -len(".json")] for n in os.listdir(self.folder) if n.endswith(".json")]
        except FileNotFoundError:
            return {}
        now = datetime.now(UTC)
        found = {n: self.get(n, now) for n in names if not n.startswith(".")}
        return {n: lock for n, lock in found.items() if lock is not None}

    def _read(self, environment: str) -> EnvironmentLock | None:
        try:
            data = json.loads(self._path(environment).read_text("utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as e:
            raise StoreError(f"cannot read the lock of {environment}: {e}") from e
        return EnvironmentLock(**data)

    def _write(self, lock: EnvironmentLock) -> None:
        self.folder.mkdir(exist_ok=True)
        path = self._path(lock.environment)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            tmp.write_text(json.dumps(lock_json(lock), sort_keys=True), "utf-8")
            os.rename(tmp, path)
        except OSError as e:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise StoreError(f"cannot write the lock of {lock.environment}: {e}") from e

    def acquire(
        self, environment: str, holder: dict[str, Any], ttl: int
    ) -> tuple[EnvironmentLock, EnvironmentLock | None]:
        """Take the lock (hold the writer lock); (lock, the expired lock taken over or None).

        Raises Locked (409) naming the current holder when it is held and not expired.
        """
        now = datetime.now(UTC)
        previous = self._read(environment)
        if previous is not None and _parse(previous.expires) > now:
            raise EnvironmentLocked(describe(previous), details={"lock": _public(previous)})
        lock = EnvironmentLock(
            environment=environment,
            id=secrets.token_urlsafe(18),
            holder=holder,
            since=_iso(now),
            expires=_iso(now + timedelta(seconds=ttl)),
            ttl=ttl,
        )
        self._write(lock)
        return lock, previous

    def _held(self, environment: str, lock_id: str) -> EnvironmentLock:
        lock = self._read(environment)
        if lock is None or not secrets.compare_digest(lock.id.encode(), lock_id.encode()):
            current = self.get(environment)
            message = (
                f"this lock on {environment} is not held (expired and taken over, or released)"
            )
            details = {"lock": _public(current)} if current else {}
            raise NotFound(message, details=details)
        return lock

    def renew(self, environment: str, lock_id: str, ttl: int | None) -> EnvironmentLock:
        """Extend a held lock (even if it just expired, as long as nobody took it over)."""
        lock = self._held(environment, lock_id)
        ttl = ttl or lock.ttl
        expires = _iso(datetime.now(UTC) + timedelta(seconds=ttl))
        renewed = EnvironmentLock(lock.environment, lock.id, lock.holder, lock.since, expires, ttl)
        self._write(renewed)
        return renewed

    def release(self, environment: str, lock_id: str) -> EnvironmentLock:
        lock = self._held(environment, lock_id)
        try:
            self._path(environment).unlink()
        except OSError as e:
            raise StoreError(f"cannot release the lock of {environment}: {e}") from e
        return lock
