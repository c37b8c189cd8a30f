"""The bounded buffer between an event stream's receiver and its listener."""

from __future__ import annotations

import asyncio
import collections
import logging

from meeting_agent.domain.models import TaskEvent
from meeting_agent.ports import EVENT_GAP, EventGap

__all__ = ["PendingEvents"]

logger = logging.getLogger(__name__)


class PendingEvents:
    """What a stream received and its listener has not read yet.

    Past `limit` items the backlog is replaced by one `EVENT_GAP`: a listener that fell
    that far behind re-reads the stored events anyway. Touched only on the thread of the
    asyncio loop that reads it, so it needs no lock.
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._items: collections.deque[TaskEvent | EventGap] = collections.deque()
        self._arrived = asyncio.Event()
        self.closed = False
        self.dropped = 0

    def push(self, item: TaskEvent | EventGap) -> None:
        if self.closed:
            return
        if len(self._items) >= self._limit:
            self.dropped += len(self._items)
            self._items.clear()
            self._items.append(EVENT_GAP)
            logger.info("the event listener fell behind; it re-reads the stored events")
            if isinstance(item, EventGap):
                self._arrived.set()
                return
        self._items.append(item)
        self._arrived.set()

    async def next(self, timeout: float) -> TaskEvent | EventGap | None:
        """The oldest item, or None once closed or after `timeout` seconds with none."""
        if not self._items and not self.closed:
            self._arrived.clear()
            try:
                async with asyncio.timeout(timeout):
                    await self._arrived.wait()
            except TimeoutError:
                return None
        if self.closed or not self._items:
            return None
        return self._items.popleft()

    def close(self) -> None:
        """Drop what is unread and wake a `next` that is waiting."""
        self.closed = True
        self._items.clear()
        self._arrived.set()
