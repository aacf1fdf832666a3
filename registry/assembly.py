"""Pure assembly of a descriptor from components: ownership rules, conflicts, references.

A component owns the services of its latest fragment. Publishing replaces that component's
services as a whole (added, changed, or dropped). Refused with Conflict (409), naming both
sides: a service owned by another component, a duplicate ``container_name``, a top-level
resource (volume, network, secret, config, model, ``x-`` extension) defined differently by
another component (identical definitions are shared), and a dependency cycle that only
appears once components are put together (Compose would refuse the descriptor). References
to services no component provides are only warnings (the version is ``incomplete``): another
component may publish later. Variables left in a fragment and mutable image references are
warnings too (:mod:`registry.advisories`; the version state is ``warnings``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from consign.cache import LRU
from consign.compose import envfiles, yamlio
from consign.compose.envfiles import AttachedFile
from consign.compose.fragments import find_cycle, parse_fragment, references
from consign.compose.normalize import RESOURCES
from registry.advisories import (
    Advisory,
    mutable_image_warnings,
    secret_warnings,
    summary,
    variable_warnings,
)
from registry.errors import Conflict
from registry.state import OK, dangling_warning, state_of

__all__ = [
    "Assembly",
    "AttachedFile",
    "Component",
    "assemble",
    "component_name_for",
    "parse_fragment",
    "replace_component",
]

_SINGULAR = {"volumes": "volume", "networks": "network", "secrets": "secret", "configs": "config"}


@dataclass(frozen=True)
class Component:
    name: str
    fragment: str
    spec: dict[str, Any]
    build: dict[str, Any]
    sha256: str
    files: tuple[AttachedFile, ...] = ()  # env files published with the fragment
    secrets: tuple[str, ...] = ()  # secret-looking literals found at publish: "path (kind)"

    def stored_files(self) -> dict[str, str]:
        """{path as the fragment writes it (normalised): path in the version's tree}."""
        return {f.path: envfiles.stored_path(self.name, f.path) for f in self.files}

    def oci_files(self) -> dict[str, str]:
        """{path as the fragment writes it: its flat name in the version's OCI artifact}."""
        return envfiles.oci_names(self.name, [f.path for f in self.files])


@dataclass(frozen=True)
class Assembly:
    descriptor: str
    warnings: list[str]  # dangling references first, then variables, then mutable images
    state: str = OK  # registry.state: ok | incomplete | warnings
    state_reason: str = ""


def _owners(current: Sequence[Component], services: Mapping[str, Any]) -> dict[str, str]:
    """service -> owning component, for the given services that an existing component owns."""
    return {s: c.name for c in current for s in c.spec["services"] if s in services}


def component_name_for(
    current: Sequence[Component], spec: Mapping[str, Any], explicit: str | None
) -> str:
    services = spec["services"]
    owners = _owners(current, services)
    if explicit is not None:
        for service, owner in owners.items():
            if owner != explicit:
                raise _owned(service, owner, explicit)
        return explicit
    distinct = sorted(set(owners.values()), key=[c.name for c in current].index)
    if len(distinct) > 1:
        a, b = distinct[:2]
        sa = next(s for s, o in owners.items() if o == a)
        sb = next(s for s, o in owners.items() if o == b)
        raise Conflict(
            f"the fragment's services belong to two components: service {sa!r} to component "
            f"{a!r} and service {sb!r} to component {b!r}; publish them separately",
            details={"components": [a, b]},
        )
    if distinct:
        return distinct[0]
    taken = {c.name for c in current}
    base = name = next(iter(services))
    number = 2
    while name in taken:
        name, number = f"{base}-{number}", number + 1
    return name


def _owned(service: str, owner: str, other: str) -> Conflict:
    return Conflict(
        f"service {service!r} belongs to component {owner!r}; component {other!r} cannot "
        "also define it",
        details={"service": service, "components": [owner, other]},
    )


def replace_component(current: Sequence[Component], new: Component) -> list[Component]:
    result = [new if c.name == new.name else c for c in current]
    if all(c.name != new.name for c in current):
        result.append(new)
    check(result)
    return result


def check(components: Sequence[Component]) -> None:
    """Raise Conflict if these components cannot form one descriptor."""
    owner: dict[str, str] = {}
    containers: dict[str, tuple[str, str]] = {}
    resources: dict[tuple[str, str], tuple[str, Any]] = {}
    for comp in components:
        for service, body in comp.spec["services"].items():
            if service in owner and owner[service] != comp.name:
                raise _owned(service, owner[service], comp.name)
            owner[service] = comp.name
            cname = yamlio.plain(body.get("container_name"))
            if cname is not None and str(cname) in containers:
                other_comp, other_service = containers[str(cname)]
                raise Conflict(
                    f"container_name {cname!r} is used by service {other_service!r} of component "
                    f"{other_comp!r}; service {service!r} of component {comp.name!r} cannot "
                    "use it too",
                    details={"container_name": cname, "components": [other_comp, comp.name]},
                )
            if cname is not None:
                containers[str(cname)] = (comp.name, service)
        for kind, name, definition in _resources(comp.spec):
            seen = resources.setdefault((kind, name), (comp.name, definition))
            if seen[1] != definition:
                what = _SINGULAR.get(kind, kind.rstrip("s")) if kind in RESOURCES else "extension"
                raise Conflict(
                    f"top-level {what} {name!r} is defined by component {seen[0]!r} as "
                    f"{seen[1]!r}; component {comp.name!r} defines it differently as "
                    f"{definition!r}",
                    details={"resource": name, "kind": kind, "components": [seen[0], comp.name]},
                )
    services = {s: b for c in components for s, b in c.spec["services"].items()}
    cycle = find_cycle(services)
    if cycle:
        involved = list(dict.fromkeys(owner[s] for s in cycle))
        raise Conflict(
            f"dependency cycle across components {', '.join(map(repr, involved))}: "
            f"{' -> '.join(cycle)}",
            details={"cycle": cycle, "components": involved},
        )


def _resources(spec: Mapping[str, Any]) -> list[tuple[str, str, Any]]:
    """(kind, name, definition) for every top-level resource; ``name:`` (null) equals ``{}``."""
    out: list[tuple[str, str, Any]] = []
    for kind in RESOURCES:
        for name, definition in (spec.get(kind) or {}).items():
            out.append((kind, name, {} if definition is None else definition))
    for key, value in spec.items():
        if str(key).startswith("x-"):
            out.append(("x-", key, value))
    return out


def assemble(
    components: Sequence[Component],
    *,
    names: Callable[[Component], Mapping[str, str]] = Component.stored_files,
    checked: bool = False,
) -> Assembly:
    """The descriptor; ``names`` gives, per component, the path each attached env file is
    named by (default: where the version's tree holds it). ``checked``: the components come
    from :func:`replace_component`, which ran :func:`check` on them already (a publish's
    plan: the check is not run twice)."""
    if not checked:
        check(components)
    services: dict[str, Any] = {}
    for comp in components:
        if comp.files:  # the descriptor names attached env files where the tree holds them
            rename = envfiles.renamer(names(comp))
            services.update(
                {n: envfiles.rewrite(b, rename) for n, b in comp.spec["services"].items()}
            )
        else:
            services.update(comp.spec["services"])
    doc: dict[str, Any] = {"services": services}
    extensions: dict[str, Any] = {}
    for comp in components:
        for kind, name, _ in _resources(comp.spec):
            value = comp.spec[kind][name] if kind != "x-" else comp.spec[name]
            if kind == "x-":
                extensions.setdefault(name, value)
            else:
                doc.setdefault(kind, {}).setdefault(name, value)
    ordered = {k: doc[k] for k in ("services", *RESOURCES) if k in doc}
    ordered.update(extensions)
    dangling = [
        (service, target, how)
        for service, body in services.items()
        for target, how in references(body)
        if target not in services
    ]
    texts, shorts = summary([a for comp in components for a in _advisories(comp)])
    warnings = [dangling_warning(*d) for d in dangling] + texts
    state, reason = state_of([(s, t) for s, t, _ in dangling], shorts)
    return Assembly(yamlio.dump(ordered), warnings, state, reason)


_ADVICE: LRU[tuple[str, str, tuple[str, ...]], list[Advisory]] = LRU(4096)


def _advisories(comp: Component) -> list[Advisory]:
    """A component's variable and mutable-image warnings, cached: they depend only on its
    fragment (sha256) and its recorded images, and most components are the same as in the
    version before."""
    key = (comp.sha256, compact_json(comp.build.get("images")), comp.secrets)
    found = _ADVICE.get(key)
    if found is None:
        found = _ADVICE.put(
            key,
            secret_warnings(comp.secrets)
            + variable_warnings(comp.spec)
            + mutable_image_warnings(comp.spec, comp.build),
        )
    return found


def compact_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
