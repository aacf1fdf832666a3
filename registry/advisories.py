"""What a version's descriptor leaves open, as warnings (the version is still stored):
variables left for the deploy host, and image references that may move after publishing.

A ``${VAR}`` is Compose's to resolve where the descriptor is deployed; the registry stores
it as is and names it, so nobody is surprised when ``TAG`` is unset there. An image with no
tag or the tag ``latest`` names whatever was pushed last, so QA cannot tell which build it
got, unless the reference carries a digest (``name:tag@sha256:...``) or the component's
build provenance records the image ID it was built as (``consign publish --pin-images``
writes ``build["images"][service] = {"ref", "id"}``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from consign.compose import yamlio
from consign.interpolation import InterpolationError, variables


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    value = yamlio.plain(value)
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")


@dataclass(frozen=True)
class Advisory:
    """A warning, and the few words that stand for it in a one-line state reason."""

    text: str
    short: str
    mutable: bool = False  # a mutable image: a version sums these up in one warning
    secret: bool = False  # a secret-looking literal: summed up in one warning too


def summary(advice: Sequence[Advisory]) -> tuple[list[str], list[str]]:
    """(warnings, short forms) of a whole version: each variable on its own, the mutable
    images in one line (a release of fifty ``:latest`` images would otherwise carry fifty
    long warnings in every version, and every versions listing with them)."""
    found = [a for a in advice if a.secret]
    texts = [secrets_line([a.text for a in found])] if found else []
    shorts = [f"secrets: {', '.join(a.short for a in found)}"] if found else []
    texts += [a.text for a in advice if not (a.mutable or a.secret)]
    shorts += [a.short for a in advice if not (a.mutable or a.secret)]
    mutable = [a.short for a in advice if a.mutable]
    if mutable:
        texts.append(
            "mutable image references, not pinned (publish unique tags or use consign publish "
            f"--pin-images): {', '.join(mutable)}"
        )
        shorts.append(f"mutable images: {', '.join(s.split(' ', 1)[0] for s in mutable)}")
    return texts, shorts


#: How every warning about secret-looking literals begins (publisher/failon.py reads it).
SECRETS_PREFIX = "secret-looking literals"


def secrets_line(paths: Sequence[str]) -> str:
    """One warning naming every secret-looking literal's path (never its value)."""
    return (
        f"{SECRETS_PREFIX} (publish each as ${{VAR}} and supply it on the deploy host; "
        f"shown masked): {', '.join(paths)}"
    )


def secret_warnings(findings: Sequence[str]) -> list[Advisory]:
    """A component's findings (``path (kind)``, recorded at publish) as advisories; the
    short form is the path alone: ``secrets: web.environment.MYSQL_ROOT_PASSWORD``."""
    return [Advisory(f, f.rsplit(" (", 1)[0], secret=True) for f in findings]


def variable_warnings(spec: Mapping[str, Any]) -> list[Advisory]:
    """One warning per variable the fragment still holds, naming where it is first used."""
    first: dict[str, str] = {}
    for path, text in _strings(dict(spec), ""):
        if "$" not in text:
            continue
        try:
            names = variables(text)
        except InterpolationError:
            names = []  # Compose will say so on the deploy host; the value is stored as is
        for name in names:
            first.setdefault(name, path)
    return [
        Advisory(
            f"variable ${{{name}}} ({path}) is left as is: resolved on the deploy host",
            f"${{{name}}} unresolved",
        )
        for name, path in first.items()
    ]


def is_mutable(image: str) -> bool:
    """No tag or ``latest``, and no digest. ``host:5000/x`` has no tag (the colon is the port)."""
    if "@" in image:
        return False
    last = image.rsplit("/", 1)[-1]
    return ":" not in last or last.rsplit(":", 1)[1] == "latest"


def pinned_services(build: Mapping[str, Any]) -> set[str]:
    """Services whose image ID is recorded in the build provenance (``--pin-images``)."""
    images = build.get("images")
    if not isinstance(images, Mapping):
        return set()
    return {
        str(service)
        for service, entry in images.items()
        if isinstance(entry, Mapping) and str(entry.get("id", "")).startswith("sha256:")
    }


def mutable_image_warnings(spec: Mapping[str, Any], build: Mapping[str, Any]) -> list[Advisory]:
    pinned = pinned_services(build)
    found: list[Advisory] = []
    for service, body in (spec.get("services") or {}).items():
        image = yamlio.plain(body.get("image")) if isinstance(body, Mapping) else None
        if not isinstance(image, str) or "$" in image or service in pinned:
            continue
        if is_mutable(image):
            found.append(
                Advisory(
                    f"service {service!r} uses the mutable image reference {image!r} and is "
                    "not pinned: publish a unique tag or use consign publish --pin-images",
                    f"{service} ({image})",
                    mutable=True,
                )
            )
    return found
