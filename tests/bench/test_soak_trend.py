"""The soak benchmark's pure helpers: the RSS trend and its "flat" verdict, the /proc reads."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bench.soak import children, growth_is_small, lifetimes, log_errors, rss_mb, rss_trend


def test_a_steady_leak_shows_as_slope_and_growth() -> None:
    series = [(t * 3.0, 100.0 + 0.5 * t) for t in range(200)]  # +0.5 MB per 3 s sample
    trend = rss_trend(series)
    assert trend["slope_mb_per_min"] == pytest.approx(10.0)
    assert trend["start_mb"] == pytest.approx(100.0)
    assert trend["end_mb"] == pytest.approx(199.5)
    assert trend["growth_mb"] == pytest.approx(99.5)
    assert trend["noise_mb"] == pytest.approx(0.0, abs=1e-9)
    assert not growth_is_small(trend)


def test_noise_around_a_flat_line_is_flat() -> None:
    wobble = [0.0, 3.0, -2.0, 1.0, -3.0, 2.0]
    series = [(t * 3.0, 80.0 + wobble[t % len(wobble)]) for t in range(200)]
    trend = rss_trend(series)
    assert abs(trend["growth_mb"]) < 1.0
    assert trend["noise_mb"] > 1.0
    assert trend["first_sample_mb"] == 80.0 and trend["last_sample_mb"] == 83.0
    assert growth_is_small(trend)


def test_a_small_step_is_judged_against_the_start() -> None:
    """Growth of 4 MB on 300 MB is small (the 5 MB floor); 40 MB is not (over 10 %)."""
    small = rss_trend([(0, 300.0), (60, 302.0), (120, 304.0)])
    large = rss_trend([(0, 300.0), (60, 320.0), (120, 340.0)])
    assert growth_is_small(small) and not growth_is_small(large)


@pytest.mark.parametrize("series", [[], [(0, 1.0), (1, 2.0)], [(5, 1.0), (5, 2.0), (5, 3.0)]])
def test_a_trend_needs_three_samples_at_different_times(series: list[tuple[float, float]]) -> None:
    with pytest.raises(ValueError, match="an RSS trend needs"):
        rss_trend(series)


def test_children_and_rss_read_from_proc() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert child.pid in children(os.getpid())
        mb = rss_mb(os.getpid())  # this Python process: tens of MB
        assert mb is not None and 5 < mb < 5000
    finally:
        child.kill()
        child.wait()
    assert child.pid not in children(os.getpid())
    assert rss_mb(child.pid) is None


def test_worker_lifetimes_report_growth_within_each_life() -> None:
    per_worker = {
        10: [(0.0, 50.0), (30.0, 52.0), (60.0, 55.0)],  # lived 60 s, grew 5 MB
        11: [(0.0, 50.0), (90.0, 51.0)],  # lived 90 s, grew 1 MB
        12: [(90.0, 40.0)],  # one sample: no life to speak of
    }
    found = lifetimes(per_worker)
    assert found == {
        "workers": 2,
        "longest_life_s": 90.0,
        "median_life_s": 75.0,
        "growth_mb_median": 3.0,
        "growth_mb_max": 5.0,
        "rss_mb_at_end_of_life_max": 55.0,
    }
    assert lifetimes({}) == {"workers": 0}


def test_log_errors_keep_the_apps_errors_with_their_exception() -> None:
    text = "\n".join(
        [
            "[2026-12-02 01:26:45 +0000] [685] [ERROR] Worker (pid:1077) was sent SIGKILL!",
            "2026-12-02 01:16:20,691 ERROR registry: GET /x failed: tag T/1 does not name a commit",
            "Traceback (most recent call last):",
            '  File "registry/store/reader.py", line 56, in _make',
            "registry.errors.StoreError: tag T/1 does not name a commit",
            "[2026-12-02 01:26:46 +0000] [685] [INFO] Booting worker with pid: 9",
            "2026-12-02 01:16:21,000 WARNING registry: something else",
        ]
    )
    [entry] = log_errors(text)
    assert entry.startswith("2026-12-02 01:16:20,691 ERROR registry: GET /x failed")
    assert entry.endswith("StoreError: tag T/1 does not name a commit")
    assert "Booting" not in entry and "SIGKILL" not in entry
