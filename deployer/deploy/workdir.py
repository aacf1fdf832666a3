"""Where a deploy writes its descriptor and env files, so that the paths in it mean the same
to Compose, which resolves them, and to the engine, which mounts them.

Compose resolves a descriptor's relative paths (a bind mount's ``./data``, ``configs:`` and
``secrets:`` with ``file: ./x``, an ``env_file`` not published with the version) against the
descriptor's folder, on the machine Compose runs on; the engine then mounts that *path* from
its own host. When the deployer runs in a container of that engine (the Rundeck jobs: the
image with only the Docker socket mounted), the folder is the container's, and the engine
mounts a host path that merely has the same name: an empty folder it creates, not the files.

With ``--workdir DIR`` (``CONSIGN_WORKDIR``) each project's files are written under
``DIR/<project>/`` and kept there between deploys, so relative paths resolve to a folder that
persists and that operators fill (the env files and config files a descriptor expects on the
host). In a container, ``DIR`` must be a host folder mounted at the same path
(``-v DIR:DIR``): checked against the deployer's own container's mounts, which the engine
reports. Without a work folder, a descriptor with relative host paths is refused in such a
container (nothing started), and on a host it gets a warning: its scratch folder is removed
after the deploy.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, TextIO

import yaml
from docker.errors import NotFound

from consign.errors import InvalidDescriptor, WorkdirUnusable
from deployer.deploy import envfiles
from deployer.engine.owncontainer import own_container_id

MOUNTINFO = Path("/proc/self/mountinfo")
_PROJECT = re.compile(r"[a-z0-9][a-z0-9_-]*")
#: The tree of env files published with a version: the deployer's own, rewritten every deploy.
PUBLISHED_FILES = "fragments"


def relative_host_paths(text: str) -> list[str]:
    """What a descriptor names by a path relative to its folder (or to the deployer's home,
    ``~``): bind mounts, and the files of ``configs`` and ``secrets``, each said as a person
    reads it. A path with a variable in it is left to Compose, which interpolates it first."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        return []  # Compose's `config` names the YAML error itself
    if not isinstance(doc, Mapping):
        return []
    found: list[str] = []
    services = doc.get("services")
    for name, spec in services.items() if isinstance(services, Mapping) else ():
        mounts = spec.get("volumes") if isinstance(spec, Mapping) else None
        for mount in mounts if isinstance(mounts, list) else []:
            source = _bind_source(mount)
            if source is not None and _relative(source):
                found.append(f"service {name}: bind mount {source}")
    for kind in ("configs", "secrets"):
        entries = doc.get(kind)
        for name, spec in entries.items() if isinstance(entries, Mapping) else ():
            source = spec.get("file") if isinstance(spec, Mapping) else None
            if isinstance(source, str) and _relative(source):
                found.append(f"{kind[:-1]} {name}: file {source}")
    return found


def _bind_source(mount: object) -> str | None:
    """The host path of a bind mount (short ``SRC:DST[:MODE]`` or long syntax), else None."""
    if isinstance(mount, str):
        source, sep, _ = mount.partition(":")
        return source if sep and source.startswith((".", "~", "/")) else None
    if isinstance(mount, Mapping) and mount.get("type") == "bind":
        long_source = mount.get("source")
        return long_source if isinstance(long_source, str) else None
    return None


def _relative(path: str) -> bool:
    return "$" not in path and not path.startswith("/")


def _within(path: PurePosixPath, folder: PurePosixPath) -> bool:
    return path == folder or folder in path.parents


def same_path_problem(root: Path, mounts: Sequence[Mapping[str, Any]]) -> str | None:
    """Why ``root`` in the deployer's container is not the host's folder of the same path
    (None when a bind mount of the container holds it at the path it has on the host)."""
    wanted = PurePosixPath(root)
    holding = [
        m
        for m in mounts
        if m.get("Destination") and _within(wanted, PurePosixPath(str(m["Destination"])))
    ]
    if not holding:
        return f"{root} is not mounted from the host: it exists only in the deployer's container"
    mount = max(holding, key=lambda m: len(str(m["Destination"])))  # the innermost one holds it
    source, destination = str(mount.get("Source") or ""), str(mount["Destination"])
    if mount.get("Type") != "bind":
        what = f"{mount.get('Type')} mount {mount.get('Name') or source}"
        return f"{root} is on the {what}, not a host folder"
    if source != destination:
        return f"{root} is the host's {source} mounted at {destination}: the paths differ"
    return None


