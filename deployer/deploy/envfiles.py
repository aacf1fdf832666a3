"""Env files next to the descriptor: the ones published with the version are written where
the descriptor names them (``fragments/<component>/<path>``), and every ``env_file:`` the
descriptor reads must then exist, or the deploy is refused before anything changes (exit 4,
naming the file), rather than left to Compose's first error.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from consign.errors import InvalidDescriptor


def materialise(folder: Path, files: Mapping[str, bytes]) -> None:
    """Write each published file under ``folder`` at its stored path (confined to it)."""
    for stored, data in files.items():
        parts = PurePosixPath(stored).parts
        if not parts or PurePosixPath(stored).is_absolute() or ".." in parts:
            raise InvalidDescriptor(f"the version lists a file outside its tree: {stored!r}")
        target = folder.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def referenced(text: str) -> list[tuple[str, str, bool]]:
    """(service, path, required) for each ``env_file:`` entry of a descriptor."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        return []  # Compose's `config` names the YAML error itself
    services = doc.get("services") if isinstance(doc, dict) else None
    found: list[tuple[str, str, bool]] = []
    for name, spec in (services or {}).items() if isinstance(services, dict) else ():
        value: Any = spec.get("env_file") if isinstance(spec, dict) else None
        for entry in value if isinstance(value, list) else [value] if value else []:
            if isinstance(entry, str):
                found.append((str(name), entry, True))
            elif isinstance(entry, dict) and entry.get("path"):
                found.append(
                    (str(name), str(entry["path"]), entry.get("required", True) is not False)
                )
    return found


def check(text: str, folder: Path, *, local: bool) -> None:
    """Refuse a descriptor whose required env file is neither published nor on this host.

    Paths are relative to the descriptor's folder, as Compose reads them (``local``: a
    descriptor file of this host, whose folder the message names; otherwise a scratch
    folder); a path with a variable in it is left to Compose, which interpolates it first.
    """
    where = f" (looked for it in {folder})" if local else ""
    missing = [
        f"service {service}: env_file {path!r} is neither attached to the version "
        f"(consign publish --with-env-files) nor present on the deploy host{where}"
        for service, path, required in referenced(text)
        if required and "$" not in path and not (folder / path).is_file()
    ]
    if missing:
        raise InvalidDescriptor("; ".join(missing))
