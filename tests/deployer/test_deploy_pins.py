"""A deploy compares each service's running image ID with what `consign publish
--pin-images` recorded: the same tag rebuilt on the host is a warning line and a field of
the report, or with --require-pinned-images (CONSIGN_REQUIRE_PINNED_IMAGES) a failure."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from consign.exit_codes import ExitCode
from consign.process import run
from tests.deployer.helpers import consign, deploy
from tests.serving import ServedRegistry

pytestmark = pytest.mark.docker


def _build(tag: str, content: str) -> str:
    dockerfile = f"FROM busybox:latest\nLABEL io.consignment.test={content}\n"
    run(["docker", "build", "-q", "-t", tag, "-"], input=dockerfile, timeout=120)
    inspect = ["docker", "image", "inspect", "--format", "{{.Id}}", tag]
    return run(inspect, timeout=60).stdout.strip()


@pytest.fixture
def images() -> Iterator[list[str]]:
    """Image IDs the test builds; removed afterwards (after the project is down)."""
    made: list[str] = []
    yield made
    for image in made:
        run(["docker", "image", "rm", "-f", image], timeout=60, check=False)


def test_a_rebuilt_tag_is_reported_and_fails_when_required(
    tmp_path: Path,
    images: list[str],
    project: str,
    served: ServedRegistry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tag = f"consign-pin-{uuid.uuid4().hex[:10]}:ci"
    images.append(_build(tag, "ci"))
    fragment = tmp_path / "docker-compose.yml"
    fragment.write_text(f"services:\n  web:\n    image: {tag}\n    command: sleep 100000\n")
    argv = ["publish", str(fragment), "-a", "Pin", "-r", "R", "-c", "web", "--pin-images"]
    code, output = consign(*argv, "--registry", served.url, "--attempts", "1")
    assert code == ExitCode.OK, output
    args = ("Pin", "R", "1", "--registry", served.url, "--project", project, "--stable", "1")

    same = deploy(tmp_path, *args)
    assert same.code == ExitCode.OK, same.output
    assert same.report["image_mismatches"] == {}
    assert "WARNING" not in same.output

    images.append(_build(tag, "rebuilt"))  # the tag now names another build
    moved = deploy(tmp_path, *args, "--pull", "never")
    assert moved.code == ExitCode.OK, moved.output  # a warning by default
    assert list(moved.report["image_mismatches"]) == ["web"]
    assert (
        f"runs image {images[1][:19]} where version recorded {images[0][:19]}"
        in (moved.report["image_mismatches"]["web"])
    )
    assert f"WARNING: {project}: service web runs image" in moved.output

    monkeypatch.setenv("CONSIGN_REQUIRE_PINNED_IMAGES", "1")
    required = deploy(tmp_path, *args, "--no-rollback")
    assert required.code == ExitCode.FAILED, required.output
    assert "--require-pinned-images: web not running the image CI built" in required.report["error"]
    assert list(required.report["image_mismatches"]) == ["web"]
