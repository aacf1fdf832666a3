"""The registry's one exception tree.

Every domain error carries its HTTP status and a short machine-readable ``error`` code;
one Flask error handler (``registry.http.app``) renders them as ``{"error", "message"}`` JSON.
Low-level errors (GitPython, yaml, base64) are caught where they happen and re-raised
as one of these ``from`` the original.
"""

from __future__ import annotations

from typing import Any

from consign.compose import errors as compose


class RegistryError(Exception):
    status: int = 500
    error: str = "internal_error"

    headers: dict[str, str]  # extra response headers (WWW-Authenticate, Allow)

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}
        self.headers = {}

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.error, "message": self.message}
        body.update(self.details)
        return body


class BadRequest(RegistryError):
    """The request itself is malformed: not JSON, a missing field, a wrong type."""

    status = 400
    error = "bad_request"


class DescriptorTooLarge(RegistryError):
    """The descriptor assembled with this fragment would exceed the configured size."""

    status = 422
    error = "descriptor_too_large"


class ComposeRejected(RegistryError):
    """A :class:`consign.compose.errors.ComposeError` as the registry answers it: the
    error's own code, message and details, under the status :func:`from_compose` gives."""

    def __init__(self, status: int, error: compose.ComposeError) -> None:
        super().__init__(error.message, details=error.details)
        self.status = status
        self.error = error.code


def from_compose(error: compose.ComposeError) -> ComposeRejected:
    """The one mapping of the Compose code's errors to HTTP: a fragment that is not
    Compose is 422 ``invalid_fragment``; a bad name or env file is 400 (its own code)."""
    status = 422 if isinstance(error, compose.InvalidFragment) else 400
    return ComposeRejected(status, error)


class TooLarge(RegistryError):
    """A part of the request is over its own limit (the body as a whole: werkzeug's 413)."""

    status = 413
    error = "payload_too_large"


class Unauthorized(RegistryError):
    status = 401
    error = "unauthorized"


class Forbidden(RegistryError):
    status = 403
    error = "forbidden"


class NotFound(RegistryError):
    status = 404
    error = "not_found"


class Conflict(RegistryError):
    """Publishing would break an ownership rule; nothing was written."""

    status = 409
    error = "conflict"


class GitBackendError(RegistryError):
    """``git http-backend`` refused a request (its own 4xx, e.g. 405 for a GET of
    git-upload-pack); the status is the backend's."""

    error = "git_error"

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class OCIError(RegistryError):
    """An error of the OCI distribution endpoints, rendered in the distribution spec's
    format ``{"errors": [{"code", "message", "detail"}]}`` (``code``: ``MANIFEST_UNKNOWN``,
    ``BLOB_UNKNOWN``, ``NAME_UNKNOWN``, ``DIGEST_INVALID``, ``UNSUPPORTED``, ...)."""

    def __init__(
        self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = code
        self.headers = headers or {}

    def to_json(self) -> dict[str, Any]:
        return {"errors": [{"code": self.error, "message": self.message, "detail": {}}]}


class StoreError(RegistryError):
    """The Git store failed in a way the client cannot fix."""

    status = 500
    error = "store_error"


class RefLocked(StoreError):
    """A ref the write must move is locked by a Git lock file (``<ref>.lock``).

    Git creates it while it updates the ref and removes it when it is done, even when it is
    interrupted (SIGTERM, SIGINT); one is left behind only when a Git process was killed
    outright (SIGKILL, the OOM killer) or the machine lost power. The store never removes
    one itself (it cannot tell a dead Git's lock from a live one's): nothing was written,
    the client may retry, and an operator must make sure no Git process works on the
    repository and then delete the file (``lock`` in the answer names it).
    """

    status = 503
    error = "ref_locked"

    def __init__(self, ref: str, lock: str, *, retry_after: int = 30) -> None:
        super().__init__(
            f"the ref {ref} is locked by Git's lock file {lock}, so nothing was written; "
            "retry later. If no git process is working on the repository (a git killed "
            "outright leaves its lock behind), an operator must delete that file",
            details={"ref": ref, "lock": lock},
        )
        self.headers["Retry-After"] = str(retry_after)


class InsufficientStorage(StoreError):
    """The repository's filesystem is full (ENOSPC, or the quota: EDQUOT). Nothing was
    moved: objects are written before the ref transaction and a failed write leaves no
    file behind, so the same request succeeds once space is freed. ``free_bytes`` and
    ``repository`` in the answer say where and how much is left."""

    status = 507
    error = "insufficient_storage"

    def __init__(self, message: str, *, repository: str, free_bytes: int | None) -> None:
        free = "unknown" if free_bytes is None else f"{free_bytes} bytes"
        super().__init__(
            f"{message}: the filesystem of the repository {repository} is full "
            f"({free} free); nothing was written, retry once space is freed",
            details={"repository": repository, "free_bytes": free_bytes},
        )


class GateRefused(Conflict):
    """The gate refuses: a promotion-only release, a rejected version, an unmet policy."""

    error = "refused"


class ReleaseMissing(Conflict):
    """A promotion names a target release (or application) that does not exist, and the
    request did not ask to create it (``"create": true``); ``details["closest"]`` names the
    existing ones closest in spelling."""

    error = "release_missing"


class Locked(RegistryError):
    """The release is frozen: nothing enters it until it is thawed (or the freeze ends)."""

    status = 423
    error = "locked"


class SecretsRefused(RegistryError):
    """A fragment carries secret-looking literals and the policy says refuse (details:
    ``findings``, each a path and a kind, never a value)."""

    status = 422
    error = "secrets_refused"


class InvalidRecord(RegistryError):
    """A deployment report names what the registry does not have (an unknown version)."""

    status = 422
    error = "invalid_record"


class RecordTooLarge(RegistryError):
    status = 413
    error = "payload_too_large"


class EnvironmentLockHeld(Conflict):
    """The environment is locked by another deploy; ``details`` name the holder."""

    error = "locked"
