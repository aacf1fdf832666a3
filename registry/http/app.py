"""The registry's Flask application factory, its one error handler and its request log."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, g, jsonify, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException

from consign.compose.errors import ComposeError
from registry import secretpolicy
from registry.errors import OCIError, RegistryError, from_compose
from registry.http import config as cfg
from registry.http import metrics, storage
from registry.http.auth import ACTIONS, ROLES, Tokens
from registry.http.auth import EXTENSION as AUTH_EXTENSION
from registry.http.bodies import Request

log = logging.getLogger("registry")
access_log = logging.getLogger("registry.access")


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then ``CONSIGN_*`` from the environment, then ``test_config``."""
    app = Flask(__name__)
    app.request_class = Request
    app.config.from_mapping(cfg.DEFAULTS)
    app.config.from_prefixed_env(cfg.ENV_PREFIX)
    app.config.update(cfg.raw_env_strings())
    if test_config is not None:
        app.config.from_mapping(test_config)
    for key in cfg.INTEGER_KEYS:  # a bad number fails here, not at the first request
        app.config[key] = cfg.positive_int(app.config, key)
    app.config["MAX_CONTENT_LENGTH"] = app.config["MAX_BODY_BYTES"]
    app.config["SECRETS"] = secretpolicy.parse_setting(app.config["SECRETS"])  # bad: no start
    app.json = StandardJSON(app)

    tokens = Tokens.from_entries(
        {role: cfg.load_tokens(app.config, role.upper()) for role in ROLES}
    )
    app.extensions[AUTH_EXTENSION] = tokens
    storage.init_app(app)
    if app.config["ANNOUNCE_OPEN_PUBLISH"]:
        for role in tokens.open_write_roles():
            log.warning(
                "*** NO %s TOKENS CONFIGURED: ANYONE WHO CAN REACH THIS REGISTRY CAN %s. "
                "Set CONSIGN_%s_TOKENS or CONSIGN_%s_TOKENS_FILE. ***",
                role.upper(),
                ACTIONS[role].upper(),
                role.upper(),
                role.upper(),
            )

    from registry.http.views import BLUEPRINTS

    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    _install_error_handlers(app)
    _install_request_log(app)
    metrics.init_app(app)
    return app


class StandardJSON(DefaultJSONProvider):
    """Answers are standard JSON: key order kept, and never ``NaN``/``Infinity`` (input is
    checked at the door; this makes a slip an error instead of JSON strict parsers reject)."""

    sort_keys = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        kwargs.setdefault("allow_nan", False)
        return super().dumps(obj, **kwargs)


def _error_response(status: int, body: dict[str, Any]) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response


def _install_error_handlers(app: Flask) -> None:
    @app.errorhandler(RegistryError)
    def registry_error(e: RegistryError) -> Response:
        body = e.to_json()
        challenge = body.pop("www_authenticate", None)
        response = _error_response(e.status, body)
        if e.status == 401:
            response.headers["WWW-Authenticate"] = challenge or 'Bearer realm="consign"'
        response.headers.update(e.headers)
        if e.status >= 500:
            log.error("%s %s failed: %s", request.method, request.path, e.message, exc_info=e)
        return response

    @app.errorhandler(ComposeError)
    def compose_error(e: ComposeError) -> Response:
        return registry_error(from_compose(e))

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException) -> Response:
        status = e.code or 500
        error = (e.name or "error").lower().replace(" ", "_")
        message = e.description or e.name
        if status == 404:
            message = f"no such URL: {request.path}"
        elif status == 405:
            allowed = ", ".join(sorted(getattr(e, "valid_methods", None) or []))
            message = f"{request.method} is not allowed on {request.path} (allowed: {allowed})"
        elif status == 413:
            limit = app.config["MAX_CONTENT_LENGTH"]
            error, message = "payload_too_large", f"the request body exceeds {limit} bytes"
        if request.path == "/v2" or request.path.startswith("/v2/"):
            # under the OCI API (a path no /v2 route matches): the distribution spec's format
            code = {404: "NAME_UNKNOWN", 405: "UNSUPPORTED"}.get(status, error.upper())
            return registry_error(OCIError(status, code, message))
        response = _error_response(status, {"error": error, "message": message})
        for name, value in e.get_headers():
            if name in ("Allow", "Retry-After"):
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def unexpected(e: Exception) -> Response:
        log.exception("unhandled error in %s %s", request.method, request.path)
        body = {"error": "internal_error", "message": f"internal error: {type(e).__name__}"}
        return _error_response(500, body)


def _install_request_log(app: Flask) -> None:
    @app.before_request
    def start_timer() -> None:
        g.consign_started = time.monotonic()

    @app.after_request
    def log_request(response: Response) -> Response:
        started = g.get("consign_started", time.monotonic())
        ms = (time.monotonic() - started) * 1000
        created = g.get("consign_created") or []
        access_log.info(
            "%s %s %s %.1fms%s",
            request.method,
            request.full_path.rstrip("?"),
            response.status_code,
            ms,
            f" created={','.join(created)}" if created else "",
        )
        return response
