"""`EventBus` inside one process: the embedded default, where jobs run on server threads.

Jobs publish from worker threads; watchers (`WatchTask`) wait on the grpc.aio event
loop. Each subscription therefore belongs to the loop that created it, and `publish`
hands it events through `loop.call_soon_threadsafe`, never touching its queue directly.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import threading

from meeting_agent.domain.models import TaskEvent

__all__ = ["DEFAULT_MAX_PENDING", "InProcessEventBus", "InProcessSubscription"]

logger = logging.getLogger(__name__)

# Events a slow watcher may fall behind by before the oldest are dropped. Dropping is
# safe: a watcher that sees a gap in the sequence re-reads the stored events.
DEFAULT_MAX_PENDING = 256


class InProcessSubscription:
    """Live events of one task, for the asyncio loop that subscribed.

    `next` and `close` must be awaited on that loop. When more than `max_pending` events
    wait unread, the oldest are dropped and counted in `dropped_events`.
    """

    def __init__(self, bus: InProcessEventBus, task_id: str, loop: asyncio.AbstractEventLoop,
                 max_pending: int) -> None:
        self.task_id = task_id
        self._bus = bus
        self._loop = loop
        self._max_pending = max_pending
        # Touched only on the loop's thread, so it needs no lock.
        self._pending: collections.deque[TaskEvent] = collections.deque()
        self._arrived = asyncio.Event()
        self._closed = False
        self.dropped_events = 0

    @property
    def closed(self) -> bool:
        return self._closed

    async def next(self, timeout: float) -> TaskEvent | None:
        """The next event, or None after `timeout` seconds without one (or once closed)."""
        if not self._pending and not self._closed:
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), timeout)
            except TimeoutError:
                return None
        if self._closed or not self._pending:
            return None
        return self._pending.popleft()

    async def close(self) -> None:
        """Unregister; events published afterwards are not delivered. Idempotent."""
        self._close()

    def _close(self) -> None:
        self._closed = True
        self._bus._unregister(self)
        self._pending.clear()
        self._arrived.set()  # wake a `next` that is waiting

    def _deliver(self, event: TaskEvent) -> None:
        """Called by `publish` on any thread."""
        try:
            self._loop.call_soon_threadsafe(self._push, event)
        except RuntimeError:
            # The loop is closed: its watcher is gone without closing the subscription.
            self._closed = True
            self._bus._unregister(self)

    def _push(self, event: TaskEvent) -> None:
        """Runs on the subscription's loop."""
        if self._closed:
            return
        if len(self._pending) >= self._max_pending:
            self._pending.popleft()
            self.dropped_events += 1
            if self.dropped_events == 1:
                logger.info("watcher of task %s falls behind; dropping its oldest events",
                            self.task_id)
        self._pending.append(event)
        self._arrived.set()


class InProcessEventBus:
    """Fans events out to the subscriptions of this process. Thread-safe."""

    def __init__(self, *, max_pending: int = DEFAULT_MAX_PENDING) -> None:
        if max_pending < 1:
            raise ValueError(f"max_pending must be positive, got {max_pending}")
        self._max_pending = max_pending
        self._lock = threading.Lock()
        self._subscriptions: dict[str, set[InProcessSubscription]] = {}

    def publish(self, event: TaskEvent) -> None:
        """Deliver to every subscriber of the task; never blocks and never raises."""
        with self._lock:
            subscribers = list(self._subscriptions.get(event.task_id, ()))
        for subscription in subscribers:
            try:
                subscription._deliver(event)
            except Exception:  # best effort: the stored event is the truth
                logger.exception("could not deliver an event of task %s", event.task_id)

    def subscribe(self, task_id: str) -> InProcessSubscription:
        """Subscribe for the running asyncio loop; events published from now on arrive.

        Raises `RuntimeError` when called outside a running loop.
        """
        loop = asyncio.get_running_loop()
        subscription = InProcessSubscription(self, task_id, loop, self._max_pending)
        with self._lock:
            self._subscriptions.setdefault(task_id, set()).add(subscription)
        return subscription

    def subscriber_count(self, task_id: str | None = None) -> int:
        """Open subscriptions, of one task or of all (for metrics and tests)."""
        with self._lock:
            if task_id is not None:
                return len(self._subscriptions.get(task_id, ()))
            return sum(len(subscriptions) for subscriptions in self._subscriptions.values())

    def close(self) -> None:
        """Nothing to release; present so that every bus can be closed alike."""

    def _unregister(self, subscription: InProcessSubscription) -> None:
        with self._lock:
            subscriptions = self._subscriptions.get(subscription.task_id)
            if subscriptions is None:
                return
            subscriptions.discard(subscription)
            if not subscriptions:
                del self._subscriptions[subscription.task_id]
