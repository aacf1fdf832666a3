"""kill -9 in the middle of publishing, again and again: nothing answered is lost.

A child process publishes in a loop through the store (spare files, packs whose index is
not fsynced, Git's ref transaction) and prints each version once ``publish`` has returned
(the moment a server answers 201); it is SIGKILLed at a varying moment. Each time the
repository is opened again, as a restarted registry does: every version printed is there
with the commit it was answered with, ``git fsck`` finds no error, no Git lock is left, and
publishing goes on from the next number. (A power cut is what the fsyncs are for; strace
shows them in test_durability.py and test_packrepair.py plays the torn index.)
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from consign.process import run
from registry.store import DescriptorStore
from tests.registry.conftest import git_locks
from tests.serving import CONSIGN, ROOT

KILLS = 5

_PUBLISHER = """
import sys
from pathlib import Path
from consign.compose.fragments import parse_fragment
from registry.store import DescriptorStore, Target
store = DescriptorStore(Path(sys.argv[1]))
n = int(sys.argv[2])
while True:
    store.replenish()  # as the server does after each answer
    text = f"services:\\n  web:\\n    image: busybox\\n    environment:\\n      N: '{n}'\\n"
    spec, _ = parse_fragment(text)
    [done] = store.publish([Target("Crash", "R1")], None, text, spec, {"buildNumber": n})
    print(done.version.number, done.version.commit, flush=True)
    n += 1
"""


def test_versions_answered_before_a_kill_survive_it(tmp_path: Path) -> None:
    repo = tmp_path / "repo.git"
    DescriptorStore(repo).close()
    answered: dict[int, str] = {}
    for round_ in range(KILLS):
        out = tmp_path / f"out-{round_}.txt"
        with out.open("wb") as sink:
            child = subprocess.Popen(
                [*CONSIGN[:1], "-c", _PUBLISHER, str(repo), str(1000 * round_)],
                cwd=ROOT,
                stdout=sink,
                stderr=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + 60
            while out.stat().st_size == 0 and time.monotonic() < deadline:
                time.sleep(0.01)  # running: it has published once
            time.sleep(0.05 + 0.037 * round_)  # then a moment that varies from round to round
            os.kill(child.pid, signal.SIGKILL)
            child.wait(timeout=30)
        lines = out.read_text().splitlines()
        assert lines, "the publisher never published"
        for line in lines:
            number, commit = line.split()
            answered[int(number)] = commit

        store = DescriptorStore(repo)  # what a restarted registry does
        try:
            for number, commit in answered.items():
                assert store.version("Crash", "R1", number).commit == commit, number
            newest = store.version("Crash", "R1", None).number
            assert newest in (max(answered), max(answered) + 1)  # + one landed unanswered
        finally:
            store.close()
        fsck = run(["git", "--git-dir", str(repo), "fsck", "--full", "--no-progress"])
        assert "error" not in fsck.stderr and "missing" not in fsck.stdout, fsck
        assert not git_locks(repo)
    assert len(answered) >= KILLS