@dataclass(frozen=True)
class Workdir:
    """``--workdir``: the host folder each project's files are written under (None: a
    scratch folder per deploy, removed after it)."""

    root: Path | None = None

    @contextmanager
    def folder(self, project: str) -> Iterator[Path]:
        """The folder a deploy of ``project`` writes its descriptor, env files and override
        into; under the work folder it is kept, without the previous version's env files."""
        if self.root is None:
            with tempfile.TemporaryDirectory(prefix="consign-deploy-") as scratch:
                yield Path(scratch)
            return
        if not _PROJECT.fullmatch(project):  # Compose's rule, checked before it is a path
            raise WorkdirUnusable(f"--project {project!r} is not a Compose project name")
        folder = self.root / project
        try:
            folder.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(folder / PUBLISHED_FILES)
        except FileNotFoundError:
            pass
        except OSError as e:
            raise WorkdirUnusable(f"--workdir {self.root}: cannot write {folder}: {e}") from e
        if not os.access(folder, os.W_OK | os.X_OK):
            raise WorkdirUnusable(
                f"--workdir {self.root}: cannot write {folder} as uid {os.getuid()}: "
                "make it writable by the deployer's user"
            )
        yield folder

    def check(self, text: str, folder: Path, client: Any, out: TextIO, *, kept: bool) -> None:
        """Before Compose reads the descriptor (from ``folder``; ``kept``: a descriptor
        file's own folder, not a scratch one): paths in it must mean to the engine what they
        mean to Compose. In a container of the engine the work folder must be the host's
        folder of the same path (exit 2 otherwise), and without one, relative host paths and
        env files the version does not carry are refused (nothing started); on a host, a
        scratch folder gets a warning."""
        mounts = _own_mounts(client)
        if mounts is not None and self.root is not None:
            problem = same_path_problem(self.root, mounts)
            if problem:
                raise WorkdirUnusable(
                    f"--workdir {problem}; mount the host folder at the same path "
                    f"(docker run -v {self.root}:{self.root})"
                )
        paths = relative_host_paths(text)
        if mounts is None:
            if paths and not kept and not self._holds(folder):
                out.write(
                    f"warning: {'; '.join(paths)}: relative to a scratch folder removed after "
                    "this deploy; give --workdir (CONSIGN_WORKDIR) for a folder that stays\n"
                )
            return
        if self._holds(folder) or (kept and same_path_problem(folder, mounts) is None):
            return
        missing = [
            f"service {service}: env_file {path} (not attached to the version)"
            for service, path, required in envfiles.referenced(text)
            if required and "$" not in path and not (folder / path).is_file()
        ]
        if paths or missing:
            raise InvalidDescriptor("; ".join([*paths, *missing]) + ": host paths" + _FIX)

    def _holds(self, folder: Path) -> bool:
        root = self.root
        return root is not None and _within(PurePosixPath(folder), PurePosixPath(root))


_FIX = (
    ", and the deployer runs in a container of the engine, which would read the host's "
    "path of that name, not the deployer's; give a host folder mounted at the same path as "
    "--workdir (CONSIGN_WORKDIR), e.g. docker run -v /srv/consign:/srv/consign "
    "-e CONSIGN_WORKDIR=/srv/consign, and put the files under /srv/consign/<project>/"
)


def _own_mounts(client: Any) -> list[dict[str, Any]] | None:
    """The mounts of the container this deployer runs in, as the target engine reports
    them; None when it runs in none of that engine's containers."""
    try:
        container_id = own_container_id(MOUNTINFO.read_text(encoding="utf-8"))
    except OSError:
        return None
    if container_id is None:
        return None
    try:
        attrs = client.api.inspect_container(container_id)
    except NotFound:
        return None  # another engine's container: its host is not the target's
    mounts: list[dict[str, Any]] = attrs.get("Mounts") or []
    return mounts
