"""Task events: the bus that carries them from the job recording them to watchers on any
replica, and the stream a server reads them from. Ports are what the services need
from infrastructure; `meeting_agent.adapters.events` implements these in process or
over Redis.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from meeting_agent.domain.models import TaskEvent


class EventBus(Protocol):
    """Carries task events from the job that records them to watchers on any replica."""

    def publish(self, event: TaskEvent) -> None:
        """Best effort, after the event is stored: watchers fall back to the store."""
        ...

    def listen(self) -> EventStream:
        """Every task's events from now on, for the running asyncio loop (one per server:
        the watch hub fans them out to its streams)."""
        ...


@dataclass(frozen=True)
class EventGap:
    """Events may have been lost here (a reconnection, a reader that fell behind): a
    listener re-reads the store for every task it follows."""


EVENT_GAP = EventGap()


class EventStream(Protocol):
    """Live events of every task. Async: a server's watchers must not hold threads."""

    async def next(self, timeout: float) -> TaskEvent | EventGap | None:
        """The next event, `EVENT_GAP`, or None after `timeout` seconds without either.

        Never raises for an outage of the bus: it waits, reconnects and reports a gap.
        """
        ...

    async def close(self) -> None: ...
