"""The engine's grammar for image references (distribution/reference), checked before
``up`` so that a reference the engine refuses to parse (``shop/web:`` after an unset
``${TAG}``) is an invalid descriptor (exit 4), reported before anything starts."""

from __future__ import annotations

import re

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?"
_NAME = rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
REFERENCE = re.compile(rf"^{_NAME}(?::{_TAG})?(?:@{_DIGEST})?$")


def problem(image: str) -> str | None:
    """Why the engine would refuse ``image``, or None when it is a valid reference."""
    if not REFERENCE.match(image):
        hint = ""
        if image.endswith((":", "@")) or "::" in image or image.startswith(":"):
            hint = " (an empty tag: a variable such as ${TAG} unset?)"
        elif image != image.lower() and REFERENCE.match(image.lower()):
            hint = " (repository names must be lowercase)"
        return f"{image!r} is not a valid image reference{hint}"
    return None
