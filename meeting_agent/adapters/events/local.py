"""`EventBus` inside one process: the embedded default, where jobs run on server threads.

Jobs publish from worker threads; the watch hub listens on the grpc.aio event loop. Each
stream therefore belongs to the loop that created it, and `publish` hands it events
through `loop.call_soon_threadsafe`, never touching its queue directly.
"""

from __future__ import annotations

import asyncio
import logging
import threading

from meeting_agent.adapters.events.pending import PendingEvents
from meeting_agent.domain.models import TaskEvent
from meeting_agent.ports import EventGap

__all__ = ["DEFAULT_MAX_PENDING", "InProcessEventBus", "InProcessEventStream"]

logger = logging.getLogger(__name__)

# Events a slow listener may fall behind by. Beyond that the oldest are dropped and the
# listener is told so (`EVENT_GAP`), so it re-reads the store instead.
DEFAULT_MAX_PENDING = 4096


class InProcessEventStream:
    """Every task's events, for the asyncio loop that called `listen`.

    `next` and `close` must be awaited on that loop.
    """

    def __init__(
        self, bus: InProcessEventBus, loop: asyncio.AbstractEventLoop, max_pending: int
    ) -> None:
        self._bus = bus
        self._loop = loop
        self._pending = PendingEvents(max_pending)

    @property
    def closed(self) -> bool:
        return self._pending.closed

    @property
    def dropped_events(self) -> int:
        return self._pending.dropped

    async def next(self, timeout: float) -> TaskEvent | EventGap | None:
        return await self._pending.next(timeout)

    async def close(self) -> None:
        """Stop receiving; idempotent. Wakes a `next` that is waiting."""
        self._pending.close()
        self._bus._unregister(self)

    def _deliver(self, event: TaskEvent) -> None:
        """Called by `publish` on any thread."""
        try:
            self._loop.call_soon_threadsafe(self._pending.push, event)
        except RuntimeError:
            # The loop is closed: its listener is gone without closing the stream.
            self._pending.close()
            self._bus._unregister(self)


class InProcessEventBus:
    """Fans events out to the listeners of this process. Thread-safe."""

    def __init__(self, *, max_pending: int = DEFAULT_MAX_PENDING) -> None:
        if max_pending < 1:
            raise ValueError(f"max_pending must be positive, got {max_pending}")
        self._max_pending = max_pending
        self._lock = threading.Lock()
        self._streams: set[InProcessEventStream] = set()

    def publish(self, event: TaskEvent) -> None:
        """Deliver to every listener; never blocks and never raises."""
        with self._lock:
            streams = list(self._streams)
        for stream in streams:
            try:
                stream._deliver(event)
            except Exception:  # best effort: the stored event is the truth
                logger.exception("could not deliver an event of task %s", event.task_id)

    def listen(self) -> InProcessEventStream:
        """Raises `RuntimeError` when called outside a running loop."""
        stream = InProcessEventStream(self, asyncio.get_running_loop(), self._max_pending)
        with self._lock:
            self._streams.add(stream)
        return stream

    def listener_count(self) -> int:
        """Open streams (for tests)."""
        with self._lock:
            return len(self._streams)

    def close(self) -> None:
        """Nothing to release; present so that every bus can be closed alike."""

    def _unregister(self, stream: InProcessEventStream) -> None:
        with self._lock:
            self._streams.discard(stream)
