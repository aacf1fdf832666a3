"""What the facade's parts share: the parts of a :class:`DescriptorStore` and its locks.

``DescriptorStore`` (``registry/store/__init__.py``: versions and publishing) is put
together from mixins, one module per area: :mod:`.gatefacade` (policy, freeze, decisions,
promotion), :mod:`.ledgerfacade` (deployment records, environment locks) and
:mod:`.ocifacade` (OCI artifacts' layers, OCI names), :mod:`.retirefacade` (retired
environments). Views see one object with one
interface; each mixin uses only what this class declares.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from registry.store import gatestore, housekeeping
from registry.store.envlocks import EnvLocks
from registry.store.gitobjects import ObjectStore
from registry.store.ledger import Ledger
from registry.store.promotions import Promotions
from registry.store.reader import Reader
from registry.store.refs import RefDB
from registry.store.retirements import Retirements

if TYPE_CHECKING:
    from registry.store.types import DeploymentRecord, EnvironmentState, VersionInfo


# A page of the versions listing. Each version carries every component with its build
# (~9 KB of JSON at 50 components), so 20 versions are ~180 KB and a few milliseconds,
# where 100 were ~900 KB and ~20 ms; older versions are one `before=` away.
DEFAULT_LIMIT = 20


class StoreCore:
    _path: Path
    _lock_waited: Callable[[float], None] | None
    _objects: ObjectStore
    _refs: RefDB
    _reader: Reader
    _gate: gatestore.GateStore
    _ledger: Ledger
    _envlocks: EnvLocks
    _promotions: Promotions
    _retirements: Retirements
    _locks: dict[int, threading.RLock]
    housekeeper: housekeeping.Housekeeper

    def _guard(self) -> threading.RLock:
        """A per-process lock: one cat-file pipe must not serve two threads at once."""
        return self._locks.setdefault(os.getpid(), threading.RLock())

    if TYPE_CHECKING:  # defined by DescriptorStore and the ledger's mixin

        def applications(self) -> list[str]: ...

        def environments(self) -> list[EnvironmentState]: ...

        def releases(self, application: str) -> list[str]: ...

        def _tip(self, application: str, release: str) -> str: ...

        def version(self, application: str, release: str, number: int | None) -> VersionInfo: ...

        def deployments_of_version(
            self, application: str, release: str, number: int
        ) -> list[DeploymentRecord]: ...
