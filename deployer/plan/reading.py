"""What the plan reads, changing nothing: Compose's resolved model and config hashes for
the new descriptor, and the project's containers, images, volumes and networks on the
engine (list calls, one image inspect per distinct image)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from consign.compose import yamlio
from consign.compose.errors import ComposeError
from consign.errors import InvalidDescriptor
from consign.process import CommandFailed, Completed, Running, run, start
from deployer import label_keys as keys
from deployer.engine.compose import ComposeRunner
from deployer.plan import dryrun
from deployer.plan.model import Seen
from deployer.verification.rules import PROFILE

#: Compose's global options that add the verification's services to the model.
PROFILE_ARGS = ("--profile", PROFILE)

CONFIG_HASH = "com.docker.compose.config-hash"
IMAGE_ID = "com.docker.compose.image"
NUMBER = "com.docker.compose.container-number"
_HASH_LINE = re.compile(r"^(\S+)\s+([0-9a-f]{64})$")
_IMAGE_ID = re.compile(r"^(sha256:)?[0-9a-f]{12,64}$")


def parse_hashes(text: str) -> dict[str, str]:
    """``config --hash '*'`` output (``service hash`` per line) as a mapping."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        m = _HASH_LINE.match(line.strip())
        if m:
            found[m.group(1)] = m.group(2)
    return found


def compose_view(
    compose: ComposeRunner, project: str, files: Sequence[Path], *, model: bool = True
) -> tuple[dict[str, Any], dict[str, str]]:
    """The resolved model (``config --format json``; {} unless ``model``) and every
    service's config hash (``config --hash '*'``, the hash ``up`` labels containers
    with), read side by side."""
    argv = compose.command_line

    def one(*args: str) -> Completed:
        try:
            return run(argv(project, files, *args), env=compose.env, tied_to_caller=True)
        except CommandFailed as e:
            text = "\n".join(x for x in (e.stderr or e.stdout).splitlines() if x.strip())
            raise InvalidDescriptor(text or str(e)) from e

    with ThreadPoolExecutor(max_workers=2) as pool:
        model_run = pool.submit(one, "config", "--format", "json") if model else None
        hash_run = pool.submit(one, "config", "--hash", "*")
        resolved: dict[str, Any] = json.loads(model_run.result().stdout) if model_run else {}
        hashes = parse_hashes(hash_run.result().stdout)
    return resolved, hashes


def service_names(text: str) -> list[str]:
    """The services a descriptor's text declares ([] when it cannot be read: Compose says
    why). A guess made to start Compose's commands together; the model has the last word."""
    try:
        doc = yamlio.load(text)
    except ComposeError:
        return []
    services = doc.get("services") if isinstance(doc, dict) else None
    return [str(name) for name in services] if isinstance(services, dict) else []


class Concurrent:
    """Compose's ``config --format json`` (with the ``verify`` profile's services),
    ``config --hash '*'`` and ``up --dry-run`` on
    the same files, started together (each a second or so on a large project, the plan's
    main cost); whatever is still running when the block ends is interrupted and reaped."""

    def __init__(self, compose: ComposeRunner, project: str, files: Sequence[Path], pull: str):
        self.compose, self.project, self.files, self.pull = compose, project, files, pull
        self._runs: dict[str, Running] = {}

    def __enter__(self) -> Concurrent:
        argv, env = self.compose.command_line, self.compose.env
        try:
            self._runs["model"] = start(  # with the verification's services: the plan lists them
                argv(self.project, self.files, *PROFILE_ARGS, "config", "--format", "json"),
                env=env,
            )
            self._runs["hashes"] = start(
                argv(self.project, self.files, "config", "--hash", "*"), env=env
            )
            self._runs["dry"] = start(
                dryrun.argv(self.compose, self.project, self.files, self.pull), env=env
            )
        except BaseException:
            self._end()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._end()

    def _end(self) -> None:
        for running in self._runs.values():
            running.interrupt()
        for running in self._runs.values():
            running.wait()

    def _done(self, key: str) -> Completed:
        done = self._runs[key].wait()
        if done.returncode != 0:
            text = "\n".join(x for x in (done.stderr or done.stdout).splitlines() if x.strip())
            raise InvalidDescriptor(text or f"compose exited {done.returncode}")
        return done

    def model(self) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(self._done("model").stdout)
        return found

    def hashes(self) -> dict[str, str]:
        return parse_hashes(self._done("hashes").stdout)

    @property
    def dry_running(self) -> bool:
        return "dry" in self._runs

    def stop_dry_run(self) -> None:
        running = self._runs.pop("dry", None)
        if running is not None:
            running.interrupt()
            running.wait()

    def dry_run(self) -> dryrun.DryRun | str:
        return dryrun.said(self._runs["dry"].wait())


def seen_from_summary(row: Mapping[str, Any]) -> Seen | None:
    """A container of the engine's list (``/containers/json``); None for one Compose does
    not count as the project's: without a config hash label (Compose v2 lists a
    project's containers by its project label *and* that one)."""
    labels = dict(row.get("Labels") or {})
    if CONFIG_HASH not in labels:
        return None
    names = [str(n).lstrip("/") for n in row.get("Names") or []]
    ours = {k: v for k, v in labels.items() if k.startswith(keys.PREFIX)}
    try:
        number = int(labels.get(NUMBER, "1"))
    except ValueError:
        number = 1
    return Seen(
        id=str(row.get("Id", "")),
        name=names[0] if names else str(row.get("Id", ""))[:12],
        service=labels.get(keys.SERVICE, ""),
        config_hash=labels.get(CONFIG_HASH, ""),
        image=str(row.get("Image", "")),
        image_id=labels.get(IMAGE_ID) or str(row.get("ImageID", "")),
        labels=ours,
        state=str(row.get("State", "")),
        number=number,
        oneoff=labels.get(keys.ONEOFF) == "True",
    )


def containers(client: Any, project: str) -> list[Seen]:
    """The project's containers (one list call). The list shows an image's ID instead of
    its reference when the reference now names another image: those few are inspected
    for the reference they were created from."""
    rows = client.api.containers(all=True, filters={"label": f"{keys.PROJECT}={project}"})
    found: list[Seen] = []
    for row in rows:
        seen = seen_from_summary(row)
        if seen is None:
            continue
        if _IMAGE_ID.match(seen.image):
            config = client.api.inspect_container(seen.id).get("Config") or {}
            seen = _with_image(seen, str(config.get("Image") or seen.image))
        found.append(seen)
    return found


def _with_image(seen: Seen, image: str) -> Seen:
    return replace(seen, image=image)


def image_ids(client: Any, images: Iterable[str]) -> dict[str, str | None]:
    """Image reference -> its ID on the engine, None when it is not there."""
    import docker.errors

    found: dict[str, str | None] = {}
    for image in dict.fromkeys(i for i in images if i):
        try:
            found[image] = str(client.api.inspect_image(image).get("Id") or "") or None
        except docker.errors.ImageNotFound:
            found[image] = None
        except docker.errors.NotFound:
            found[image] = None
    return found


def volume_names(client: Any) -> set[str]:
    return {str(v.get("Name")) for v in client.api.volumes().get("Volumes") or []}


def network_names(client: Any) -> set[str]:
    return {str(n.get("Name")) for n in client.api.networks()}
