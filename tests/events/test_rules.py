"""The delivery rules on recorded results, with an injected clock (registry/events/rules.py)."""

from __future__ import annotations

from registry.events.catalog import Event
from registry.events.rules import Job, LaneQueue, Result, RetryRules, SeenIds, Settlement

RULES = RetryRules(retry_for=60.0, first_delay=1.0, max_delay=8.0)


def job(queued: float = 1000.0, event_id: str = "e1") -> Job:
    return Job(Event("version.published", "A/R/1", {"version": 1}, id=event_id), queued)


def test_2xx_is_delivered_and_counts_the_attempt() -> None:
    settlement, done = RULES.settle(job(), Result(status=204), now=1000.5)
    assert settlement is Settlement.DELIVERED and settlement.final
    assert done.attempts == 1 and done.last == "HTTP 204"


def test_5xx_timeouts_and_connection_errors_back_off_doubling_up_to_the_cap() -> None:
    current, now, waits = job(), 1000.0, []
    for result in [Result(status=500), Result(error="timeout: no answer"), Result(status=503)] * 2:
        settlement, current = RULES.settle(current, result, now)
        assert settlement is Settlement.RETRY
        waits.append(current.next_at - now)
        now = current.next_at
    assert waits == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert current.attempts == 6 and current.last == "HTTP 503"


def test_given_up_once_the_next_attempt_would_pass_retry_for() -> None:
    current = job(queued=0.0)
    settlement, current = RULES.settle(current, Result(status=502), now=50.0)
    assert settlement is Settlement.RETRY and current.next_at == 51.0
    settlement, current = RULES.settle(current, Result(status=502), now=55.0)
    assert settlement is Settlement.RETRY and current.next_at == 57.0
    settlement, current = RULES.settle(current, Result(status=502), now=57.0)
    assert settlement is Settlement.GAVE_UP and settlement.final  # 57 + 4 > 60
    assert current.attempts == 3


def test_4xx_and_redirects_are_refused_at_once_but_408_and_429_are_retried() -> None:
    for status in (400, 401, 403, 404, 410, 301, 302):
        assert RULES.settle(job(), Result(status=status), 1000.0)[0] is Settlement.REFUSED
    for status in (408, 429):
        assert RULES.settle(job(), Result(status=status), 1000.0)[0] is Settlement.RETRY


def test_retry_after_is_honoured_within_the_cap() -> None:
    _, later = RULES.settle(job(), Result(status=429, retry_after=5.0), 1000.0)
    assert later.next_at == 1005.0
    _, capped = RULES.settle(job(), Result(status=503, retry_after=3600.0), 1000.0)
    assert capped.next_at == 1008.0


def test_a_forbidden_address_is_refused_not_retried() -> None:
    result = Result(error="refused: 10.0.0.1 is private", refused=True)
    assert RULES.settle(job(), result, 1000.0)[0] is Settlement.REFUSED


def test_a_queue_takes_each_event_once_and_serves_the_due_one_in_order() -> None:
    queue = LaneQueue()
    assert queue.add("001-a.json", job(event_id="a"))
    assert queue.add("002-b.json", job(event_id="b"))
    assert not queue.add("001-a.json", job(event_id="a"))  # the outbox entry read again
    assert queue.due(1000.0) == ("001-a.json", queue.jobs["001-a.json"])
    settlement, retried = RULES.settle(queue.jobs["001-a.json"], Result(status=500), 1000.0)
    queue.settle("001-a.json", settlement, retried)
    assert queue.due(1000.0) is not None and queue.due(1000.0)[0] == "002-b.json"  # type: ignore[index]
    queue.settle("002-b.json", Settlement.DELIVERED, queue.jobs["002-b.json"])
    assert queue.due(1000.0) is None and queue.wait(1000.0, 30.0) == 1.0
    assert not queue.add("003-b.json", job(event_id="b"))  # delivered already: not again


def test_seen_ids_are_bounded_oldest_out() -> None:
    seen = SeenIds(limit=2)
    assert seen.add("a") and seen.add("b") and seen.add("c")
    assert seen.add("a")  # forgotten: the oldest went out
    assert not seen.add("c")


def test_a_job_round_trips_through_its_file_form() -> None:
    _, retried = RULES.settle(job(), Result(status=500), 1000.0)
    assert Job.from_json(retried.to_json()) == retried
