"""A 2xx publish survives power loss: objects and refs are fsynced before the answer.

Shown on a real `consign serve` by tracing its worker's system calls with strace: the new
commit's loose object, the fan-out directories, Git's ref file and the ref directories are
all fsynced before the worker sends ``HTTP/1.1 201``. And the ref storage the store relies
on (plain files) is checked when a repository is opened.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from consign.process import run
from registry.errors import StoreError
from registry.store import DescriptorStore
from registry.store.sparefiles import FOLDER as SPARES
from registry.store.sparefiles import PREFIX
from tests.registry.conftest import b64
from tests.serving import CONSIGN, ROOT, ServedRegistry

FRAGMENT = "services:\n  web:\n    image: busybox:latest\n"

pytestmark = pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace")


def _trace(pid: int, out: Path, *, children: bool = False) -> subprocess.Popen[bytes]:
    """strace -f attached to ``pid`` (and, with ``children``, to the children it already
    has: its persistent git sessions); returns once strace says each is attached."""
    pids = [pid]
    if children:
        for task in Path(f"/proc/{pid}/task").iterdir():  # any thread may have started one
            pids += [int(c) for c in (task / "children").read_text().split()]
    argv = ["strace", "-f", "-yy", "-s", "48", "-o", str(out)]
    for p in pids:
        argv += ["-p", str(p)]
    argv += ["-e", "trace=fsync,fdatasync,sendto,write,rename"]
    proc = subprocess.Popen(argv, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    waiting = set(pids)
    while waiting:
        line = proc.stderr.readline().decode()  # "strace: Process N attached"
        assert "attached" in line, line
        waiting.discard(int(line.split()[2]))
    return proc


def _publish(url: str, fragment: str = FRAGMENT) -> str:
    body = {"fragment": b64(fragment), "applications": ["Dur"], "releases": ["R1"]}
    answer = requests.put(f"{url}/fragment", json=body, timeout=30)
    assert answer.status_code == 201, answer.text
    commit: str = answer.json()["versions"][0]["commit"]
    return commit


def test_objects_and_refs_are_fsynced_before_the_201(tmp_path: Path) -> None:
    repo = tmp_path / "repo.git"
    with ServedRegistry(repo, tmp_path / "serve.log", workers=1).start() as server:
        [worker] = server.worker_pids()
        trace = tmp_path / "strace.txt"
        tracer = _trace(worker, trace)
        try:
            commit = _publish(server.url)
        finally:
            tracer.send_signal(signal.SIGINT)  # detach; the worker goes on
            tracer.communicate(timeout=30)
    lines = trace.read_text().splitlines()
    answer_at = next(i for i, line in enumerate(lines) if "HTTP/1.1 201" in line)
    before = "\n".join(lines[:answer_at])

    def fsynced(path_pattern: str) -> bool:
        return (
            re.search(rf"fsync\(\d+<{re.escape(str(repo))}/{path_pattern}>\)", before) is not None
        )

    # the publish's objects went to one pack: written under a temporary name (a spare file
    # made ahead, or a new one), fsynced, renamed into place (the pack, then its index),
    # then the pack directory fsynced
    renamed = dict(  # {the file written (under the repository): its final name}
        re.findall(
            rf'rename\("{re.escape(str(repo))}/((?:objects/pack/tmp_|{SPARES}/)\w+)", '
            rf'"{re.escape(str(repo))}/objects/pack/(pack-\w+\.(?:pack|idx))"',
            before,
        )
    )
    pack = next(final for final in renamed.values() if final.endswith(".pack"))
    index = run(
        ["git", "--git-dir", str(repo), "show-index"],
        input=(repo / "objects" / "pack" / pack.replace(".pack", ".idx")).read_bytes(),
    ).stdout
    assert commit in index, "the commit is not in the pack the publish wrote"
    by_kind = {final.rsplit(".", 1)[1]: tmp for tmp, final in renamed.items()}
    assert fsynced(by_kind["pack"]), "the pack was not fsynced"
    assert before.index(f"{by_kind['pack']}>") < before.index(f"/{pack}")
    # the index is derived data: not fsynced (rebuilt on open if torn, test_packrepair.py)
    assert not fsynced(by_kind["idx"]), "the index costs an fsync again"
    assert fsynced("objects/pack"), "the pack directory was not fsynced"
    assert fsynced(r"refs/heads/Dur/R1\.lock"), "Git did not fsync the branch (core.fsync)"
    assert fsynced(r"refs/tags/Dur/R1"), "the tag directory was not fsynced"
    # and the order: the objects before the ref transaction that makes them reachable
    first_ref = before.index("refs/heads/Dur/R1.lock")
    last_pack_sync = max(
        m.start()
        for m in re.finditer(rf"fsync\(\d+<{re.escape(str(repo))}/objects/pack>\)", before)
    )
    assert last_pack_sync < first_ref


FSYNCS_PER_PUBLISH = 6  # one pack (the pack, its folder), Git's two refs, their two folders


def test_a_publish_to_an_existing_release_costs_six_fsyncs(tmp_path: Path) -> None:
    """The cost of the guarantee, counted: Git itself makes 6 for the same writes with
    ``core.fsync=all`` and batched objects; loose objects made this 21, a pack whose index
    was fsynced too 7."""
    repo = tmp_path / "repo.git"
    with ServedRegistry(repo, tmp_path / "serve.log", workers=1).start() as server:
        _publish(server.url)  # the release and its ref folders exist from here on
        [worker] = server.worker_pids()
        trace = tmp_path / "strace.txt"
        tracer = _trace(worker, trace, children=True)
        try:
            _publish(server.url, FRAGMENT.replace("latest", "stable"))
        finally:
            tracer.send_signal(signal.SIGINT)
            tracer.communicate(timeout=30)
    lines = trace.read_text().splitlines()
    answer_at = next(i for i, line in enumerate(lines) if "HTTP/1.1 201" in line)
    trace_text = "\n".join(lines[:answer_at])
    synced = [line for line in lines[:answer_at] if re.search(r"\b(fsync|fdatasync)\(", line)]
    assert len(synced) == FSYNCS_PER_PUBLISH, "\n".join(synced)
    # the pack and its index were filled into spare files made after the first answer
    # (registry/store/sparefiles.py): no file was created for them on the publish's path
    renamed = re.findall(
        rf'rename\("[^"]*/((?:objects/pack/tmp_|{SPARES}/)\w+)", "[^"]*\.(pack|idx)"', trace_text
    )
    assert sorted(kind for _, kind in renamed) == ["idx", "pack"], renamed
    assert all(tmp.startswith(f"{SPARES}/{PREFIX}") for tmp, _ in renamed), renamed


def test_git_writes_with_fsync_configured(tmp_path: Path) -> None:
    """Existing repositories get Git's durability settings when the store opens them."""
    repo = tmp_path / "old.git"
    run(["git", "init", "--quiet", "--bare", str(repo)])
    DescriptorStore(repo).close()
    config = ["git", "config", "--file", str(repo / "config"), "--get"]
    assert run([*config, "core.fsync"]).stdout.strip() == "objects,derived-metadata,reference"
    assert run([*config, "core.fsyncMethod"]).stdout.strip() == "fsync"


