"""The store under real concurrency (processes sharing one repo) and SIGKILL at random moments.

Children are forked from a process that has already used the store, as gunicorn forks
workers from a master that created the app: this also proves the per-pid Git handles.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import random
import signal
import time
from pathlib import Path

import pytest

from consign.process import run
from registry.store import DescriptorStore, Target
from tests.procs import wait_for_no_git
from tests.registry.conftest import fsck, git_locks
from tests.registry.test_store import frag, publish

GE = Target("TLO GE", "Milestone")
EE = Target("TLO EE", "Milestone")
FORK = multiprocessing.get_context("fork")


def _worker(store: DescriptorStore, worker: int, count: int, out: multiprocessing.Queue) -> None:
    for j in range(count):
        name = f"c{worker}-{j}"
        outcomes = publish(store, frag(f"s{worker}-{j}"), [GE, EE], component=name)
        out.put((name, [(o.created, o.version.number, o.version.commit) for o in outcomes]))


@pytest.mark.slow
def test_eight_processes_publishing_lose_nothing(repo: Path) -> None:
    store = DescriptorStore(repo)
    assert store.applications() == []  # the parent has used the store before forking
    queue: multiprocessing.Queue = FORK.Queue()
    workers = [FORK.Process(target=_worker, args=(store, w, 10, queue)) for w in range(8)]
    for p in workers:
        p.start()
    results = [queue.get(timeout=120) for _ in range(80)]
    for p in workers:
        p.join(timeout=60)
        assert p.exitcode == 0
    for index, target in enumerate([GE, EE]):
        numbers = sorted(r[1][index][1] for r in results)
        assert numbers == list(range(1, 81))  # no gap, no duplicate
        assert all(r[1][index][0] for r in results)
        for name, outcomes in results:
            info = store.version(target.application, target.release, outcomes[index][1])
            assert (info.component, info.commit) == (name, outcomes[index][2])
        latest = store.version(target.application, target.release, None)
        assert latest.number == 80
        assert sorted(c.name for c in latest.components) == sorted(r[0] for r in results)
        assert [v.number for v in store.versions(*vars(target).values(), limit=100)] == list(
            range(80, 0, -1)
        )


def _publish_forever(store: DescriptorStore, run_index: int, log: str) -> None:
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    j = 0
    while True:
        name = f"c{j % 5}"
        text = frag(f"svc{j % 5}", image=f"busybox:{run_index}-{j}")
        [outcome] = publish(store, text, [GE], component=name)
        sha = hashlib.sha256(text.encode()).hexdigest()
        # Reported only after publish returned: this is what an HTTP client would have seen.
        os.write(fd, f"{outcome.version.number} {name} {sha}\n".encode())
        j += 1


def _answered_count(log: Path) -> int:
    return len(log.read_bytes().splitlines()) if log.exists() else 0


def _wait_for_answers(log: Path, count: int, child: multiprocessing.process.BaseProcess) -> None:
    deadline = time.monotonic() + 120
    while _answered_count(log) < count:
        assert child.is_alive(), f"the publisher died on its own (exit code {child.exitcode})"
        assert time.monotonic() < deadline, "the publisher answered nothing in 120 s"
        time.sleep(0.01)


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_no_answered_version(repo: Path, tmp_path: Path) -> None:
    # Housekeeping as often as possible, so that kills also land during `git gc --auto`.
    store = DescriptorStore(repo, gc_auto=1, gc_min_interval=10)
    log = tmp_path / "answered.log"
    rng = random.Random(20261126)
    for run_index in range(10):
        before = _answered_count(log)
        child = FORK.Process(target=_publish_forever, args=(store, run_index, str(log)))
        child.start()
        # The kill lands at a random moment *after* the child's first answered publish:
        # on a loaded machine a fixed delay from the start may end before the first one.
        _wait_for_answers(log, before + 1, child)
        time.sleep(rng.uniform(0.0, 0.5))
        os.kill(child.pid or 0, signal.SIGKILL)
        child.join(timeout=30)
        assert child.exitcode == -signal.SIGKILL
        # An orphaned `git update-ref` finishes its transaction and exits at end of input;
        # nothing else of the child's (cat-file, gc and its repack) may outlive it.
        left = wait_for_no_git(repo, timeout=30)
        assert not left, f"git processes outlived the killed publisher: {left}"
        assert not git_locks(repo), "the killed publisher left a Git lock file"
        fsck(repo)
        answered = [line.split() for line in log.read_text().splitlines()]
        assert answered, "the child never published"
        fresh = DescriptorStore(repo)
        for number, name, sha in answered:
            info = fresh.version("TLO GE", "Milestone", int(number))
            assert info.component == name
            assert next(c for c in info.components if c.name == name).sha256 == sha
        latest = fresh.version("TLO GE", "Milestone", None).number
        assert latest >= int(answered[-1][0])
        tags = run(["git", "--git-dir", str(repo), "tag", "--list"]).stdout.split()
        assert len(tags) == latest  # no gap and no stray tag, whatever moment the kill hit
    # Publishing continues where it stopped.
    [after] = publish(store, frag("after"), [GE])
    assert after.version.number == latest + 1
