"""The one bounded in-process cache of the registry: a thread-safe LRU mapping.

Every value cached in memory here is derived from something that never changes under its
key: Git objects and commits (keyed by object id), a fragment's text (by its sha256), a
version's manifest entry (by its JSON), a ledger tip. So an entry is never stale and
nothing is ever invalidated; the bound only caps memory, and the least recently used entry
goes first (a "clear everything when full" dict would make every 4097th publish cold).
A lock makes it safe under threaded servers (reads skip the store's per-process guard).

Pure functions of small strings (:func:`consign.compose.refnames.encode`, the UI's syntax
highlighting) are memoized with :func:`functools.lru_cache` instead: same policy, no key
to build by hand. See docs/ARCHITECTURE.md, "Caches".
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class LRU(Generic[K, V]):
    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> V:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)
            return value

    def __len__(self) -> int:
        return len(self._data)
