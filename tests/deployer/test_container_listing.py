"""Every listing of containers through the Docker SDK survives a container removed while
it is listed.

``client.containers.list()`` asks the engine for the list, then inspects each container
in turn; one removed in between (Compose replacing a container, a `docker run --rm`, a
teardown of someone else's project on the same engine) makes the inspect a 404 and the
whole listing raise ``docker.errors.NotFound``. That failed a deploy test under load (its
helper listed a project while the engine removed one of its containers). Each call must
say ``ignore_removed=True`` (the removed container is left out) or ``sparse=True`` (no
inspect at all)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.serving import ROOT

SAFE = ("ignore_removed", "sparse")
SCANNED = ("consign", "consignment", "deployer", "publisher", "registry", "bench", "tests")


def unsafe_listings(source: str, name: str) -> list[str]:
    """``name:line`` of each ``<anything>.containers.list(...)`` without a true
    ``ignore_removed`` or ``sparse`` keyword."""
    found = []
    for node in ast.walk(ast.parse(source, name)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner = node.func.value
        if node.func.attr != "list" or not (
            isinstance(owner, ast.Attribute) and owner.attr == "containers"
        ):
            continue
        if not any(
            k.arg in SAFE and isinstance(k.value, ast.Constant) and k.value.value is True
            for k in node.keywords
        ):
            found.append(f"{name}:{node.lineno}")
    return found


@pytest.mark.parametrize(
    ("source", "unsafe"),
    [
        ("client.containers.list(all=True)", 1),
        ("docker.from_env().containers.list(filters={'a': 'b'})", 1),
        ("client.containers.list(all=True, ignore_removed=False)", 1),
        ("client.containers.list(all=True, ignore_removed=True)", 0),
        ("self.client.containers.list(sparse=True)", 0),
        ("client.api.containers(all=True)", 0),  # the low-level list never inspects
        ("client.images.list()", 0),
    ],
)
def test_the_rule(source: str, unsafe: int) -> None:
    assert len(unsafe_listings(source, "x.py")) == unsafe


def test_no_listing_fails_on_a_container_removed_meanwhile() -> None:
    found = []
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*.py")):
            found += unsafe_listings(path.read_text(), str(Path(path).relative_to(ROOT)))
    assert found == [], f"containers.list() without ignore_removed=True or sparse=True: {found}"
