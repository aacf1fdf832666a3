"""The versions a plan involves: what the project record (or the stack's labels) says
runs, what the request would deploy, and the registry reader that compares them."""

from __future__ import annotations

from deployer.deploy.record import Deployed
from deployer.deploy.request import DeployRequest
from deployer.deploy.sources import Descriptor
from deployer.plan.model import VersionRef
from deployer.registry_reader import RegistryReader


def version_of(deployed: Deployed | None) -> VersionRef | None:
    if deployed is None:
        return None
    return VersionRef(
        deployed.application, deployed.release, deployed.version, deployed.commit,
        deployed.registry,
    )  # fmt: skip


def new_version(descriptor: Descriptor) -> VersionRef:
    d = descriptor
    return VersionRef(
        d.application or "", d.release or "", d.version or "", d.commit or "", d.location
    )


def reader_for(request: DeployRequest) -> RegistryReader | None:
    source = request.source
    if not source.registry:
        return None
    return RegistryReader(source.registry, source.token, source.ca_file)


def in_progress_warning(deployed: Deployed | None) -> list[str]:
    """A deploy changing the project now (or killed while it did) makes the plan a guess."""
    if deployed is None or not deployed.in_progress:
        return []
    p = deployed.in_progress
    return [
        f"the project record says a deploy is in progress (by {p.get('by') or '?'}, pid "
        f"{p.get('pid')} on {p.get('host')}, since {p.get('started')}): what runs may still "
        "change"
    ]
