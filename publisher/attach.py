"""``consign publish --with-env-files``: the env files a fragment names, read for sending.

Env files often hold secrets, so they are attached only when asked. Each ``env_file`` of
the fragment is read relative to the fragment's folder and sent under the path as written.
Refused (:class:`AttachError`): an absolute path, one with ``..``, a symlink (or a path)
that resolves outside the fragment's folder, and a required file that is missing. A file
marked ``required: false`` that is missing is skipped.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

from consign.compose import envfiles
from consign.compose.errors import ComposeError
from consign.compose.fragments import parse_fragment


class AttachError(Exception):
    """An env file cannot be attached; the message names it."""


def env_files(compose_file: Path, text: str) -> dict[str, str]:
    """{path (normalised: ``./a`` is ``a``): base64 of the file} for each env file named.

    A fragment the registry would refuse anyway is left to the registry (its message is
    better): nothing is attached then.
    """
    try:
        spec, _ = parse_fragment(text)
    except ComposeError:
        return {}
    folder = compose_file.resolve().parent
    files: dict[str, str] = {}
    for ref in envfiles.references(spec):
        if ref.path in files:
            continue  # two services share it
        if ref.path is None:
            raise AttachError(
                f"service {ref.service!r}: env_file {ref.written!r} is not inside the fragment's "
                "folder (absolute, '..' or '$'); only files next to the fragment can be attached"
            )
        target = folder / ref.path
        real = Path(os.path.realpath(target))
        if real != folder and folder not in real.parents:
            raise AttachError(
                f"service {ref.service!r}: env_file {ref.written!r} resolves to {real}, outside "
                f"the fragment's folder {folder} (a symlink?)"
            )
        try:
            data = real.read_bytes()
        except FileNotFoundError:
            if not ref.required:
                continue
            message = f"service {ref.service!r}: env_file {ref.written!r} does not exist"
            raise AttachError(message) from None
        except OSError as e:
            raise AttachError(f"cannot read env_file {ref.written!r}: {e.strerror or e}") from e
        files[ref.path] = base64.b64encode(data).decode("ascii")
    return files
