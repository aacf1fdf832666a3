"""--workdir (deployer/deploy/workdir.py): the rules on recorded inputs, then real deploys on
this host (the deployer in a container of the engine: tests/image/test_workdir_image.py)."""

from __future__ import annotations

import io
import uuid
from pathlib import Path
from typing import Any

import pytest

from consign.errors import InvalidDescriptor, WorkdirUnusable
from consign.exit_codes import ExitCode
from deployer.deploy import workdir
from deployer.deploy.workdir import (
    Workdir,
    own_container_id,
    relative_host_paths,
    same_path_problem,
)
from tests.deployer.conftest import GitRegistry
from tests.deployer.helpers import containers, deploy

CID = "4f" * 32
# /proc/self/mountinfo of a container the engine started (recorded, trimmed to three lines)
MOUNTINFO = "\n".join(
    [
        "1630 1452 0:180 / / rw,relatime master:712 - overlay overlay rw,lowerdir=/l/X",
        f"1641 1630 8:1 /var/lib/docker/containers/{CID}/resolv.conf /etc/resolv.conf rw"
        " - ext4 /dev/sda1 rw",
        "1642 1630 8:1 /srv/consign /srv/consign rw,relatime - ext4 /dev/sda1 rw",
    ]
)

DESCRIPTOR = """\
services:
  web:
    image: busybox:latest
    env_file: [app.env, {path: optional.env, required: false}]
    volumes:
      - ./site:/www:ro
      - data:/data
      - /etc/hostname:/host-name:ro
      - type: bind
        source: ../shared
        target: /shared
      - ${LOGS}:/logs
configs:
  app: {file: ./app.conf}
  fixed: {file: /etc/consign/fixed.conf}
secrets:
  key: {file: ~/key}
volumes:
  data: {}
"""


def test_own_container_id_comes_from_the_engines_container_folder() -> None:
    assert own_container_id(MOUNTINFO) == CID
    assert own_container_id(MOUNTINFO.replace("containers", "volumes")) is None


# /proc/self/mountinfo on the engine's host (dockerd in the same mount namespace) while a
# container with a shareable IPC namespace runs (recorded, trimmed)
HOST_MOUNTINFO = "\n".join(
    [
        "23 1 0:21 / / rw,relatime - overlay overlay rw,lowerdir=/l/Y",
        f"54 45 0:42 / /var/lib/docker/containers/{CID}/mounts/shm rw,nosuid,nodev,noexec,"
        "relatime shared:3 - tmpfs shm rw,size=65536k",
        f"55 23 0:43 / /var/lib/docker/overlay2/{'ab' * 32}/merged rw - overlay overlay rw",
    ]
)


def test_another_containers_mount_seen_from_the_host_is_not_ours() -> None:
    """Under load another test's container was running: the host's deployer took itself for
    that container and refused the env files of a plain deploy."""
    assert own_container_id(HOST_MOUNTINFO) is None
    assert own_container_id(HOST_MOUNTINFO + "\n" + MOUNTINFO.splitlines()[1]) == CID
    podman = (
        f"9 1 0:5 /var/lib/containers/storage/overlay-containers/{CID}/userdata/hosts "
        "/etc/hosts rw - tmpfs t rw"
    )
    assert own_container_id(podman) == CID


def test_relative_host_paths_are_named_as_written() -> None:
    assert relative_host_paths(DESCRIPTOR) == [
        "service web: bind mount ./site",
        "service web: bind mount ../shared",
        "config app: file ./app.conf",
        "secret key: file ~/key",
    ]
    assert relative_host_paths("services: [") == []  # Compose names the YAML error itself
    assert relative_host_paths("services:\n  a: {image: x, volumes: [v:/v]}\n") == []


def bind(source: str, destination: str, kind: str = "bind") -> dict[str, Any]:
    return {"Type": kind, "Source": source, "Destination": destination, "Name": "vol"}


def test_the_work_folder_must_be_the_hosts_folder_of_the_same_path() -> None:
    root = Path("/srv/consign")
    assert same_path_problem(root, [bind("/srv/consign", "/srv/consign")]) is None
    assert same_path_problem(root, [bind("/srv", "/srv")]) is None  # held by a parent
    assert same_path_problem(root / "p", [bind("/srv/consign", "/srv/consign")]) is None
    assert "is the host's /data/consign mounted at /srv/consign: the paths differ" in str(
        same_path_problem(root, [bind("/srv", "/srv"), bind("/data/consign", "/srv/consign")])
    )
    assert "exists only in the deployer's container" in str(same_path_problem(root, []))
    assert "not a host folder" in str(same_path_problem(root, [bind("x", "/srv", "volume")]))


class Engine:
    """The one SDK call the checks make: inspect_container, answered from a record."""

    def __init__(self, mounts: list[dict[str, Any]]) -> None:
        self.api = self
        self.mounts = mounts

    def inspect_container(self, container_id: str) -> dict[str, Any]:
        assert container_id == CID
        return {"Id": CID, "Mounts": self.mounts}


@pytest.fixture
def in_container(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "mountinfo").write_text(MOUNTINFO)
    monkeypatch.setattr(workdir, "MOUNTINFO", tmp_path / "mountinfo")


