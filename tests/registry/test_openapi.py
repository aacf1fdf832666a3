"""The committed OpenAPI document and the app's routes tell the same story."""

from __future__ import annotations

import json
import re
from pathlib import Path

from flask import Flask

DOC = Path(__file__).resolve().parents[2] / "registry" / "http" / "openapi.json"
IGNORED = {"HEAD", "OPTIONS"}


def rule_to_path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def app_routes(app: Flask) -> dict[str, set[str]]:
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        routes.setdefault(rule_to_path(rule.rule), set()).update(
            m.lower() for m in (rule.methods or set()) - IGNORED
        )
    return routes


def documented() -> dict[str, set[str]]:
    doc = json.loads(DOC.read_text())
    assert doc["openapi"].startswith("3.1")
    return {
        path: set(item) - {"parameters", "summary", "description"}
        for path, item in doc["paths"].items()
    }


def test_every_route_is_documented(app: Flask) -> None:
    docs = documented()
    for path, methods in app_routes(app).items():
        assert path in docs, f"{path} is served but not in registry/http/openapi.json"
        assert methods <= docs[path], f"{path}: {methods - docs[path]} not documented"


def test_every_documented_path_exists(app: Flask) -> None:
    routes = app_routes(app)
    for path, methods in documented().items():
        assert path in routes, f"{path} is documented but not served"
        assert methods <= routes[path], f"{path}: {methods - routes[path]} documented, not served"


def test_path_parameters_are_declared(app: Flask) -> None:
    doc = json.loads(DOC.read_text())
    for path, item in doc["paths"].items():
        names = set(re.findall(r"{([^}]+)}", path))
        for method, op in item.items():
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == names, f"{method.upper()} {path}"


def test_served_byte_for_byte(app: Flask) -> None:
    response = app.test_client().get("/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.data == DOC.read_bytes()


def test_every_operation_documents_the_servers_414() -> None:
    """gunicorn answers a request line over its limit before the app: every operation may
    get that 414, and the document must say so (Schemathesis finds it otherwise)."""
    doc = json.loads(DOC.read_text())
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in ("get", "put", "post", "delete", "patch"):
                assert "414" in op["responses"], f"{method.upper()} {path} lacks 414"


def test_every_operation_that_writes_the_repository_documents_its_507() -> None:
    """Whatever moves a ref (they document 503 ``ref_locked``) or writes an environment's
    lock may meet a full disk: 507 ``insufficient_storage``."""
    doc = json.loads(DOC.read_text())
    locks = {"/api/environments/{environment}/lock", "/api/environments/{environment}/lock/break"}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            writes_lock = path in locks and method == "post"
            if "503" in op.get("responses", {}) or writes_lock:
                assert "507" in op["responses"], f"{method.upper()} {path} lacks 507"
