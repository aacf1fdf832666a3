"""OCI repository names for application/release pairs.

OCI (and Docker) repository names are lowercase: each path component matches
``[a-z0-9]+([._-][a-z0-9]+)*``. An application and a release map to ``<app>/<release>``,
each by the same rule: lower-case ASCII letters and digits are kept, every run of other
characters (spaces, punctuation, non-ASCII letters) becomes one ``-``, leading and trailing
``-`` are dropped, and a name with nothing left becomes ``n-`` + the first 8 hex digits of
its UTF-8 sha256. ``TLO GE`` -> ``tlo-ge``, ``Milestone 2.1`` -> ``milestone-2-1``.

The mapping is not injective (``TLO GE`` and ``tlo-ge`` meet), so publishing refuses a new
application (or a new release of an application) whose name would map onto an existing
one: every OCI name names exactly one application/release.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence

from registry.errors import Conflict

_OTHER = re.compile(r"[^a-z0-9]+")


def component(name: str) -> str:
    """One name -> one OCI path component."""
    mapped = _OTHER.sub("-", name.lower()).strip("-")
    return mapped or "n-" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]


def repository(application: str, release: str) -> str:
    return f"{component(application)}/{component(release)}"


def _refuse(kind: str, new: str, old: str, mapped: str) -> Conflict:
    return Conflict(
        f"the new {kind} {new!r} would have the OCI name {mapped!r}, which {kind} {old!r} "
        f"already has; choose a name that differs in more than case and punctuation",
        details={"field": f"{kind}s", "oci_name": mapped, "names": [old, new]},
    )


def check_new(existing: Mapping[str, Sequence[str]], targets: Sequence[tuple[str, str]]) -> None:
    """Conflict (409) if a target's new application or release collides in OCI names."""
    apps = {component(a): a for a in existing}
    releases = {a: {component(r): r for r in rs} for a, rs in existing.items()}
    for application, release in targets:
        mapped = component(application)
        owner = apps.setdefault(mapped, application)
        if owner != application:
            raise _refuse("application", application, owner, mapped)
        known = releases.setdefault(application, {})
        mapped = component(release)
        owner = known.setdefault(mapped, release)
        if owner != release:
            raise _refuse("release", release, owner, mapped)