@pytest.mark.usefixtures("in_container")
def test_in_a_container_relative_paths_need_a_same_path_work_folder(tmp_path: Path) -> None:
    out = io.StringIO()
    bare = Engine([bind("/var/run/docker.sock", "/var/run/docker.sock")])
    with pytest.raises(InvalidDescriptor) as refused:
        Workdir().check(DESCRIPTOR, tmp_path, bare, out, kept=False)
    message = str(refused.value)
    assert message.startswith("service web: bind mount ./site; service web: bind mount ../")
    assert "service web: env_file app.env (not attached to the version)" in message
    assert "optional.env" not in message
    assert "-e CONSIGN_WORKDIR=/srv/consign" in message

    root = tmp_path / "work"
    with pytest.raises(WorkdirUnusable, match="exists only in the deployer's container"):
        Workdir(root).check(DESCRIPTOR, root / "p", bare, out, kept=False)
    moved = Engine([bind("/elsewhere", str(root))])
    with pytest.raises(WorkdirUnusable, match=rf"-v {root}:{root}"):
        Workdir(root).check("services: {}\n", root / "p", moved, out, kept=False)
    same = Engine([bind(str(root), str(root))])
    Workdir(root).check(DESCRIPTOR, root / "p", same, out, kept=False)
    # a descriptor file in a folder mounted at its own path needs no work folder
    Workdir().check(DESCRIPTOR, root / "p", same, out, kept=True)
    assert out.getvalue() == ""


def test_on_a_host_a_scratch_folder_gets_a_warning(tmp_path: Path) -> None:
    """This process runs in no container of any engine (the suite's engine is local)."""
    out = io.StringIO()
    Workdir().check(DESCRIPTOR, tmp_path, object(), out, kept=True)
    assert out.getvalue() == ""
    Workdir(tmp_path).check(DESCRIPTOR, tmp_path / "p", object(), out, kept=False)
    assert out.getvalue() == ""
    Workdir().check(DESCRIPTOR, tmp_path, object(), out, kept=False)
    assert out.getvalue().startswith("warning: service web: bind mount ./site; ")
    assert "removed after this deploy; give --workdir (CONSIGN_WORKDIR)" in out.getvalue()


def test_the_project_folder_is_kept_without_the_previous_versions_files(tmp_path: Path) -> None:
    folder = tmp_path / "work" / "shop"
    (folder / "fragments" / "web").mkdir(parents=True)
    (folder / "fragments" / "web" / "old.env").write_text("OLD=1\n")
    (folder / "app.env").write_text("PLACED=by operators\n")
    with Workdir(tmp_path / "work").folder("shop") as given:
        assert given == folder
        assert not (folder / "fragments").exists() and (folder / "app.env").exists()
    assert folder.is_dir()
    (folder / "fragments").write_text("not the deployer's folder")
    with pytest.raises(WorkdirUnusable, match=r"cannot write .*/work/shop"):
        Workdir(tmp_path / "work").folder("shop").__enter__()
    with pytest.raises(WorkdirUnusable, match="not a Compose project name"):
        Workdir(tmp_path / "work").folder("../escape").__enter__()
    assert not (tmp_path / "escape").exists()
    (tmp_path / "file").write_text("")
    with (
        pytest.raises(WorkdirUnusable, match="cannot write"),
        Workdir(tmp_path / "file").folder("shop"),
    ):
        pass


HOST_PATHS = """\
services:
  web:
    image: busybox:latest
    command: ["sh", "-c", "cat /www/index.html; echo GREETING=$$GREETING; exec sleep 100000"]
    stop_grace_period: 1s
    env_file: app.env
    volumes:
      - ./site:/www:ro
"""


@pytest.mark.docker
def test_a_registry_version_reads_the_hosts_files_from_the_work_folder(
    tmp_path: Path, project: str, git_registry: GitRegistry
) -> None:
    """A relative bind mount and an env file the version does not carry: placed by an
    operator under <workdir>/<project>/, seen by the container, kept between deploys."""
    git_registry.publish("Host Paths", "R", 1, HOST_PATHS)
    root, marker = tmp_path / "work", uuid.uuid4().hex
    (root / project / "site").mkdir(parents=True)
    (root / project / "site" / "index.html").write_text(f"page {marker}\n")
    (root / project / "app.env").write_text(f"GREETING=hello-{marker}\n")
    src = ("--git", str(git_registry.repo), "--project", project, "--stable", "1")

    refused = deploy(tmp_path, "Host Paths", "R", "1", *src)  # no work folder: no app.env
    assert refused.code == ExitCode.INVALID_DESCRIPTOR, refused.output
    assert "warning: service web: bind mount ./site: relative to a scratch folder" in (
        refused.output
    )
    assert containers(project) == []

    done = deploy(tmp_path, "Host Paths", "R", "1", *src, "--workdir", str(root))
    assert done.code == ExitCode.OK, done.output
    (container,) = containers(project)
    logs = container.logs().decode()
    assert f"page {marker}" in logs and f"GREETING=hello-{marker}" in logs
    assert (root / project / "docker-compose.yml").is_file()
    mounts = {m["Destination"]: m["Source"] for m in container.attrs["Mounts"]}
    assert mounts["/www"] == str(root / project / "site")
