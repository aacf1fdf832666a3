"""Read-only Git smart HTTP at ``/git``: ``git clone http://HOST:PORT/git descriptors``.

Requests are handed to ``git http-backend`` as CGI. It must stream (a clone can be large
and the client reads while the server packs), so this is the one place that uses
``subprocess.Popen`` instead of :func:`consign.process.run`; the command is still logged
with ``shlex.join``. Pushing is refused here, before git sees the request.
"""

from __future__ import annotations

import logging
import re
import shlex
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from http.client import responses
from pathlib import Path
from typing import IO

from flask import Blueprint, Response, request

from consign.process import end_group, tied
from registry.errors import Forbidden, GitBackendError, NotFound, StoreError
from registry.http.auth import require_read
from registry.http.storage import get_store

log = logging.getLogger(__name__)

bp = Blueprint("git_http", __name__, url_prefix="/git")
bp.before_request(require_read)

#: Fetch negotiation resends every "have" line in each stateless round, so its bodies can
#: outgrow the API's MAX_BODY_BYTES; they only ever reach git, never the store.
MAX_GIT_BODY = 256 * 1024 * 1024


@bp.before_request
def _allow_negotiation_bodies() -> None:
    request.max_content_length = MAX_GIT_BODY


BACKEND = ["git", "http-backend"]
CHUNK = 64 * 1024
# Request headers http-backend reads from the CGI environment.
PASSED_HEADERS = ("CONTENT_TYPE", "CONTENT_LENGTH", "HTTP_CONTENT_ENCODING", "HTTP_GIT_PROTOCOL")


def _repo() -> Path:
    return get_store().repo_path().resolve()


#: Every path Git's HTTP protocols use (smart: info/refs, git-upload-pack; dumb: HEAD, loose
#: objects, packs). Nothing else reaches http-backend: no ``..``, NUL or other surprise.
GIT_PATH = re.compile(
    r"HEAD|info/refs|git-upload-pack|git-receive-pack|objects/info/(?:packs|alternates"
    r"|http-alternates)|objects/[0-9a-f]{2}/[0-9a-f]{38,62}"
    r"|objects/pack/pack-[0-9a-f]{40,64}\.(?:pack|idx)"
)
#: The most of an error answer of http-backend quoted in our JSON error.
MAX_ERROR_TEXT = 500


def _check_path(path: str) -> None:
    if not GIT_PATH.fullmatch(path):
        raise NotFound(f"no such Git path under /git: {path[:200]!r}")
    if path.endswith("git-receive-pack") or request.args.get("service") == "git-receive-pack":
        raise Forbidden("this repository is read-only: push is refused")


def _cgi_env(repo: Path, path: str) -> dict[str, str]:
    env = {
        "GIT_PROJECT_ROOT": str(repo.parent),
        "GIT_HTTP_EXPORT_ALL": "1",
        "PATH_INFO": f"/{repo.name}/{path}",
        "REQUEST_METHOD": request.method,
        "QUERY_STRING": request.query_string.decode("latin-1"),
        "REMOTE_ADDR": request.remote_addr or "",
        "SERVER_PROTOCOL": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
        "PATH": "/usr/local/bin:/usr/bin:/bin",
    }
    for key in PASSED_HEADERS:
        if request.environ.get(key):
            env[key] = request.environ[key]
    if "HTTP_GIT_PROTOCOL" in env:
        env["GIT_PROTOCOL"] = env["HTTP_GIT_PROTOCOL"]
    return env


def _feed(body: IO[bytes], sink: IO[bytes]) -> None:
    """Copy the request body into http-backend's stdin (in a thread: no pipe deadlock)."""
    try:
        while chunk := body.read(CHUNK):
            sink.write(chunk)
    except (BrokenPipeError, OSError):
        pass
    finally:
        sink.close()


def _read_headers(out: IO[bytes]) -> tuple[int, list[tuple[str, str]]] | None:
    """The CGI header block (``Status:`` and the rest); None when the backend said nothing."""
    status = 200
    headers: list[tuple[str, str]] = []
    while line := out.readline():
        text = line.decode("latin-1").rstrip("\r\n")
        if not text:
            return status, headers
        name, _, value = text.partition(":")
        if name.lower() == "status":
            status = int(value.strip().split()[0])
        else:
            headers.append((name.strip(), value.strip()))
    return None


def _stream(proc: subprocess.Popen[bytes], errors: IO[bytes], argv: list[str]) -> Iterator[bytes]:
    """Relay stdout; then reap the process and log its stderr (kept in a file, so a chatty
    backend can never block on a full pipe)."""
    assert proc.stdout is not None
    try:
        while chunk := proc.stdout.read(CHUNK):
            yield chunk
    finally:
        if proc.poll() is None:  # the client went away: end http-backend and its children
            end_group(proc)
            proc.kill()
        proc.wait()
        errors.seek(0)
        err = errors.read().decode("utf-8", "replace").strip()
        errors.close()
        if proc.returncode or err:
            log.warning("`%s` exited %s: %s", shlex.join(argv), proc.returncode, err[:500])


@bp.route("/<path:path>", methods=["GET", "POST"])
def backend(path: str) -> Response:
    _check_path(path)
    repo = _repo()
    log.debug("run: %s  (PATH_INFO=/%s/%s)", shlex.join(BACKEND), repo.name, path)
    errors = tempfile.TemporaryFile()  # noqa: SIM115 - _stream closes it after the response
    argv, tie = tied(BACKEND)  # upload-pack and pack-objects end with this worker
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=errors,
        env={**_cgi_env(repo, path), "PYTHONSAFEPATH": "1"},
        **tie,
    )
    assert proc.stdin is not None and proc.stdout is not None
    feeder = threading.Thread(target=_feed, args=(request.stream, proc.stdin), daemon=True)
    feeder.start()
    head = _read_headers(proc.stdout)
    if head is None:
        for _ in _stream(proc, errors, BACKEND):
            pass
        raise StoreError(f"git http-backend exited {proc.returncode} without a response")
    status, headers = head
    if status >= 400:  # http-backend's own errors are short text: answer them as JSON
        text = proc.stdout.read(MAX_ERROR_TEXT).decode("utf-8", "replace").strip()
        for _ in _stream(proc, errors, BACKEND):
            pass
        reason = text or f"{status} {responses.get(status, '')}".strip()
        raise GitBackendError(status, f"{request.method} /git/{path}: {reason}")
    body = _stream(proc, errors, BACKEND)
    return Response(body, status=status, headers=headers, direct_passthrough=True)
