"""Signing in and out, CSRF, the read-token rule for pages, the session cookie, and the
trusted proxy's identity header."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.ui.conftest import fill_client
from tests.ui.html import check_page

READ, PUBLISH = "reader-token-123", "publisher-token-456"


@pytest.fixture
def guarded(make_app: Any) -> Flask:
    app: Flask = make_app(READ_TOKENS=READ, PUBLISH_TOKENS=PUBLISH)
    return app


def csrf(client: FlaskClient, url: str = "/ui/sign-in") -> str:
    found = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', client.get(url).data)
    found = found or re.search(rb'name="csrf_token" value="([^"]+)"', client.get(url).data)
    assert found, "no CSRF token in the form"
    return found.group(1).decode()


def sign_in(client: FlaskClient, token: str, next_url: str = "") -> Any:
    data = {"token": token, "csrf_token": csrf(client), "next": next_url}
    return client.post("/ui/sign-in", data=data)


def identity_of(token: str) -> str:
    return "token-" + hashlib.sha256(token.encode()).hexdigest()[:6]


def test_pages_need_a_sign_in_when_read_tokens_are_set(guarded: Flask) -> None:
    client = guarded.test_client()
    fill = guarded.test_client()
    fill.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {PUBLISH}"
    fill_client(fill)
    for url in (
        "/ui/",
        "/ui/applications/TLO%20GE/releases/Milestone",
        "/ui/find?component=db&build=7",
    ):
        answer = client.get(url)
        assert answer.status_code == 303
        assert answer.headers["Location"].startswith("/ui/sign-in?next=/ui/")
    assert client.get("/ui/sign-in").status_code == 200
    with client.get("/ui/static/site.css") as css:
        assert css.status_code == 200  # the sign-in page is styled
    # The API keeps its own rule: bearer tokens, no cookies.
    assert client.get("/api/applications").status_code == 401


def test_sign_in_with_a_read_token_then_out(guarded: Flask) -> None:
    client = guarded.test_client()
    answer = sign_in(client, READ, "/ui/find?component=db&build=7")
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/ui/find?component=db&build=7"
    cookie = answer.headers["Set-Cookie"]
    assert cookie.startswith("consign_session=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    page = check_page(client.get("/ui/").data)
    assert f"Signed in as {identity_of(READ)}" in page.words()
    # the cookie is signed, not encrypted: it must not carry the token
    stored = guarded.session_interface.get_signing_serializer(guarded).loads(  # type: ignore[attr-defined]
        cookie.split(";")[0].split("=", 1)[1]
    )
    assert (
        READ not in repr(stored)
        and stored["token_sha256"] == hashlib.sha256(READ.encode()).hexdigest()
    )
    # signing out is a form post too: refused without the CSRF token, nothing changes
    refused = client.post("/ui/sign-out")
    assert refused.status_code == 400 and "Form refused" in check_page(refused.data).words()
    assert client.get("/ui/").status_code == 200
    out = client.post("/ui/sign-out", data={"csrf_token": csrf(client, "/ui/")})
    assert out.status_code == 303 and out.headers["Location"] == "/ui/"
    assert client.get("/ui/").status_code == 303


def test_a_publish_token_reads_too(guarded: Flask) -> None:
    client = guarded.test_client()
    assert sign_in(client, PUBLISH).status_code == 303
    assert f"Signed in as {identity_of(PUBLISH)}" in check_page(client.get("/ui/").data).words()


def test_wrong_or_missing_token_and_missing_csrf_are_refused(guarded: Flask) -> None:
    client = guarded.test_client()
    wrong = sign_in(client, "guessed-token")
    assert wrong.status_code == 403
    assert "not configured for any role" in check_page(wrong.data).words()
    empty = sign_in(client, "")
    assert empty.status_code == 400
    no_csrf = client.post("/ui/sign-in", data={"token": READ})
    assert no_csrf.status_code == 400
    assert "The CSRF token is missing." in check_page(no_csrf.data).words()
    forged = client.post("/ui/sign-in", data={"token": READ, "csrf_token": "forged"})
    assert forged.status_code == 400
    assert client.get("/ui/").status_code == 303  # none of them signed anyone in


def test_the_cookie_is_secure_over_https(guarded: Flask) -> None:
    client = guarded.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    token = csrf(client)
    answer = client.post(
        "/ui/sign-in",
        data={"token": READ, "csrf_token": token},
        base_url="https://localhost",
        headers={"Referer": "https://localhost/ui/sign-in"},
    )
    assert answer.status_code == 303
    assert "Secure" in answer.headers["Set-Cookie"]


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/ui/", "/api/x", "/ui//evil"]
)
def test_next_never_leaves_the_ui(guarded: Flask, target: str) -> None:
    answer = sign_in(guarded.test_client(), READ, target)
    assert answer.headers["Location"] == "/ui/"


def test_a_removed_token_signs_its_sessions_out(make_app: Any) -> None:
    before: Flask = make_app(READ_TOKENS=READ)
    client = before.test_client()
    assert sign_in(client, READ).status_code == 303
    cookie = client.get_cookie("consign_session")
    assert cookie is not None
    after: Flask = make_app(READ_TOKENS="another-token-789")  # same repo, same key file
    later = after.test_client()
    later.set_cookie("consign_session", cookie.value)
    assert later.get("/ui/").status_code == 303
    still: Flask = make_app(READ_TOKENS=f"another-token-789,{READ}")
    again = still.test_client()
    again.set_cookie("consign_session", cookie.value)
    assert again.get("/ui/").status_code == 200


def test_nothing_to_sign_in_to_when_no_token_is_configured(client: FlaskClient) -> None:
    page = check_page(client.get("/ui/sign-in").data)
    assert "No tokens are configured" in page.words()
    assert not page.all("form") and "Back to where you were" in page.words()  # no dead end
    fill_client(client)
    token = csrf(client, "/ui/applications/TLO%20GE/releases/Milestone/versions/1")
    answer = client.post("/ui/sign-in", data={"token": "anything", "csrf_token": token})
    assert answer.status_code == 403


def test_the_proxy_identity_header_is_off_by_default(guarded: Flask) -> None:
    answer = guarded.test_client().get("/ui/", headers={"X-Forwarded-User": "alice"})
    assert answer.status_code == 303


def test_a_trusted_proxy_names_the_user(make_app: Any) -> None:
    app: Flask = make_app(READ_TOKENS=READ, UI_IDENTITY_HEADER="X-Forwarded-User")
    client = app.test_client()
    page = client.get("/ui/", headers={"X-Forwarded-User": "alice@example.com"})
    assert page.status_code == 200
    assert "Signed in as alice@example.com" in check_page(page.data).words()
    # anyone else sending the header is not believed
    other = client.get(
        "/ui/", headers={"X-Forwarded-User": "alice"}, environ_base={"REMOTE_ADDR": "10.1.2.3"}
    )
    assert other.status_code == 303
    narrowed: Flask = make_app(
        READ_TOKENS=READ, UI_IDENTITY_HEADER="X-Forwarded-User", UI_TRUSTED_PROXIES="10.1.0.0/16"
    )
    ok = narrowed.test_client().get(
        "/ui/", headers={"X-Forwarded-User": "bob"}, environ_base={"REMOTE_ADDR": "10.1.2.3"}
    )
    assert ok.status_code == 200


def test_settings_are_checked_at_startup(make_app: Any, tmp_path: Any) -> None:
    with pytest.raises(ValueError, match="CONSIGN_UI_TRUSTED_PROXIES"):
        make_app(UI_TRUSTED_PROXIES="not-an-address")
    with pytest.raises(ValueError, match="at least 16"):
        make_app(SECRET_KEY="short")
    with pytest.raises(ValueError, match="cannot read the secret key file"):
        make_app(SECRET_KEY_FILE=str(tmp_path / "missing"))


def test_workers_share_the_kept_key(make_app: Any, repo: Any) -> None:
    """Every gunicorn worker builds its own app: they must sign alike."""
    one: Flask = make_app()
    two: Flask = make_app()
    assert one.secret_key == two.secret_key and len(str(one.secret_key)) >= 32
    key_file = repo / "consign-ui-secret-key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    chosen: Flask = make_app(SECRET_KEY="x" * 32)
    assert chosen.secret_key == "x" * 32


def test_the_role_table_with_identities(make_app: Any) -> None:
    """The shape of the role table of registry/http/auth.py once the gate's roles are there
    (role -> grants of identity and token): a sign-in takes the entry's identity and every
    role listing the token; a proxy-named user holds the roles that name it."""
    from types import SimpleNamespace

    from registry.http.auth import EXTENSION

    app: Flask = make_app(UI_IDENTITY_HEADER="X-Forwarded-User")
    grant = SimpleNamespace(identity="qa-alice", token="alice-secret-1")
    app.extensions[EXTENSION] = SimpleNamespace(
        roles={"approve": (grant,), "read": (SimpleNamespace(identity="r", token="r-secret-12"),)}
    )
    client = app.test_client()
    assert client.get("/ui/").status_code == 303  # read tokens are set
    assert sign_in(client, "alice-secret-1").status_code == 303
    page = check_page(client.get("/ui/").data)
    assert "Signed in as qa-alice" in page.words()
    proxied = {"headers": {"X-Forwarded-User": "qa-alice"}, "environ_base": {"REMOTE_ADDR": "::1"}}
    with app.test_request_context("/ui/", **proxied):
        from registry.http.views.ui import identity

        # its roles, and the write roles no token guards (open to anyone, as in the API)
        assert identity.current().roles == {"approve", "read", "publish", "report", "release"}
        assert identity.open_roles() == {"publish", "report", "release"}
        assert identity.proxy_roles("someone") == {"read"}
