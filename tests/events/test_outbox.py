"""The outbox (registry/events/outbox.py): whole events only, written into spare files made
ahead when there are some (creating a file costs as much as an fsync on the CI disk)."""

from __future__ import annotations

import os
from pathlib import Path

from registry.events.catalog import Event
from registry.events.outbox import Outbox


def _event(n: int) -> Event:
    return Event("version.published", f"TLO/GE/{n}", {"version": n}, application="TLO")


def test_an_event_fills_a_spare_file_and_reads_back(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox")
    outbox.spares.replenish()
    spares = sorted(os.scandir(tmp_path / "spares"), key=lambda e: e.name)
    inodes = {entry.inode() for entry in spares}
    assert len(inodes) == outbox.spares.keep

    written = outbox.append(_event(1))

    assert written.stat().st_ino in inodes  # the spare's inode, renamed into the outbox
    assert outbox.spares.count() == outbox.spares.keep - 1
    assert [p.name for p in outbox.waiting()] == [written.name]
    event = Outbox.read(written)
    assert event is not None and event.subject == "TLO/GE/1" and event.data == {"version": 1}


def test_without_spares_or_with_one_removed_meanwhile_the_file_is_made(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox", durable=True)
    first = outbox.append(_event(1))  # none made yet
    outbox.spares.replenish()
    for entry in os.scandir(tmp_path / "spares"):
        os.unlink(entry.path)  # gone behind the outbox's back
    second = outbox.append(_event(2))
    assert [p.name for p in outbox.waiting()] == [first.name, second.name]
    assert [e.subject for e in map(Outbox.read, outbox.waiting()) if e] == ["TLO/GE/1", "TLO/GE/2"]
    assert not [n for n in os.listdir(tmp_path / "outbox") if n.startswith(".tmp-")]
