"""Env files that travel with their fragment (``env_file:``), and where they live.

A fragment may name env files; the publisher may attach them (``"files"`` in
``PUT /fragment``, keyed by the path as the fragment writes it). An attached file is stored
in the version's tree next to its fragment, at ``fragments/<component>/<path>``
(:func:`stored_path`, the component encoded as in the fragment's own file name), and the
descriptor refers to it by that path, so ``git checkout <tag> && docker compose config``
finds it. An env file that is not attached stays as written: it must exist on the deploy
host (a warning says so at publish time).

Attached paths are confined to the fragment's folder: relative, no ``..``, no NUL or other
control character, no ``$`` (Compose would interpolate it), no ``.git`` component, no
empty component. Symlinks cannot arrive over HTTP (a file is bytes); the publish client
refuses to follow one out of the fragment's folder.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from consign.compose import refnames, yamlio
from consign.compose.errors import InvalidInput

FRAGMENTS = "fragments"  # the folder of fragments in a version's tree (store/manifest.py too)
MAX_PATH = 1024


@dataclass(frozen=True)
class AttachedFile:
    """A file published with a fragment: ``path`` as the fragment refers to it (normalised)."""

    path: str
    sha256: str
    size: int
    blob: str  # its Git blob id: later versions put it in their trees without reading it

    @classmethod
    def of(cls, path: str, data: bytes) -> AttachedFile:
        git = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()  # Git names blobs by SHA-1
        return cls(path, hashlib.sha256(data).hexdigest(), len(data), git)


def stored_path(component: str, path: str) -> str:
    """Where an attached file lives in the version's tree (relative to its root)."""
    return f"{FRAGMENTS}/{refnames.encode(component, 'component')}/{path}"


def oci_name(stored: str) -> str:
    """The flat file name of an env file inside an OCI artifact.

    Compose's loader writes every env-file layer into one folder (next to ``compose.yaml``)
    and refuses names with a separator; like ``docker compose publish``, the name is the
    hex sha256 of the path plus ``.env``.
    """
    return hashlib.sha256(stored.encode("utf-8")).hexdigest() + ".env"


def oci_names(component: str, paths: list[str]) -> dict[str, str]:
    """{path as referenced: its flat name in the OCI artifact} for a component's files."""
    return {path: oci_name(stored_path(component, path)) for path in paths}


def _parts(path: str) -> list[str] | None:
    """The components of a relative path with ``.`` and empty ones dropped; None if the path
    is absolute or leaves its folder (``..``)."""
    if path.startswith("/"):
        return None
    parts = [p for p in path.split("/") if p not in ("", ".")]
    return None if ".." in parts or not parts else parts


def normalise(path: str) -> str | None:
    """``./env//web.env`` -> ``env/web.env``; None when the path is not confined or not literal."""
    parts = _parts(path)
    if parts is None or "$" in path or any(_bad_char(c) for c in path):
        return None
    return "/".join(parts)


def _bad_char(c: str) -> bool:
    return c == "\0" or unicodedata.category(c) in ("Cc", "Cs")


def confine(path: object, where: str) -> str:
    """An attached file's key, normalised; InvalidInput (400 at the registry) naming it when it
    is not confined."""
    if not isinstance(path, str) or not path:
        raise InvalidInput(
            f"{where}: a file path must be a non-empty string", details={"field": where}
        )
    shown = repr(path[:200])
    reason = None
    if len(path) > MAX_PATH:
        reason = f"is longer than {MAX_PATH} characters"
    elif any(_bad_char(c) for c in path):
        reason = "contains NUL or another control character"
    elif path.startswith("/"):
        reason = "is absolute; attached files must be relative to the fragment's folder"
    elif ".." in path.split("/"):
        reason = "leaves the fragment's folder ('..')"
    elif "$" in path:
        reason = "contains '$', which Compose would interpolate; name files literally"
    elif any(p.lower() == ".git" for p in path.split("/")):
        reason = "has a '.git' component"
    elif _parts(path) is None:
        reason = "names no file"
    if reason:
        raise InvalidInput(f"{where}: the path {shown} {reason}", details={"field": where})
    return "/".join(_parts(path) or [])


def _entries(value: Any) -> list[Any]:
    plain = yamlio.plain(value)
    if plain is None:
        return []
    return list(plain) if isinstance(plain, list) else [plain]


def _entry_path(entry: Any) -> str | None:
    if isinstance(entry, str):
        return entry
    if isinstance(entry, dict) and isinstance(entry.get("path"), str):
        return str(entry["path"])
    return None


def _required(entry: Any) -> bool:
    return not (isinstance(entry, dict) and yamlio.plain(entry.get("required")) is False)


@dataclass(frozen=True)
class Reference:
    service: str
    written: str  # as in the fragment
    path: str | None  # normalised, None when it cannot be attached (absolute, '..', '$')
    required: bool


def references(spec: Mapping[str, Any]) -> Iterator[Reference]:
    """Every ``env_file`` entry of every service, in document order."""
    for name, service in (spec.get("services") or {}).items():
        if not isinstance(service, dict):
            continue
        for entry in _entries(service.get("env_file")):
            written = _entry_path(entry)
            if written is not None:
                yield Reference(str(name), written, normalise(written), _required(entry))


def check_attached(spec: Mapping[str, Any], attached: Mapping[str, bytes]) -> list[str]:
    """InvalidInput (400 at the registry) when a file is attached that no ``env_file``
    names; warnings for env files that are named but not attached (they must then exist on
    the deploy host)."""
    refs = list(references(spec))
    named = {r.path for r in refs if r.path is not None}
    for path in attached:
        if path not in named:
            raise InvalidInput(
                f"files: {path!r} is attached but no service of the fragment names it in "
                "'env_file'",
                details={"field": "files", "path": path},
            )
    warnings = []
    for ref in refs:
        if ref.path in attached:
            continue
        optional = "" if ref.required else " (required: false, so Compose skips it if absent)"
        where = "" if ref.written.startswith("/") else ", relative to the descriptor's folder"
        warnings.append(
            f"service {ref.service!r} reads env_file {ref.written!r}, which was not attached: "
            f"it must exist on the deploy host{where}{optional}"
        )
    return list(dict.fromkeys(warnings))


def rewrite(service: Any, rename: Callable[[str], str | None]) -> Any:
    """``service`` with every env_file path that ``rename`` maps replaced (a new mapping);
    the same object when nothing changes. ``!override`` on ``env_file`` is kept."""
    if not isinstance(service, dict) or "env_file" not in service:
        return service
    value = service["env_file"]
    inner = yamlio.plain(value)
    if inner is None:
        return service

    def one(entry: Any) -> Any:
        written = _entry_path(entry)
        new = rename(written) if written is not None else None
        if new is None:
            return entry
        return new if isinstance(entry, str) else {**entry, "path": new}

    changed = [one(e) for e in inner] if isinstance(inner, list) else one(inner)
    if changed == inner:
        return service
    result = dict(service)
    result["env_file"] = yamlio.Override(changed) if isinstance(value, yamlio.Override) else changed
    return result


def renamer(files: Mapping[str, str]) -> Callable[[str], str | None]:
    """A ``rename`` for :func:`rewrite` from {normalised path as written: new path}."""

    def rename(written: str) -> str | None:
        path = normalise(written)
        return files.get(path) if path is not None else None

    return rename
