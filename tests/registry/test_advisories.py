"""Warnings for what a version leaves open: variables, mutable image references."""

from __future__ import annotations

import pytest

from registry.advisories import is_mutable, mutable_image_warnings, summary, variable_warnings


@pytest.mark.parametrize(
    ("image", "mutable"),
    [
        ("busybox", True),
        ("busybox:latest", True),
        ("registry:5000/shop/web", True),
        ("registry:5000/shop/web:latest", True),
        ("shop/web:41", False),
        ("registry:5000/shop/web:1.2", False),
        ("shop/web@sha256:" + "a" * 64, False),
        ("shop/web:latest@sha256:" + "a" * 64, False),
    ],
)
def test_mutable_references(image: str, mutable: bool) -> None:
    assert is_mutable(image) is mutable


def test_a_pinned_service_is_not_warned_about() -> None:
    spec = {"services": {"web": {"image": "shop/web:latest"}, "db": {"image": "postgres"}}}
    build = {"images": {"web": {"ref": "shop/web:latest", "id": "sha256:" + "b" * 64}}}
    [warning] = mutable_image_warnings(spec, build)
    assert warning.text.startswith("service 'db' uses the mutable image reference 'postgres'")
    assert (warning.short, warning.mutable) == ("db (postgres)", True)
    assert len(mutable_image_warnings(spec, {})) == 2


def test_a_version_sums_up_its_mutable_images_in_one_warning() -> None:
    spec = {"services": {"web": {"image": "shop/web:${TAG}"}, "db": {"image": "postgres"}}}
    texts, shorts = summary(variable_warnings(spec) + mutable_image_warnings(spec, {}))
    assert texts == [
        "variable ${TAG} (services.web.image) is left as is: resolved on the deploy host",
        "mutable image references, not pinned (publish unique tags or use consign publish "
        "--pin-images): db (postgres)",
    ]
    assert shorts == ["${TAG} unresolved", "mutable images: db"]


def test_each_variable_is_named_once_with_where_it_is_first_used() -> None:
    spec = {
        "services": {
            "web": {
                "image": "shop/web:${TAG}",
                "environment": {"A": "${TAG}", "B": "$$literal", "C": "${DB:-x}"},
            }
        }
    }
    assert [w.text for w in variable_warnings(spec)] == [
        "variable ${TAG} (services.web.image) is left as is: resolved on the deploy host",
        "variable ${DB} (services.web.environment.C) is left as is: resolved on the deploy host",
    ]
