"""The Compose code's own exceptions: what is wrong with a fragment, an env file or a name.

They say nothing about HTTP. Each carries a machine-readable :attr:`ComposeError.code`, a
message for a person, and ``details`` (the JSON-able particulars: ``violations`` with their
``path``, ``line``/``column`` of a YAML error, the ``field`` a name came from). The registry
turns them into its answers in one place (:func:`registry.errors.from_compose`: 422 for a
fragment, 400 for the rest); the publisher and the deployer catch :class:`ComposeError`.
"""

from __future__ import annotations

from typing import Any


class ComposeError(Exception):
    """Base of the ground floor's Compose errors."""

    code: str = "invalid_compose"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class InvalidFragment(ComposeError):
    """The fragment cannot be read as a Compose file (base64, UTF-8, YAML, shape, schema)."""

    code = "invalid_fragment"


class InvalidInput(ComposeError):
    """A value beside the fragment breaks a rule (an attached env file's path or text)."""

    code = "bad_request"


class InvalidName(InvalidInput):
    """An application, release or component name that cannot be stored."""

    code = "invalid_name"
