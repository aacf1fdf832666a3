"""`consign publish --set/--interpolate/--pin-images` (a real process) against a real
`consign serve`; pinning against the real Docker Engine with a locally built image."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from consign.exit_codes import ExitCode
from consign.pins import image_mismatches, recorded_images
from consign.process import run
from publisher.pinning import pin, pin_images
from tests.publish.conftest import consign_publish
from tests.serving import ServedRegistry

APP, REL = "TLO GE", "Milestone"
TARGET = ["--application", APP, "--release", REL]
API = "/api/applications/TLO%20GE/releases/Milestone/versions/latest"
FRAGMENTS = "/descriptor/application/TLO%20GE/Milestone/latest/fragments"


@pytest.fixture
def served(serve: ServedRegistry) -> ServedRegistry:
    return serve.start()


def _file(tmp_path: Path, text: str) -> str:
    path = tmp_path / f"{uuid.uuid4().hex[:8]}.yml"
    path.write_text(text)
    return str(path)


def _get(served: ServedRegistry, path: str) -> requests.Response:
    response = requests.get(served.url + path, timeout=30)
    assert response.status_code == 200, response.text
    return response


def _details(served: ServedRegistry) -> dict[str, Any]:
    body: dict[str, Any] = _get(served, API).json()
    return body


def test_bamboo_build_number_becomes_the_tag_end_to_end(
    served: ServedRegistry, tmp_path: Path
) -> None:
    text = (
        "# built by TLO-TR\n"
        "transmission:\n"
        "  image: tlo/transmission:${bamboo_buildNumber}  # the tag this build pushed\n"
        "  environment:\n"
        "    TZ: ${TZ:-UTC}\n"
        "    PROMPT: '$$ '\n"
    )
    bamboo = {"bamboo_planKey": "TLO-TR", "bamboo_buildNumber": "42"}
    done = consign_publish(
        _file(tmp_path, text), *TARGET, "--registry", served.url, "--interpolate", env=bamboo
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("component transmission (derived by the registry")
    stored = _get(served, f"{FRAGMENTS}/transmission").text
    assert stored == (
        "# built by TLO-TR\n"
        "transmission:\n"
        "  image: tlo/transmission:42  # the tag this build pushed\n"
        "  environment:\n"
        "    TZ: UTC\n"
        "    PROMPT: '$$ '\n"
    )
    details = _details(served)
    assert details["build"]["buildNumber"] == "42"
    assert (details["state"], details["warnings"]) == ("ok", [])
    assert "variable" not in done.stderr and "mutable" not in done.stderr


def test_set_resolves_only_the_named_variables(served: ServedRegistry, tmp_path: Path) -> None:
    text = "services:\n  web:\n    image: shop/web:${TAG}\n    command: run ${MODE:-fast}\n"
    done = consign_publish(
        _file(tmp_path, text), *TARGET, "--registry", served.url, "--set", "TAG=7",
        env={"MODE": "slow"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert _get(served, f"{FRAGMENTS}/web").text == text.replace("${TAG}", "7")
    warning = "variable ${MODE} (services.web.command) is left as is: resolved on the deploy host"
    assert f"warning: {warning}" in done.stderr
    assert _details(served)["state_reason"] == "warnings: ${MODE} unresolved"


def test_a_missing_required_variable_fails_and_publishes_nothing(
    served: ServedRegistry, tmp_path: Path
) -> None:
    text = (
        "services:\n  db:\n    image: postgres:16\n"
        "    environment:\n      HOST: ${DB_HOST:?set DB_HOST in the plan}\n"
        "      USER: ${DB_USER}\n"
        # a secret-named variable is never resolved (left for the deploy host), so its
        # being unset fails nothing here
        "      PASSWORD: ${DB_PASSWORD:?}\n"
    )
    done = consign_publish(
        _file(tmp_path, text), *TARGET, "--registry", served.url, "--interpolate"
    )
    assert done.returncode == ExitCode.PUBLISH_FAILED
    assert "variable DB_HOST is required: set DB_HOST in the plan" in done.stderr
    assert "DB_PASSWORD is required" not in done.stderr
    assert "variable DB_USER is not set (and has no default)" in done.stderr
    assert _get(served, "/api/applications").json() == {"applications": []}


def test_pin_uses_the_registry_digest_when_the_engine_has_one() -> None:
    digest = "sha256:" + "d" * 64
    attrs = {"Id": "sha256:" + "1" * 64, "RepoDigests": [f"tlo/web@{digest}"]}
    pinned = pin("docker.io/tlo/web:41", attrs)
    assert (pinned.ref, pinned.digest) == (f"docker.io/tlo/web:41@{digest}", digest)
    assert pin("registry:5000/tlo/web:41", attrs).digest is None  # another repository
    hub = pin("busybox", {"Id": "sha256:2", "RepoDigests": [f"busybox@{digest}"]})
    assert hub.ref == f"busybox@{digest}"
    text = "web:\n  image: tlo/web:41 # ci\n"
    out, images, _ = pin_images(text, lambda ref: attrs)
    assert out == f"web:\n  image: tlo/web:41@{digest} # ci\n"
    assert images == {"web": {"ref": f"tlo/web:41@{digest}", "id": attrs["Id"], "digest": digest}}


@pytest.fixture
def local_image() -> Iterator[str]:
    """An image built here (no registry digest), removed afterwards."""
    name = f"consign-pin-{uuid.uuid4().hex[:10]}:latest"
    dockerfile = f"FROM busybox:latest\nLABEL io.consignment.test={name}\n"
    run(["docker", "build", "-q", "-t", name, "-"], input=dockerfile, timeout=120)
    try:
        yield name
    finally:
        run(["docker", "image", "rm", "-f", name], timeout=60, check=False)


@pytest.mark.docker
def test_pin_images_records_the_local_image_id(
    served: ServedRegistry, tmp_path: Path, local_image: str
) -> None:
    image_id = run(
        ["docker", "image", "inspect", "--format", "{{.Id}}", local_image], timeout=60
    ).stdout.strip()
    text = f"services:\n  web:\n    image: {local_image}\n"
    unpinned = consign_publish(_file(tmp_path, text), *TARGET, "--registry", served.url)
    assert unpinned.returncode == 0, unpinned.stderr
    assert "mutable image reference" in unpinned.stderr
    assert _details(served)["state"] == "warnings"

    done = consign_publish(_file(tmp_path, text), *TARGET, "--registry", served.url, "--pin-images")
    assert done.returncode == 0, done.stderr
    assert f"its image ID {image_id} is recorded" in done.stderr
    assert "mutable" not in done.stderr
    details = _details(served)
    expected = {"web": {"ref": local_image, "id": image_id}}
    assert details["build"]["images"] == expected
    assert details["components"][0]["build"]["images"] == expected
    assert (details["state"], details["version"]) == ("ok", 2)


@pytest.mark.docker
def test_pin_images_refuses_an_image_the_engine_does_not_have(
    served: ServedRegistry, tmp_path: Path
) -> None:
    text = f"services:\n  web:\n    image: consign-absent-{uuid.uuid4().hex[:8]}:1\n"
    done = consign_publish(_file(tmp_path, text), *TARGET, "--registry", served.url, "--pin-images")
    assert done.returncode == ExitCode.PUBLISH_FAILED
    assert "is not on this Docker Engine" in done.stderr
    assert _get(served, "/api/applications").json() == {"applications": []}


@pytest.mark.docker
def test_a_host_running_another_image_under_the_pinned_reference_is_reported(
    served: ServedRegistry, tmp_path: Path, local_image: str
) -> None:
    """The record --pin-images leaves is enough to tell that a host's image moved: the
    same reference rebuilt (as a moved :latest would be) runs another image ID."""
    text = f"services:\n  web:\n    image: {local_image}\n    command: sleep 60\n"
    done = consign_publish(_file(tmp_path, text), *TARGET, "--registry", served.url, "--pin-images")
    assert done.returncode == 0, done.stderr
    recorded = recorded_images(_details(served)["components"])
    rebuilt = f"FROM {local_image}\nLABEL io.consignment.rebuilt=1\n"
    run(["docker", "build", "-q", "-t", local_image, "-"], input=rebuilt, timeout=120)
    name = f"consign-pin-{uuid.uuid4().hex[:8]}"
    run(["docker", "run", "-d", "--name", name, local_image, "sleep", "60"], timeout=60)
    try:
        running = run(["docker", "inspect", "--format", "{{.Image}}", name], timeout=60)
        mismatches = image_mismatches(recorded, {"web": [running.stdout.strip()]})
        assert list(mismatches) == ["web"]
        assert "is not the one CI built" in mismatches["web"]
        assert image_mismatches(recorded, {"web": [recorded["web"]["id"]]}) == {}
    finally:
        run(["docker", "rm", "-f", name], timeout=60, check=False)
        run(["docker", "image", "rm", "-f", recorded["web"]["id"]], timeout=60, check=False)
