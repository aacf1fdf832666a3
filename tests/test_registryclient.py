"""The one registry client (consign/registryclient.py): the token, the CA file against
REQUESTS_CA_BUNDLE, the base URL, error reading (requests-mock), and its urllib3 retry
rules against a real HTTP server on loopback (requests-mock bypasses the adapter that
retries)."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import click
import pytest
import requests
import requests_mock as rm

from consign.errors import RegistryNotReached, RegistryUnreachable
from consign.exit_codes import ExitCode
from consign.registryclient import (
    RegistryClient,
    answer_body,
    answer_message,
    error_message,
    every_method,
    idempotent_reads,
)
from tests.serving import free_port

URL = "http://registry.test:9090"


def test_token_accept_and_agent_are_sent(requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{URL}/api/applications", json={"applications": []})
    client = RegistryClient(URL + "/", "s3cret", agent="consign-test/1")
    assert client.base == URL
    client.get(client.url("applications"))
    sent = requests_mock.last_request
    assert sent.headers["Authorization"] == "Bearer s3cret"
    assert sent.headers["Accept"] == "application/json"
    assert sent.headers["User-Agent"] == "consign-test/1"


def test_no_token_no_authorization(requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{URL}/api/x", json={})
    RegistryClient(URL, "").get("api/x")
    assert "Authorization" not in requests_mock.last_request.headers


def test_the_ca_file_wins_over_requests_ca_bundle(
    requests_mock: rm.Mocker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/other-ca.pem")
    requests_mock.get(f"{URL}/api/x", json={})
    RegistryClient(URL, ca_file="/etc/registry-ca.pem").get("api/x")
    assert requests_mock.last_request.verify == "/etc/registry-ca.pem"
    RegistryClient(URL).get("api/x")  # no CA file: the environment's trust
    assert requests_mock.last_request.verify == "/etc/other-ca.pem"


def test_path_parts_are_quoted() -> None:
    client = RegistryClient(URL)
    assert client.url("environments", "qa 1/x", "lock") == f"{URL}/api/environments/qa%201%2Fx/lock"
    url = client.url("A B", "r", "1", under="descriptor/application")
    assert url == f"{URL}/descriptor/application/A%20B/r/1"


@pytest.mark.parametrize("bad", ["registry:9090", "ftp://registry", "http://", "http://h/?q=1"])
def test_a_url_that_is_no_registry_base_is_a_usage_error(bad: str) -> None:
    with pytest.raises(click.UsageError, match="CONSIGN_REGISTRY"):
        RegistryClient(bad)


def test_a_refused_connection_is_one_line_naming_the_url(requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{URL}/api/x", exc=requests.ConnectionError("refused"))
    with pytest.raises(RegistryNotReached) as caught:
        RegistryClient(URL).get("api/x")
    error = caught.value
    assert (
        isinstance(error, RegistryUnreachable) and error.exit_code == ExitCode.REGISTRY_UNREACHABLE
    )
    assert error.transient and isinstance(error.cause, requests.ConnectionError)
    assert str(error).startswith(f"cannot reach the registry at {URL}: ")
    assert "check the URL (--registry, CONSIGN_REGISTRY)" in str(error)
    assert "\n" not in str(error)


def test_an_untrusted_certificate_is_final_and_names_the_ca_file(requests_mock: rm.Mocker) -> None:
    requests_mock.get(
        "https://registry.test/api/x",
        exc=requests.exceptions.SSLError("CERTIFICATE_VERIFY_FAILED"),
    )
    with pytest.raises(RegistryNotReached) as caught:
        RegistryClient("https://registry.test").get("api/x")
    assert not caught.value.transient
    assert "TLS verification failed" in str(caught.value) and "--ca-file" in str(caught.value)


def test_a_timeout_says_how_long_it_waited(requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{URL}/api/x", exc=requests.exceptions.ReadTimeout("slow"))
    with pytest.raises(RegistryNotReached, match=r"no answer within 7s") as caught:
        RegistryClient(URL, timeout=(1.0, 7.0)).get("api/x")
    assert caught.value.transient


def test_a_missing_ca_file_is_said_in_one_line() -> None:
    client = RegistryClient("https://127.0.0.1:1", ca_file="/nonexistent/ca.pem")
    with pytest.raises(RegistryNotReached, match=r"/nonexistent/ca\.pem") as caught:
        client.get("api/x")
    assert not caught.value.transient and "--ca-file" in str(caught.value)


def test_error_answers_are_read(requests_mock: rm.Mocker) -> None:
    client = RegistryClient(URL)
    requests_mock.get(
        f"{URL}/api/a", status_code=409, json={"error": "conflict", "message": "it  moved\n on"}
    )
    requests_mock.get(f"{URL}/api/b", status_code=502, text="<html>Bad gateway</html>")
    requests_mock.get(f"{URL}/api/c", status_code=404, json=["not", "an", "object"])
    a, b, c = (client.get(f"api/{n}") for n in "abc")
    assert error_message(a) == "409 conflict: it  moved\n on"
    assert answer_message(a) == "it moved on"
    assert answer_body(a) == {"error": "conflict", "message": "it  moved\n on"}
    assert error_message(b) == "502 None: <html>Bad gateway</html>"
    assert answer_message(b) == "<html>Bad gateway</html>"
    assert answer_body(b) == {} and answer_body(c) == {}


class Flaky(http.server.BaseHTTPRequestHandler):
    """Answers 503 to the first ``failures`` requests, then 200; counts them."""

    failures = 0
    seen: list[str] = []

    def _answer(self) -> None:
        type(self).seen.append(self.command)
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        failing = len(type(self).seen) <= type(self).failures
        body = b'{"error": "busy", "message": "try later"}' if failing else b'{"ok": true}'
        self.send_response(503 if failing else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def flaky() -> Iterator[tuple[str, type[Flaky]]]:
    handler = type("FlakyNow", (Flaky,), {"seen": [], "failures": 2})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def test_reads_are_retried_on_503(flaky: tuple[str, type[Flaky]]) -> None:
    url, handler = flaky
    answer = RegistryClient(url, retry=idempotent_reads(3, 0.01)).get("api/x")
    assert answer.status_code == 200 and handler.seen == ["GET"] * 3


def test_a_post_is_not_retried_by_the_read_rules(flaky: tuple[str, type[Flaky]]) -> None:
    url, handler = flaky
    answer = RegistryClient(url, retry=idempotent_reads(3, 0.01)).request("POST", "api/x", json={})
    assert answer.status_code == 503 and handler.seen == ["POST"]
    assert error_message(answer) == "503 busy: try later"


def test_every_method_rules_retry_a_post(flaky: tuple[str, type[Flaky]]) -> None:
    url, handler = flaky
    client = RegistryClient(url, retry=every_method(3, 0.01))
    assert client.request("POST", "api/x", json={}).status_code == 200
    assert handler.seen == ["POST"] * 3


def test_retries_are_bounded_then_the_last_answer_is_returned(
    flaky: tuple[str, type[Flaky]],
) -> None:
    url, handler = flaky
    handler.failures = 10
    answer = RegistryClient(url, retry=idempotent_reads(1, 0.01)).get("api/x")
    assert answer.status_code == 503 and len(handler.seen) == 2


def test_without_retry_one_request_is_one_try(flaky: tuple[str, type[Flaky]]) -> None:
    url, handler = flaky
    assert RegistryClient.without_retry(url).get("api/x").status_code == 503
    assert handler.seen == ["GET"]


def test_urllib3_retries_are_not_logged_in_its_words(caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()
    with caplog.at_level("WARNING"), pytest.raises(RegistryNotReached):
        RegistryClient(f"http://127.0.0.1:{port}", retry=idempotent_reads(2, 0.01)).get("api/x")
    assert not [r for r in caplog.records if r.name.startswith("urllib3")], caplog.text
