"""The command line's estimate of a task's time left.

What it promises: the estimate follows the pace of the last couple of minutes, grows
while the percent stands still, ignores when replayed events arrived, and says so when
it has too little to go on.
"""

from __future__ import annotations

import pytest

from meeting_agent.cli.eta import TimeLeft, format_time_left, remaining_seconds
from meeting_agent.cli.task_bar import stage_label


def test_a_steady_pace_gives_the_time_the_rest_takes() -> None:
    samples = [(float(t), t / 10) for t in range(0, 101, 10)]  # 1 % every 10 s

    assert remaining_seconds(samples, now=100.0) == pytest.approx(900.0)


def test_only_the_recent_window_sets_the_pace() -> None:
    # Fast for a minute (decoding), then 1 % per 10 s (transcription) for 5 minutes.
    samples = [(0.0, 0.0), (60.0, 10.0)] + [(60.0 + 10 * i, 10.0 + i) for i in range(1, 31)]

    left = remaining_seconds(samples, now=360.0, window_seconds=120.0)

    assert left == pytest.approx(60 * 10.0, rel=0.05)


def test_a_percent_standing_still_makes_the_estimate_grow() -> None:
    samples = [(0.0, 0.0), (100.0, 50.0)]

    right_after = remaining_seconds(samples, now=100.0)
    later = remaining_seconds(samples, now=150.0)

    assert right_after is not None and later is not None and later > right_after


def test_too_little_history_gives_no_estimate() -> None:
    assert remaining_seconds([], now=10.0) is None
    assert remaining_seconds([(0.0, 10.0)], now=60.0) is None  # no progress yet
    assert remaining_seconds([(0.0, 0.0), (1.0, 5.0)], now=2.0) is None  # 2 s of it
    assert remaining_seconds([(0.0, 0.0), (50.0, 100.0)], now=60.0) == 0.0


def test_replayed_events_count_at_their_own_time() -> None:
    wall = [10_000.0]
    left = TimeLeft(clock=lambda: wall[0])
    # A watch opened late: five minutes of history arrive at once, then a heartbeat.
    for t in range(0, 301, 30):
        left.observe(9_690.0 + t, t / 10, running=True)
    left.observe(9_995.0, 30.0, running=True)  # the heartbeat, 5 s old as it arrives

    seconds = left.seconds()

    # 1 % per 10 s: 70 % take about 700 s, not the instant a burst would suggest.
    assert seconds is not None and 600 < seconds < 900


def test_waiting_in_the_queue_starts_the_estimate_afresh() -> None:
    wall = [1_000.0]
    left = TimeLeft(clock=lambda: wall[0])
    left.observe(900.0, 0.0, running=True)
    left.observe(990.0, 40.0, running=True)
    left.observe(1_000.0, 40.0, running=False)  # handed back to the queue

    assert left.seconds() is None
    assert left.describe() == "estimating time left"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "estimating time left"),
        (0.0, "~5 s left"),
        (41.0, "~45 s left"),
        (150.0, "~2 min left"),
        (3599.0, "~1 h 00 min left"),
        (3600 + 5 * 60 + 10, "~1 h 05 min left"),
    ],
)
def test_time_left_reads_plainly(seconds: float | None, text: str) -> None:
    assert format_time_left(seconds) == text


@pytest.mark.parametrize(
    ("stage", "state", "label"),
    [
        ("TASK_STAGE_GENERATE_MINUTES", "TASK_STATE_RUNNING", "generate minutes"),
        ("diarize", "running", "diarize"),
        ("TASK_STAGE_UNSPECIFIED", "TASK_STATE_QUEUED", "queued"),
    ],
)
def test_the_bar_names_the_stage(stage: str, state: str, label: str) -> None:
    assert stage_label(stage, state) == label
