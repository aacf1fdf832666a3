"""Retiring and restoring environments (store/retirements.py): the store's methods."""

from __future__ import annotations

from registry.errors import NotFound
from registry.store import locking
from registry.store.core import StoreCore
from registry.store.layout import check_environment
from registry.store.retirements import RESTORED, RETIRED, RetirementEvent
from registry.store.types import EnvironmentState


class RetireFacade(StoreCore):
    """DescriptorStore's retirement methods (see :mod:`.core`)."""

    def in_service(self) -> list[EnvironmentState]:
        """Every environment with a ledger that is not retired, by name: what the lists
        (the matrix, where versions run, the Rundeck option, finding a build) show."""
        retired = self.retirements()
        return [state for state in self.environments() if state.name not in retired]

    def retirements(self) -> dict[str, RetirementEvent]:
        """The environments retired now, with the retirement in force."""
        with self._guard():
            found = {n: self._retirements.snapshot(n).current for n in self._retirements.names()}
        return {name: event for name, event in found.items() if event is not None}

    def retirement(self, environment: str) -> RetirementEvent | None:
        """The retirement in force (None: in service)."""
        check_environment(environment)
        with self._guard():
            return self._retirements.snapshot(environment).current

    def retirement_history(self, environment: str) -> list[RetirementEvent]:
        """Every retirement and restoration of the environment, oldest first."""
        check_environment(environment)
        with self._guard():
            return list(self._retirements.snapshot(environment).events)

    def retire(self, event: RetirementEvent) -> tuple[RetirementEvent, bool]:
        """Retire an environment the ledger knows: (the retirement in force, created). One
        already retired stays as it was (a retry changes nothing: ``created`` False)."""
        assert event.kind == RETIRED
        with self._guard(), locking.exclusive(self._path, self._lock_waited):
            if self._ledger.tip(check_environment(event.environment)) is None:
                raise NotFound(
                    f"no deployment was ever recorded for the environment {event.environment!r}"
                    ": there is nothing to retire"
                )
            current = self._retirements.snapshot(event.environment).current
            if current is not None:
                return current, False
            self._retirements.record(event)
            return event, True

    def restore(self, event: RetirementEvent) -> RetirementEvent | None:
        """Put a retired environment back in service; the retirement lifted (None: it was
        not retired, nothing written)."""
        assert event.kind == RESTORED
        with self._guard(), locking.exclusive(self._path, self._lock_waited):
            current = self._retirements.snapshot(check_environment(event.environment)).current
            if current is None:
                return None
            self._retirements.record(event)
            return current
