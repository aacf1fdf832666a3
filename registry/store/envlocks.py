"""Environment locks: at most one deploy (or teardown) per environment at a time.

A lock is a small JSON file ``consign-locks/<environment>.json`` inside the repository
directory (not a Git object: it is ephemeral and needs no backup), replaced atomically
(write + rename) and only under the store's writer lock, so two workers can never both
take it. Readers just read the file. A lock carries an expiry: a deployer renews it while
it works, and a lock whose holder was killed expires and can be taken over.

A lock's ``id`` is shown to every reader (``GET .../lock``): renewing, releasing,
replacing and breaking all need the role ``report``, which may break any lock anyway, so
the id grants nothing more. Knowing it lets a waiter on the holder's own host replace a
lock whose holder process is gone (``replace``: atomic, only that very lock), and lets
an operator see which lock ``consign unlock`` broke.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from consign.lockholder import holder_process
from consign.values import held_version
from registry.errors import EnvironmentLockHeld, NotFound, StoreError
from registry.store import diskspace
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


def describe(lock: EnvironmentLock) -> str:
    h = lock.holder
    what = held_version(h)
    who = h.get("by") or "someone"
    where = holder_process(h)
    return (
        f"{lock.environment} is locked by {who}"
        + (f" deploying {what}" if what else "")
        + (f" ({where})" if where else "")
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
        path = self._path(lock.environment)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            self.folder.mkdir(exist_ok=True)
            tmp.write_text(json.dumps(lock_json(lock), sort_keys=True), "utf-8")
            os.rename(tmp, path)
        except OSError as e:
            with contextlib.suppress(OSError):
                tmp.unlink()
            what = f"cannot write the lock of {lock.environment}"
            raise diskspace.store_error(self.folder.parent, what, e) from e

    def acquire(
        self, environment: str, holder: dict[str, Any], ttl: int, replace: str | None = None
    ) -> tuple[EnvironmentLock, EnvironmentLock | None]:
        """Take the lock (hold the writer lock); (lock, the lock taken over or None): an
        expired one, or the held one whose id is ``replace`` (its holder is known gone).

        Raises Locked (409) naming the current holder when it is held and not expired
        (and is not the lock ``replace`` names).
        """
        now = datetime.now(UTC)
        previous = self._read(environment)
        replacing = (
            previous is not None
            and replace is not None
            and secrets.compare_digest(previous.id.encode(), replace.encode())
        )
        if previous is not None and _parse(previous.expires) > now and not replacing:
            raise EnvironmentLockHeld(describe(previous), details={"lock": lock_json(previous)})
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
            details = {"lock": lock_json(current)} if current else {}
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

    def break_(self, environment: str, lock_id: str | None) -> EnvironmentLock:
        """Remove the lock held now whoever holds it (``lock_id``: only if it is that one);
        NotFound when there is none (or another one)."""
        lock = self.get(environment)
        if lock is None:
            raise NotFound(f"{environment} is not locked")
        if lock_id is not None and not secrets.compare_digest(lock.id.encode(), lock_id.encode()):
            raise NotFound(
                f"the lock {lock_id} on {environment} is not held any more",
                details={"lock": lock_json(lock)},
            )
        return self.release(environment, lock.id)

    def release(self, environment: str, lock_id: str) -> EnvironmentLock:
        lock = self._held(environment, lock_id)
        try:
            self._path(environment).unlink()
        except OSError as e:
            raise StoreError(f"cannot release the lock of {environment}: {e}") from e
        return lock
