"""A published fragment: decoding, parsing, self-containedness, and service references.

A descriptor must mean the same wherever it is checked out, so a fragment that needs other
files to mean anything is refused: top-level ``include``, ``extends.file`` and
``label_file``. ``env_file`` is the exception: its files travel with the fragment (see
:mod:`consign.compose.envfiles`) or must exist on the deploy host. ``extends`` with only
``service:`` is kept as is (Compose resolves it inside the descriptor) but must name a
service of the same fragment.

References are the edges Compose itself follows between services (and orders start-up by):
``depends_on`` (list and mapping forms), ``volumes_from`` (``name[:ro|rw]``; ``container:``
entries are containers, not services), ``links`` (``svc[:alias]``), and ``network_mode``,
``ipc``, ``pid`` of the form ``service:X``, and ``extends`` (Compose refuses circular
``extends`` too). A cycle among them inside one fragment is
refused (Compose refuses it too); :mod:`registry.assembly` refuses cycles across components.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator, Mapping
from typing import Any

from consign.compose import casts, project_checks, yamlio
from consign.compose.consistency import problems
from consign.compose.errors import InvalidFragment
from consign.compose.normalize import normalize
from consign.compose.schema import Violation, plain_tree, violations

_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_SELF_CONTAINED = "a descriptor must be self-contained"


def decode_fragment(b64: str) -> str:
    """Standard base64 (padding and line breaks optional) of UTF-8 text -> the text."""
    compact = "".join(b64.split())
    if not _BASE64.fullmatch(compact) or len(compact.rstrip("=")) % 4 == 1:
        raise InvalidFragment("fragment is not valid base64")
    compact = compact.rstrip("=")
    try:
        data = base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)
    except binascii.Error as e:
        raise InvalidFragment("fragment is not valid base64") from e
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InvalidFragment(
            f"fragment is not valid UTF-8: byte offset {e.start} (0x{data[e.start]:02x})",
            details={"offset": e.start},
        ) from e


def parse_fragment(
    text: str, limits: yamlio.Limits | None = None, *, compose_checks: bool = True
) -> tuple[dict[str, Any], list[str]]:
    """yamlio.load + normalize + Compose's checks + self-containedness + no cycles ->
    (spec, warnings).

    ``limits`` bound the YAML (default: :class:`yamlio.Limits`, those of a new publish;
    fragments already stored are re-read with :data:`yamlio.STORED`). ``compose_checks``
    False: a fragment already stored is not judged again by :func:`check_compose`, whose
    rules grow with Compose's: a version accepted once stays readable (and its release
    open to new publishes) after the registry learns a rule it breaks."""
    doc = yamlio.load(text, limits=limits or yamlio.Limits())
    if isinstance(doc, dict) and "include" in doc:
        raise InvalidFragment(
            f"top-level 'include' needs other files; {_SELF_CONTAINED}: publish the included "
            "services as fragments of their own"
        )
    spec, warnings = normalize(doc)
    if compose_checks:
        check_compose(spec)
    services: dict[str, Any] = spec["services"]
    for name, service in services.items():
        _check_self_contained(name, service, services)
    cycle = find_cycle(services)
    if cycle:
        raise InvalidFragment(f"dependency cycle: {' -> '.join(cycle)}")
    return spec, warnings


def compose_violations(spec: Mapping[str, Any]) -> list[Violation]:
    """Every way ``spec`` is not valid Compose, all stages run whatever the others find:
    Compose's casts (:mod:`consign.compose.casts`), the Compose Specification's schema (on
    the values as cast, as Compose validates them), what ``docker compose config`` checks
    beyond it (:mod:`consign.compose.consistency`, :mod:`consign.compose.project_checks`). A
    cast problem at a path the schema already refuses is not repeated."""
    outcome = casts.check(plain_tree(spec))
    schema = violations(outcome.tree)
    refused = {v.path for v in schema}
    found = [
        *schema,
        *(v for v in outcome.violations if v.path not in refused),
        *problems(outcome.tree),
        *project_checks.problems(outcome.tree),
    ]
    return list(dict.fromkeys(found))


def check_compose(spec: Mapping[str, Any]) -> None:
    """Raise InvalidFragment (422) listing every problem :func:`compose_violations` finds."""
    found = compose_violations(spec)
    if not found:
        return
    count = f"{len(found)} problem{'s' if len(found) > 1 else ''}"
    raise InvalidFragment(
        f"the fragment is not valid Compose ({count}): " + "; ".join(map(str, found)),
        details={"violations": [{"path": v.path, "message": v.message} for v in found]},
    )


def _check_self_contained(
    name: str, service: Mapping[str, Any], services: Mapping[str, Any]
) -> None:
    if yamlio.plain(service.get("label_file")) is not None:
        raise InvalidFragment(
            f"service {name!r} uses 'label_file', which needs other files; {_SELF_CONTAINED}: "
            "put the labels into 'labels'"
        )
    extends = yamlio.plain(service.get("extends"))
    if extends is None:
        return
    if isinstance(extends, dict) and extends.get("file") is not None:
        raise InvalidFragment(
            f"service {name!r} uses 'extends.file' ({extends['file']!r}), which needs another "
            f"file; {_SELF_CONTAINED}"
        )
    base = extends.get("service") if isinstance(extends, dict) else extends
    if base not in services:
        raise InvalidFragment(
            f"service {name!r} extends {base!r}, which is not a service of this fragment"
        )


def references(service: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(service name, how) for every service this service refers to, in document order."""
    depends = yamlio.plain(service.get("depends_on"))
    if isinstance(depends, dict | list):
        for target in depends:
            yield str(target), "depends_on"
    for entry in yamlio.plain(service.get("volumes_from")) or []:
        if isinstance(entry, str) and not entry.startswith("container:"):
            yield entry.split(":", 1)[0], "volumes_from"
    for entry in yamlio.plain(service.get("links")) or []:
        if isinstance(entry, str):
            yield entry.split(":", 1)[0], "links"
    for key in ("network_mode", "ipc", "pid"):
        value = yamlio.plain(service.get(key))
        if isinstance(value, str) and value.startswith("service:"):
            yield value.removeprefix("service:"), key
    extends = yamlio.plain(service.get("extends"))
    base = extends.get("service") if isinstance(extends, dict) else extends
    if isinstance(base, str):
        yield base, "extends"


def find_cycle(services: Mapping[str, Mapping[str, Any]]) -> list[str] | None:
    """The first dependency cycle among ``services`` as [a, b, ..., a], or None.

    Iterative depth-first search, so a long chain of services cannot exhaust the stack.
    """
    done: set[str] = set()
    for start in services:
        if start in done:
            continue
        path, on_path = [start], {start}
        pending = [references(services[start])]
        while pending:
            step = next(pending[-1], None)
            if step is None:
                on_path.discard(path[-1])
                done.add(path.pop())
                pending.pop()
                continue
            target = step[0]
            if target not in services or target in done:
                continue
            if target in on_path:
                return [*path[path.index(target) :], target]
            path.append(target)
            on_path.add(target)
            pending.append(references(services[target]))
    return None
