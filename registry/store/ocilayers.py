"""The OCI side of the store: the compose layers of versions' artifacts, and the check that
a new application or release does not share its OCI repository name (registry/ocinames.py)."""

from __future__ import annotations

from collections.abc import Sequence

from registry import ocinames
from registry.errors import StoreError
from registry.store import layout, manifest
from registry.store.repository import GitRepository
from registry.store.types import Target, VersionInfo
from registry.store.versions import Versions


class OCILayers:
    """What the OCI distribution API serves of versions, and the names it gives them."""

    def __init__(self, repo: GitRepository, versions: Versions) -> None:
        self._repo = repo
        self._versions = versions

    def oci_layers(self, versions: Sequence[VersionInfo]) -> list[bytes]:
        """The compose file of each version's OCI artifact (one Git round trip for all): the
        descriptor, or when the version has attached env files, ``oci/docker-compose.yml``
        (the descriptor with them renamed to their flat names)."""

        def path(info: VersionInfo) -> str:
            files = any(c.files for c in info.components)
            return manifest.OCI_LAYER if files else manifest.DESCRIPTOR

        with self._repo.guard():
            found = self._repo.objects.read_many([f"{v.commit}:{path(v)}" for v in versions])
        missing = [f"{v.commit}:{path(v)}" for v, o in zip(versions, found, strict=True) if not o]
        if missing:
            raise StoreError(f"Git object {missing[0]} is missing")
        return [o.data for o in found if o is not None]

    def check_names(self, targets: Sequence[Target]) -> None:
        """Conflict (409) when a new application or release would share its OCI repository
        name with an existing one (or another new one): see :mod:`registry.ocinames`."""
        branches = (layout.branch_ref(t.application, t.release) for t in targets)
        if all(self._repo.refs.resolve(b) is not None for b in branches):
            return  # nothing new: the common case costs one cached ref read per target
        existing: dict[str, list[str]] = {}
        for app in self._versions.applications():
            existing[app] = self._versions.releases(app)
        ocinames.check_new(existing, [(t.application, t.release) for t in targets])
