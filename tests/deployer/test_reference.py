"""The engine's image reference grammar (deployer/engine/reference.py): what it accepts and
why it refuses, without an engine (the real engine's refusal is in test_exit_codes.py)."""

from __future__ import annotations

import pytest

from deployer.engine.reference import problem

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    "image",
    [
        "busybox",
        "busybox:latest",
        "shop/web:1.2.3-rc_1",
        "registry.example.com:5000/team/shop-web:2026.12",
        "localhost/a__b/c-d.e:tag",
        f"busybox@{DIGEST}",
        f"shop/web:1@{DIGEST}",
        "[::1]:5000/web:1",
    ],
)
def test_valid_references(image: str) -> None:
    assert problem(image) is None


@pytest.mark.parametrize(
    ("image", "why"),
    [
        ("shop/web:", "an empty tag"),
        (":1", "an empty tag"),
        ("shop/Web:1", "lowercase"),
        ("shop//web", "not a valid image reference"),
        ("shop/web:-x", "not a valid image reference"),
        ("shop/web@sha256:abc", "not a valid image reference"),
        ("shop web", "not a valid image reference"),
    ],
)
def test_refused_references_say_why(image: str, why: str) -> None:
    found = problem(image)
    assert found is not None and found.startswith(repr(image)) and why in found
