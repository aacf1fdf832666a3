"""The store's gate on real bare repositories: `healthy_in` read through the ledger
interface of contract 5 (`deployments_of_version`), and the records the gate keeps.

This branch has no ledger, so `LedgerStore` gives the store the one method contract 5
names, answering from a list the test fills the way the deployer's reports would; the
end-to-end test with the real ledger comes with it (issue 9)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from registry.assembly import parse_fragment
from registry.errors import GateRefused, Locked, NotFound
from registry.gate import APPROVAL, Decision, Freeze, Policy
from registry.store import DescriptorStore, Target
from tests.registry.conftest import objects, refs
from tests.registry.test_gate_rules import record

MS, QA = Target("TLO GE", "Milestone"), Target("TLO GE", "QA")
WEB = "services:\n  web:\n    image: busybox\n"


class LedgerStore(DescriptorStore):
    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.recorded: dict[tuple[str, str, int], list[Any]] = {}
        self.asked: list[tuple[str, str, int]] = []

    def deployments_of_version(self, application: str, release: str, number: int) -> list[Any]:
        self.asked.append((application, release, number))
        return list(self.recorded.get((application, release, number), []))


@pytest.fixture
def store(repo: Path) -> LedgerStore:
    made = LedgerStore(repo)
    spec, _ = parse_fragment(WEB)
    made.publish([MS], "web", WEB, spec, {"n": 1})
    return made


def test_healthy_in_refused_before_an_ok_deploy_accepted_after(
    store: LedgerStore, repo: Path
) -> None:
    store.set_policy("TLO GE", "QA", Policy(healthy_in=("qa-1",), set_by="rm"))
    with pytest.raises(GateRefused) as never:
        store.promote(QA, MS, 1, {"by": "rm"}, "rm")
    assert never.value.details["unmet"] == ["version 1 was never deployed to qa-1"]
    failed = record("qa-1", "failed", "2026-12-01T14:02:00Z", web="crash-looping")
    store.recorded[("TLO GE", "Milestone", 1)] = [failed]
    before = refs(repo), objects(repo)
    with pytest.raises(GateRefused) as crashed:
        store.promote(QA, MS, 1, {"by": "rm"}, "rm")
    assert crashed.value.status == 409
    assert "last deploy there failed at 2026-12-01 14:02 UTC, web crash-looping" in str(
        crashed.value
    )
    assert (refs(repo), objects(repo)) == before
    ok = record("qa-1", "ok", "2026-12-01T15:00:00Z", web="healthy")
    store.recorded[("TLO GE", "Milestone", 1)] = [ok, failed]
    outcome = store.promote(QA, MS, 1, {"by": "rm"}, "rm")
    assert outcome.created and outcome.version.number == 1
    assert store.asked[-1] == ("TLO GE", "Milestone", 1)


def test_gate_records_survive_a_new_store(store: LedgerStore, repo: Path) -> None:
    store.decide("TLO GE", "Milestone", Decision(APPROVAL, 1, "ann", "qa-ann", "ok", "t1"))
    store.freeze("TLO GE", "QA", Freeze("go-live", "carol", "rm-carol", "t2"))
    with pytest.raises(NotFound):
        store.decide("TLO GE", "Milestone", Decision(APPROVAL, 2, "ann", None, "", "t3"))
    fresh = DescriptorStore(repo)  # another worker: everything read back from Git
    standing = fresh.gate("TLO GE", "Milestone").standing(1)
    assert [a.identity for a in standing.approvals] == ["qa-ann"]
    frozen = fresh.gate("TLO GE", "QA").frozen()
    assert frozen is not None and frozen.identity == "rm-carol"
    with pytest.raises(Locked):
        fresh.promote(QA, MS, 1, {}, "x")
    spec, _ = parse_fragment(WEB)
    with pytest.raises(Locked):
        fresh.publish([MS, QA], None, WEB, spec, {"n": 2})
    assert fresh.thaw("TLO GE", "QA", "carol") is not None
    assert fresh.thaw("TLO GE", "QA", "carol") is None
    assert store.gate("TLO GE", "QA").frozen() is None  # the first store sees it too
