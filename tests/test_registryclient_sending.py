"""send_json (a publish: PUT /fragment): what is retried (by urllib3's Retry, so against a
real server on loopback: tests/scripted_http.py), how long it waits, what is not; what
needs no retry against requests-mock."""

from __future__ import annotations

import json

import pytest
import requests
import requests_mock as rm

from consign.registryclient.sending import RetryPolicy, SendFailed, send_json
from tests.scripted_http import Answer, Drop, ScriptedServer, Stall, Step
from tests.serving import free_port

URL = "http://registry.test:9090/fragment"
PAYLOAD = {"fragment": "eDogMQo=", "applications": ["TLO GE"], "releases": ["Milestone"]}
OK = {
    "versions": [
        {
            "application": "TLO GE",
            "release": "Milestone",
            "version": 1,
            "commit": "a" * 40,
            "created": True,
        }
    ],
    "warnings": [],
}


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def test_first_try_success_sends_json_and_token(requests_mock: rm.Mocker) -> None:
    requests_mock.put(URL, status_code=201, json=OK)
    sleeps = Sleeps()
    result = send_json("PUT", URL, PAYLOAD, token="s3cret", sleep=sleeps)
    assert (result.status, result.attempts, result.body) == (201, 1, OK)
    assert sleeps == []
    sent = requests_mock.request_history[0]
    assert sent.method == "PUT"
    assert sent.headers["Authorization"] == "Bearer s3cret"
    assert sent.headers["Content-Type"] == "application/json"
    assert json.loads(sent.body) == PAYLOAD


def test_no_token_no_authorization_header(requests_mock: rm.Mocker) -> None:
    requests_mock.put(URL, status_code=201, json=OK)
    send_json("PUT", URL, PAYLOAD, token=None)
    assert "Authorization" not in requests_mock.request_history[0].headers


def js(body: object) -> bytes:
    return json.dumps(body).encode()


def test_5xx_retried_with_exponential_backoff() -> None:
    script: list[Step] = [
        Answer(503, js({"error": "store_error", "message": "busy"})),
        Answer(502, b"bad gateway", "text/plain"),
        Answer(500, js({"error": "internal_error", "message": "x"})),
        Answer(200, js(OK)),
    ]
    sleeps = Sleeps()
    warned: list[str] = []
    policy = RetryPolicy(attempts=5, backoff=0.5, max_backoff=30)
    with ScriptedServer(script) as server:
        result = send_json(
            "PUT", server.url + "/fragment", PAYLOAD, policy=policy, sleep=sleeps,
            warn=warned.append,
        )  # fmt: skip
    assert result.status == 200
    assert result.attempts == 4
    assert sleeps == [0.5, 1.0, 2.0]
    assert len(server.received) == 4
    assert "busy" in warned[0] and "502" in warned[1]
    assert warned[0] == "attempt 1/5 failed (503 store_error: busy); retrying in 0.5s"
    bodies = {r.body for r in server.received}
    assert len(bodies) == 1, "a retry must send exactly the same content"
    assert {r.method for r in server.received} == {"PUT"}


def test_backoff_is_capped() -> None:
    policy = RetryPolicy(attempts=10, backoff=1, max_backoff=5)
    assert [policy.delay(n) for n in range(1, 6)] == [1, 2, 4, 5, 5]


def test_connection_errors_and_timeouts_retried() -> None:
    script: list[Step] = [Drop(), Stall(1.5, Answer(201, js(OK))), Answer(201, js(OK))]
    sleeps = Sleeps()
    warned: list[str] = []
    policy = RetryPolicy(backoff=2, timeout=0.5)
    with ScriptedServer(script) as server:
        result = send_json(
            "PUT", server.url + "/x", PAYLOAD, policy=policy, sleep=sleeps, warn=warned.append
        )
    assert result.attempts == 3
    assert sleeps == [2, 4]
    assert "closed without an answer" in warned[0], warned
    assert "no answer within 0.5s" in warned[1], warned


def test_gives_up_after_bounded_attempts() -> None:
    script: list[Step] = [Answer(503, js({"error": "store_error", "message": "disk full"}))]
    sleeps = Sleeps()
    with (
        ScriptedServer(script) as server,
        pytest.raises(SendFailed, match=r"gave up after 3 attempts.*disk full") as caught,
    ):
        send_json(
            "PUT", server.url, PAYLOAD, policy=RetryPolicy(attempts=3, backoff=1), sleep=sleeps
        )
    assert len(server.received) == 3
    assert sleeps == [1, 2]
    assert caught.value.status == 503


def test_an_unreachable_registry_gives_up_in_words() -> None:
    port = free_port()
    sleeps = Sleeps()
    with pytest.raises(SendFailed) as caught:
        send_json(
            "PUT", f"http://127.0.0.1:{port}/fragment", PAYLOAD,
            policy=RetryPolicy(attempts=2, backoff=1), sleep=sleeps,
        )  # fmt: skip
    assert sleeps == [1]
    assert caught.value.message.startswith(
        "gave up after 2 attempts: connection refused (nothing listens there); check the URL"
    )


def test_one_attempt_means_no_retry() -> None:
    sleeps = Sleeps()
    with (
        ScriptedServer([Answer(502, b"bad gateway", "text/plain")]) as server,
        pytest.raises(SendFailed) as caught,
    ):
        send_json("PUT", server.url, PAYLOAD, policy=RetryPolicy(attempts=1), sleep=sleeps)
    assert (len(server.received), sleeps, caught.value.status) == (1, [], 502)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 413, 422, 429])
def test_4xx_never_retried(status: int) -> None:
    body = {"error": "conflict", "message": "service 'plex' is owned by component 'media'"}
    sleeps = Sleeps()
    with (
        ScriptedServer([Answer(status, js(body))]) as server,
        pytest.raises(SendFailed) as caught,
    ):
        send_json("PUT", server.url, PAYLOAD, sleep=sleeps)
    assert len(server.received) == 1
    assert sleeps == []
    assert caught.value.status == status
    assert "service 'plex' is owned by component 'media'" in caught.value.message
    assert "conflict" in caught.value.message


def test_4xx_without_json_shows_the_text(requests_mock: rm.Mocker) -> None:
    requests_mock.put(
        URL, status_code=404, text="<html>nginx: not found</html>", reason="Not Found"
    )
    with pytest.raises(SendFailed, match="404 Not Found: <html>nginx"):
        send_json("PUT", URL, PAYLOAD)


def test_2xx_that_is_not_json_fails(requests_mock: rm.Mocker) -> None:
    requests_mock.put(URL, status_code=200, text="<html>captive portal</html>")
    with pytest.raises(SendFailed, match="not JSON"):
        send_json("PUT", URL, PAYLOAD)


def test_an_answer_cut_off_says_a_repeat_is_safe(requests_mock: rm.Mocker) -> None:
    requests_mock.put(URL, exc=requests.exceptions.ChunkedEncodingError("broken"))
    with pytest.raises(SendFailed, match=r"answer was cut off.*sending it again is safe"):
        send_json("PUT", URL, PAYLOAD, policy=RetryPolicy(attempts=1))
