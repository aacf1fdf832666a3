"""What the web UI needs from the app, set up once when its blueprint is registered: the key
that signs the session cookie and CSRF tokens, CSRF protection for the UI's forms only, a
session cookie that is ``Secure`` whenever the request came over HTTPS, and its settings
checked at startup (a bad template or proxy list fails ``consign serve``, not a page).
"""

from __future__ import annotations

import ipaddress
import logging
import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask, Request, request
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFProtect

from registry.http.storage import get_store
from registry.http.views.ui import links

log = logging.getLogger("registry.ui")

CSRF_EXTENSION = "consign.ui.csrf"
PROXIES_EXTENSION = "consign.ui.proxies"
#: Beside the bare repository (Git ignores it; a ``git clone --mirror`` does not copy it).
KEY_FILE = "consign-ui-secret-key"


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, marked ``Secure`` for every HTTPS request (and always
    when ``CONSIGN_SESSION_COOKIE_SECURE`` is set, e.g. behind a TLS-terminating proxy)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        secure = bool(app.config["SESSION_COOKIE_SECURE"])
        return secure or (isinstance(request, Request) and request.is_secure)


def _key_from_file(path: Path) -> str:
    try:
        key = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"cannot read the secret key file {path}: {e}") from e
    if len(key) < 16:
        raise ValueError(f"the secret key in {path} is shorter than 16 characters")
    return key


def _kept_key(folder: Path) -> str:
    """A random key kept in ``folder``, made once: every gunicorn worker (each calls
    create_app) and every restart signs with the same one, so sessions survive both."""
    path = folder / KEY_FILE
    if not path.exists():
        temporary = folder / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(secrets.token_hex(32) + "\n")
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(temporary, path)  # atomic: the first worker's key wins, others read it
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
        log.info("web UI: made a session key in %s (set CONSIGN_SECRET_KEY to choose one)", path)
    return _key_from_file(path)


def secret_key(config: dict[str, Any], repo: Path) -> str:
    if config.get("SECRET_KEY"):
        key = str(config["SECRET_KEY"])
        if len(key) < 16:
            raise ValueError("CONSIGN_SECRET_KEY must be at least 16 characters")
        return key
    if config.get("SECRET_KEY_FILE"):
        return _key_from_file(Path(str(config["SECRET_KEY_FILE"])))
    return _kept_key(repo)


def trusted_proxies(value: Any) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """``CONSIGN_UI_TRUSTED_PROXIES``: addresses or networks, comma-separated."""
    items = value.split(",") if isinstance(value, str) else list(value or [])
    try:
        return tuple(
            ipaddress.ip_network(str(i).strip(), strict=False) for i in items if str(i).strip()
        )
    except ValueError as e:
        raise ValueError(f"CONSIGN_UI_TRUSTED_PROXIES: {e}") from e


def init_app(app: Flask) -> None:
    config = app.config
    with app.app_context():
        repo = get_store().repo_path()
    config["SECRET_KEY"] = secret_key(config, repo)
    config.setdefault("SESSION_COOKIE_NAME", "consign_session")
    if config["SESSION_COOKIE_NAME"] == "session":  # Flask's default name says nothing
        config["SESSION_COOKIE_NAME"] = "consign_session"
    config["SESSION_COOKIE_HTTPONLY"] = True
    config["SESSION_COOKIE_SAMESITE"] = config.get("SESSION_COOKIE_SAMESITE") or "Lax"
    # CSRF is checked by the UI blueprint for its own forms only: the JSON API (PUT /fragment,
    # Git's POSTs) authenticates with bearer tokens, which a foreign site cannot send.
    config["WTF_CSRF_CHECK_DEFAULT"] = False
    app.session_interface = SessionInterface()
    app.extensions[CSRF_EXTENSION] = CSRFProtect(app)
    app.extensions[PROXIES_EXTENSION] = trusted_proxies(config["UI_TRUSTED_PROXIES"])
    links.check_rundeck_template(str(config.get("UI_RUNDECK_URL_TEMPLATE") or ""))
    header = str(config.get("UI_IDENTITY_HEADER") or "")
    if header:
        log.warning(
            "web UI: trusting the %s header from %s as the user's identity",
            header,
            config["UI_TRUSTED_PROXIES"],
        )
