"""Every real-world Compose file that Compose accepts is accepted as a fragment, and its
single-component descriptor means exactly what the original means to `docker compose config`.

Files that need other files (include, extends.file) may be refused instead, with a
message saying so; the list of refusals is printed at the end of the module's run.
"""

from __future__ import annotations

import csv
import hashlib
import shutil
import uuid
from pathlib import Path

import pytest

from consign.compose.errors import InvalidFragment
from consign.compose.fragments import parse_fragment
from consign.process import run
from registry.assembly import Component, assemble, component_name_for, replace_component
from tests.conftest import CORPUS

NEEDS_OTHER_FILES = {"include": "include", "extends": "extends.file"}
REFUSED: list[tuple[str, str]] = []


def _manifest() -> list[dict[str, str]]:
    path = CORPUS / "MANIFEST.tsv"
    if not path.exists():
        return []
    with path.open(newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def _env_file(rel: str) -> Path:
    folder, name = rel.split("/", 1)
    return CORPUS / folder / "_env" / (Path(name).stem + ".env")


def _accepted() -> list[str]:
    """Files compose accepts: plain `config -q` passes, or passes once their _env is set."""
    return [
        row["file"]
        for row in _manifest()
        if row["config_plain_rc"] == "0" or _env_file(row["file"]).exists()
    ]


def _env(rel: str) -> dict[str, str]:
    path = _env_file(rel)
    if not path.exists():
        return {}
    env: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            env[key.strip()] = value.split(" #", 1)[0].strip()
    return env


def _descriptor(text: str) -> str:
    spec, _ = parse_fragment(text)
    name = component_name_for([], spec, None)
    digest = hashlib.sha256(text.encode()).hexdigest()
    return assemble(replace_component([], Component(name, text, spec, {}, digest))).descriptor


def _config(folder: Path, file: str, project: str, env: dict[str, str]) -> str:
    argv = ["docker", "compose", "-p", project, "-f", file, "config"]
    return run(argv, cwd=folder, env=env, timeout=60).stdout


@pytest.fixture(scope="module", autouse=True)
def _report_refusals() -> object:
    yield
    if REFUSED:
        print("\nfragments refused because they need other files:")
        for rel, reason in REFUSED:
            print(f"  {rel}: {reason}")


@pytest.mark.docker
@pytest.mark.parametrize("rel", _accepted())
def test_descriptor_means_what_the_original_means(rel: str, tmp_path: Path) -> None:
    original = CORPUS / rel
    text = original.read_text()
    try:
        descriptor = _descriptor(text)
    except InvalidFragment as e:
        row = next(r for r in _manifest() if r["file"] == rel)
        causes = [cause for key, cause in NEEDS_OTHER_FILES.items() if key in row["features"]]
        assert causes, f"{rel} refused but needs no other files: {e.message}"
        assert "self-contained" in e.message
        assert any(cause in e.message for cause in causes), e.message
        REFUSED.append((rel, e.message))
        return
    assert _descriptor(descriptor) == descriptor  # a descriptor is a fixed point
    folder = tmp_path / original.parent.name
    shutil.copytree(original.parent, folder)
    (folder / "_descriptor.yaml").write_text(descriptor)
    project = f"ra-corpus-{uuid.uuid4().hex[:8]}"
    env = _env(rel)
    expected = _config(folder, original.name, project, env)
    assert _config(folder, "_descriptor.yaml", project, env) == expected


@pytest.mark.parametrize(
    "rel", ["loader_compose-depends-on-cycle.yaml", "loader_compose-depends-on-self.yaml"]
)
def test_cycles_are_refused_naming_the_cycle(rel: str) -> None:
    path = CORPUS / "compose-go-invalid" / rel
    if not path.exists():
        pytest.skip(f"corpus not found at {CORPUS}")
    with pytest.raises(InvalidFragment) as info:
        parse_fragment(path.read_text())
    expected = {
        "loader_compose-depends-on-cycle.yaml": "service1 -> service2 -> service3 -> service1",
        "loader_compose-depends-on-self.yaml": "service1 -> service1",
    }[rel]
    assert info.value.message == f"dependency cycle: {expected}"


def test_the_corpus_is_there() -> None:
    if not CORPUS.exists():
        pytest.skip(f"corpus not found at {CORPUS}")
    assert len(_accepted()) >= 120