def _reftable_repo(path: Path) -> Path:
    run(["git", "init", "--quiet", "--bare", str(path)])
    config = ["git", "config", "--file", str(path / "config")]
    run([*config, "core.repositoryformatversion", "1"])
    run([*config, "extensions.refStorage", "reftable"])
    return path


def test_a_reftable_repository_is_refused_by_the_store(tmp_path: Path) -> None:
    repo = _reftable_repo(tmp_path / "reftable.git")
    with pytest.raises(StoreError, match=r"refs as 'reftable' \(extensions.refStorage\)"):
        DescriptorStore(repo)


def test_serve_refuses_a_reftable_repository_at_start(tmp_path: Path) -> None:
    repo = _reftable_repo(tmp_path / "reftable.git")
    started = time.monotonic()
    done = subprocess.run(
        [*CONSIGN, "serve", "--repo", str(repo), "--bind", "127.0.0.1:1"],
        cwd=ROOT,
        capture_output=True,
        timeout=60,
    )
    assert done.returncode != 0
    err = done.stderr.decode()
    assert "reftable" in err and "--ref-format=files" in err, err
    assert "Traceback" not in err
    assert time.monotonic() - started < 60


_PUBLISH_SCRIPT = """
import sys
from pathlib import Path
from consign.compose.fragments import parse_fragment
from registry.store import DescriptorStore, Target
store = DescriptorStore(Path(sys.argv[1]), durable=sys.argv[2] == "on")
text = "services:\\n  web:\\n    image: busybox:latest\\n"
spec, _ = parse_fragment(text)
store.publish([Target("Dur", "R1")], None, text, spec, {"buildNumber": 1})
store.close()
"""


@pytest.mark.parametrize("durable", ["on", "off"])
def test_durability_off_skips_every_fsync_of_a_publish(tmp_path: Path, durable: str) -> None:
    """``CONSIGN_DURABLE=false`` (the store's ``durable=False``): neither the store nor the
    git it runs fsyncs anything of a publish (the repository's ``core.fsync`` is overridden);
    on, both do (the control)."""
    repo = tmp_path / "repo.git"
    DescriptorStore(repo).close()  # created (and configured with core.fsync) beforehand
    trace = tmp_path / "strace.txt"
    argv = ["strace", "-f", "-yy", "-o", str(trace), "-e", "trace=fsync,fdatasync"]
    argv += [*CONSIGN[:1], "-c", _PUBLISH_SCRIPT, str(repo), durable]
    subprocess.run(argv, cwd=ROOT, check=True, capture_output=True, timeout=120)
    synced = [line for line in trace.read_text().splitlines() if str(repo) in line]
    if durable == "on":
        assert any("refs/heads/Dur/R1.lock" in line for line in synced), synced
        assert any("/objects/" in line for line in synced), synced
    else:
        assert synced == [], synced
