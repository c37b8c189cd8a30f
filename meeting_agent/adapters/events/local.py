"""`EventBus` inside one process: the embedded default, where jobs run on server threads.

Jobs publish from worker threads; the watch hub listens on the grpc.aio event loop. Each
stream therefore belongs to the loop that created it, and `publish` hands it events
through `loop.call_soon_threadsafe`, never touching its queue directly.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import threading

from meeting_agent.domain.models import TaskEvent
from meeting_agent.ports import EVENT_GAP, EventGap

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
        self._max_pending = max_pending
        # Touched only on the loop's thread, so it needs no lock.
        self._pending: collections.deque[TaskEvent | EventGap] = collections.deque()
        self._arrived = asyncio.Event()
        self._closed = False
        self.dropped_events = 0

    @property
    def closed(self) -> bool:
        return self._closed

    async def next(self, timeout: float) -> TaskEvent | EventGap | None:
        if not self._pending and not self._closed:
            self._arrived.clear()
            try:
                async with asyncio.timeout(timeout):
                    await self._arrived.wait()
            except TimeoutError:
                return None
        if self._closed or not self._pending:
            return None
        return self._pending.popleft()

    async def close(self) -> None:
        """Stop receiving; idempotent. Wakes a `next` that is waiting."""
        self._closed = True
        self._bus._unregister(self)
        self._pending.clear()
        self._arrived.set()

    def _deliver(self, event: TaskEvent) -> None:
        """Called by `publish` on any thread."""
        try:
            self._loop.call_soon_threadsafe(self._push, event)
        except RuntimeError:
            # The loop is closed: its listener is gone without closing the stream.
            self._closed = True
            self._bus._unregister(self)

    def _push(self, event: TaskEvent) -> None:
        """Runs on the stream's loop."""
        if self._closed:
            return
        if len(self._pending) >= self._max_pending:
            # Replace the backlog with one gap: the listener re-reads the store anyway.
            self.dropped_events += len(self._pending)
            self._pending.clear()
            self._pending.append(EVENT_GAP)
            logger.info("the event listener fell behind; it re-reads the stored events")
        self._pending.append(event)
        self._arrived.set()


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
