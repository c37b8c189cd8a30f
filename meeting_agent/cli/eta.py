"""How long a running task has left, from how fast its percent grew lately.

Times are the events' own (the server's clock), not when they arrived: a watch that
starts late replays the history in a burst, and that burst says nothing of the pace.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Sequence

__all__ = ["TimeLeft", "format_time_left", "remaining_seconds"]

# Long enough to smooth over a stage that moves in steps, short enough to follow a
# change of pace between stages within a couple of minutes.
WINDOW_SECONDS = 120.0
# Less than this much history gives a rate that is mostly noise.
MIN_ELAPSED_SECONDS = 5.0


def remaining_seconds(
    samples: Sequence[tuple[float, float]],
    now: float,
    *,
    window_seconds: float = WINDOW_SECONDS,
    min_elapsed_seconds: float = MIN_ELAPSED_SECONDS,
) -> float | None:
    """Seconds until 100 % at the pace of the last `window_seconds`, or None when
    there is too little to go on.

    `samples` are `(time, percent)`, oldest first, each the first time a percent was
    seen. The pace is measured up to `now` rather than to the last sample, so while
    the percent stands still the estimate grows instead of counting down to a lie.
    """
    if not samples:
        return None
    last_percent = samples[-1][1]
    if last_percent >= 100:
        return 0.0
    anchor = samples[0]
    for sample in samples:
        if sample[0] > now - window_seconds:
            break
        anchor = sample
    elapsed = now - anchor[0]
    gained = last_percent - anchor[1]
    if elapsed < min_elapsed_seconds or gained <= 0:
        return None
    return (100 - last_percent) * elapsed / gained


def format_time_left(seconds: float | None) -> str:
    """`~40 s left`, `~12 min left`, `~1 h 05 min left`; None says it is estimating."""
    if seconds is None:
        return "estimating time left"
    if seconds < 60:
        return f"~{max(5, math.ceil(seconds / 5) * 5)} s left"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"~{minutes} min left"
    hours, minutes = divmod(minutes, 60)
    return f"~{hours} h {minutes:02d} min left"


class TimeLeft:
    """Follows one task's events and estimates its time left at any moment."""

    def __init__(
        self, *, clock: Callable[[], float] = time.time, window_seconds: float = WINDOW_SECONDS
    ) -> None:
        self._clock = clock
        self._window = window_seconds
        self._samples: deque[tuple[float, float]] = deque()
        # How far our clock is ahead of the server's: the smallest gap seen between an
        # event's arrival and its time, as the freshest events (heartbeats) give it.
        self._offset = math.inf

    def observe(self, event_time: float, percent: float, *, running: bool) -> None:
        """An event (or heartbeat) at `event_time`, seconds since the epoch."""
        self._offset = min(self._offset, self._clock() - event_time)
        if not running:
            # Waiting in the queue is no pace of work; the next attempt starts afresh.
            self._samples.clear()
            return
        if self._samples and percent <= self._samples[-1][1]:
            return
        self._samples.append((event_time, percent))
        # Keep one sample from before the window: the percent it held at the window's
        # start.
        while len(self._samples) > 2 and self._samples[1][0] <= event_time - self._window:
            self._samples.popleft()

    def seconds(self) -> float | None:
        if math.isinf(self._offset):
            return None
        return remaining_seconds(
            list(self._samples), self._clock() - self._offset, window_seconds=self._window
        )

    def describe(self) -> str:
        return format_time_left(self.seconds())
