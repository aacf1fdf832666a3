"""What the registry says changed between the running version and the planned one: the
same answer ``consign diff`` shows (``GET .../diff?from=&to=``, through the one registry
client), asked only when both are registry versions."""

from __future__ import annotations

from typing import Any

from consign.errors import RegistryUnreachable
from deployer.plan.model import VersionRef
from deployer.registry_reader import RegistryReader


def registry_diff(
    reader: RegistryReader | None, running: VersionRef | None, new: VersionRef
) -> tuple[dict[str, Any] | None, str]:
    """(the diff's JSON, "") or (None, why there is none)."""
    if running is None:
        return None, "no Consignment record on the target: no running version to compare"
    if not running.application:
        return None, "what runs was deployed from a file, not a registry version"
    if not (new.application and new.version.isdigit()):
        return None, "the planned descriptor is not a registry version (--file)"
    if not running.version.isdigit():
        return None, "the running deploy is not a registry version"
    if reader is None:
        return None, "no --registry to ask for the diff"
    params = {"from": running.version, "to": new.version}
    if (running.application, running.release) != (new.application, new.release):
        params["from_application"] = running.application
        params["from_release"] = running.release
    path = ["applications", new.application, "releases", new.release, "diff"]
    try:
        return reader.get(path, **params), ""
    except RegistryUnreachable as e:
        return None, f"the registry's diff is not available: {e}"
