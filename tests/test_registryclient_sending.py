"""send_json (a publish: PUT /fragment) against requests-mock: what is retried, how long
it waits, what is not."""

from __future__ import annotations

import json

import pytest
import requests
import requests_mock as rm

from consign.registryclient.sending import RetryPolicy, SendFailed, send_json

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


def test_5xx_retried_with_exponential_backoff(requests_mock: rm.Mocker) -> None:
    requests_mock.put(
        URL,
        [
            {"status_code": 503, "json": {"error": "store_error", "message": "busy"}},
            {"status_code": 502, "text": "bad gateway"},
            {"status_code": 500, "json": {"error": "internal_error", "message": "x"}},
            {"status_code": 200, "json": OK},
        ],
    )
    sleeps = Sleeps()
    warned: list[str] = []
    policy = RetryPolicy(attempts=5, backoff=0.5, max_backoff=30)
    result = send_json("PUT", URL, PAYLOAD, policy=policy, sleep=sleeps, warn=warned.append)
    assert result.status == 200
    assert result.attempts == 4
    assert sleeps == [0.5, 1.0, 2.0]
    assert requests_mock.call_count == 4
    assert "busy" in warned[0] and "502" in warned[1]
    bodies = {h.body for h in requests_mock.request_history}
    assert len(bodies) == 1, "a retry must send exactly the same content"


def test_backoff_is_capped() -> None:
    policy = RetryPolicy(attempts=10, backoff=1, max_backoff=5)
    assert [policy.delay(n) for n in range(1, 6)] == [1, 2, 4, 5, 5]


def test_connection_errors_and_timeouts_retried(requests_mock: rm.Mocker) -> None:
    requests_mock.put(
        URL,
        [
            {"exc": requests.exceptions.ConnectionError("refused")},
            {"exc": requests.exceptions.ReadTimeout("slow")},
            {"status_code": 201, "json": OK},
        ],
    )
    sleeps = Sleeps()
    result = send_json("PUT", URL, PAYLOAD, policy=RetryPolicy(backoff=2), sleep=sleeps)
    assert result.attempts == 3
    assert sleeps == [2, 4]


def test_gives_up_after_bounded_attempts(requests_mock: rm.Mocker) -> None:
    requests_mock.put(URL, status_code=503, json={"error": "store_error", "message": "disk full"})
    sleeps = Sleeps()
    with pytest.raises(SendFailed, match=r"gave up after 3 attempts.*disk full"):
        send_json("PUT", URL, PAYLOAD, policy=RetryPolicy(attempts=3, backoff=1), sleep=sleeps)
    assert requests_mock.call_count == 3
    assert sleeps == [1, 2]


def test_one_attempt_means_no_retry(requests_mock: rm.Mocker) -> None:
    requests_mock.put(URL, status_code=502, text="bad gateway")
    sleeps = Sleeps()
    with pytest.raises(SendFailed) as caught:
        send_json("PUT", URL, PAYLOAD, policy=RetryPolicy(attempts=1), sleep=sleeps)
    assert (requests_mock.call_count, sleeps, caught.value.status) == (1, [], 502)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 413, 422, 429])
def test_4xx_never_retried(requests_mock: rm.Mocker, status: int) -> None:
    body = {"error": "conflict", "message": "service 'plex' is owned by component 'media'"}
    requests_mock.put(URL, status_code=status, json=body)
    sleeps = Sleeps()
    with pytest.raises(SendFailed) as caught:
        send_json("PUT", URL, PAYLOAD, sleep=sleeps)
    assert requests_mock.call_count == 1
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
