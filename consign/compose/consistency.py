"""What ``docker compose config`` refuses that the JSON schema cannot express.

Run on a fragment that passed the schema (:mod:`consign.compose.schema`), without Compose:
a service mounting a named volume, joining a network, or using a secret, config or model
that the fragment does not define at the top level; ``network_mode`` together with
``networks``; a service with neither ``image`` nor ``build``; ``scale`` and
``deploy.replicas`` set to different numbers. Also refused, because the
engine refuses it when the container is created (Compose does not look): a ``restart``
value other than ``no``, ``always``, ``unless-stopped``, ``on-failure[:N]``.

A name that still holds a variable (``${VOLUME}``) is left to the deploy host. References
to other *services* are not checked here: another component may provide them (see
:func:`registry.assembly.assemble`, which marks such a version incomplete).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from consign.compose.normalize import named_volumes
from consign.compose.schema import Violation

_RESTART = re.compile(r"^(no|always|unless-stopped|on-failure(:\d+)?)$")
_KINDS = (
    ("networks", "network"),
    ("secrets", "secret"),
    ("configs", "config"),
    ("models", "model"),
)


def _names(value: Any) -> Iterator[tuple[str, str]]:
    """(name, path suffix) of each entry of a list (strings or ``{source: name}``) or mapping."""
    if isinstance(value, Mapping):
        for name in value:
            yield str(name), f".{name}"
    elif isinstance(value, list):
        for index, entry in enumerate(value):
            name = entry.get("source") if isinstance(entry, Mapping) else entry
            if name is not None:
                yield str(name), f"[{index}]"


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def problems(spec: Mapping[str, Any]) -> list[Violation]:
    """Every consistency problem of a plain (``plain_tree``) fragment; parts the schema
    refuses (a service that is not a mapping, ...) are skipped, the schema names them."""
    found: list[Violation] = []
    defined = {key: set(_mapping(spec.get(key))) for key in ("volumes", *(k for k, _ in _KINDS))}
    defined["networks"].add("default")
    for service, body in _mapping(spec.get("services")).items():
        if not isinstance(body, Mapping):
            continue
        where = f"services.{service}"
        if "image" not in body and "build" not in body and "extends" not in body:
            found.append(Violation(where, "has neither an image nor a build context"))
        if "network_mode" in body and "networks" in body:
            found.append(
                Violation(f"{where}.networks", "cannot be used together with network_mode")
            )
        replicas = _mapping(body.get("deploy")).get("replicas")
        scale = body.get("scale")
        if (
            isinstance(scale, int)
            and isinstance(replicas, int)
            and not isinstance(scale, bool)
            and not isinstance(replicas, bool)
            and scale != replicas
        ):
            found.append(
                Violation(where, f"scale ({scale}) and deploy.replicas ({replicas}) differ")
            )
        restart = body.get("restart")
        if isinstance(restart, str) and "$" not in restart and not _RESTART.match(restart):
            found.append(
                Violation(
                    f"{where}.restart",
                    f"{restart!r} is not a restart policy: no, always, unless-stopped, "
                    "on-failure[:max-retries]",
                )
            )
        mounts = body.get("volumes")
        for volume in named_volumes(dict(body)) if isinstance(mounts, list) else []:
            if "$" not in volume and volume not in defined["volumes"]:
                found.append(
                    Violation(
                        f"{where}.volumes",
                        f"named volume {volume!r} is not defined under top-level 'volumes'",
                    )
                )
        for key, singular in _KINDS:
            for name, suffix in _names(body.get(key)):
                if "$" not in name and name not in defined[key]:
                    found.append(
                        Violation(
                            f"{where}.{key}{suffix}",
                            f"{singular} {name!r} is not defined under top-level {key!r}",
                        )
                    )
    return found
