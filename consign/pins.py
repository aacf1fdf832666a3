"""What ``consign publish --pin-images`` recorded, and how to tell that a host runs something
else: used by the deployer after each deploy (deployer.deploy.attempt.check_pins).

The record is in each version's manifest (``consign.json``, and the version details of the
API): ``components[i].build.images[service] = {"ref", "id", "digest"?}``. A container runs
the recorded build when its image ID (``docker inspect`` ``.Image``) equals ``id``; a host
that holds another image under the same reference (a ``:latest`` that moved, a local
rebuild) runs something QA did not approve.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def recorded_images(components: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, str]]:
    """service -> ``{"ref", "id", ...}`` for every pinned service of a version's components."""
    found: dict[str, Mapping[str, str]] = {}
    for component in components:
        images = (component.get("build") or {}).get("images")
        if not isinstance(images, Mapping):
            continue
        for service, entry in images.items():
            if isinstance(entry, Mapping) and str(entry.get("id", "")).startswith("sha256:"):
                found[str(service)] = entry
    return found


def image_mismatches(
    recorded: Mapping[str, Mapping[str, str]], running: Mapping[str, Iterable[str]]
) -> dict[str, str]:
    """service -> why, for each pinned service whose containers run another image ID.

    ``running``: service -> the image IDs its containers run (``docker inspect`` ``.Image``).
    """
    found: dict[str, str] = {}
    for service, entry in recorded.items():
        others = sorted(set(running.get(service, ())) - {entry["id"]})
        if others:
            found[service] = (
                f"runs image {others[0][:19]} where version recorded {entry['id'][:19]} for "
                f"{entry.get('ref', '?')}: the host's image is not the one CI built"
            )
    return found
