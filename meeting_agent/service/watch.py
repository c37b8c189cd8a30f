"""Following tasks for many watchers at once: one reader per task per server.

Every `WatchTask` stream of a server shares one `TaskWatchHub`. For each task that has
watchers here, the hub keeps the task as last read and its most recent events, and wakes
the task's streams when an event arrives; a thousand watchers of one meeting cost one
store read per event, or none at all when the bus carries the event itself.

The store stays the source of truth. A stream replays what it missed from the store
(from any sequence, as before), the hub reads the store again whenever the bus may have
lost something (a gap the bus reports, an event out of sequence, a periodic safety poll),
and a terminal event always comes from a store read, together with the task it ends, in
one snapshot.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from meeting_agent.domain.models import Principal, Task, TaskEvent, TaskEventType
from meeting_agent.errors import NotFound
from meeting_agent.ports import EventBus, EventGap, EventStream, UnitOfWorkFactory
from meeting_agent.service.offload import Offload

_LOGGER = logging.getLogger(__name__)

# Recent events kept per followed task: enough that streams opened on a fresh task, or
# resumed near the end, replay from memory.
DEFAULT_RECENT_EVENTS = 256
REPLAY_PAGE = 500


@dataclass(frozen=True)
class WatchItem:
    """One message of a watch: an event, or a heartbeat when nothing happened.

    `task` is set on the event that ends the task; heartbeats carry the task as last
    read, and the sequence of the last event sent.
    """

    event: TaskEvent
    task: Task | None = None
    heartbeat: bool = False


@dataclass(frozen=True)
class _Snapshot:
    task: Task
    events: list[TaskEvent]


@dataclass(eq=False)
class _Followed:
    """One task followed for this server's streams."""

    tenant_id: str
    task_id: str
    task: Task | None = None
    # Highest event sequence the hub holds; `recent` ends at it.
    last_sequence: int = 0
    recent: collections.deque[TaskEvent] = field(default_factory=collections.deque)
    watchers: int = 0
    missing: bool = False
    # Why the first read failed (the store is down): every stream waiting for it fails.
    error: Exception | None = None
    # Set (and replaced) whenever something changed, waking every waiting stream.
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    # A store read is wanted; `reading` runs at most one at a time.
    stale: bool = True
    reading: asyncio.Task[None] | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    def notify(self) -> None:
        changed, self.changed = self.changed, asyncio.Event()
        changed.set()

    def after(self, sequence: int) -> list[TaskEvent] | None:
        """Held events after `sequence`; None when some of them are not held."""
        if sequence >= self.last_sequence:
            return []
        if not self.recent or self.recent[0].sequence > sequence + 1:
            return None
        return [event for event in self.recent if event.sequence > sequence]

    @property
    def ended(self) -> bool:
        return (
            self.task is not None
            and self.task.state.is_terminal
            and self.last_sequence >= self.task.last_event_sequence
        )


def ends(event: TaskEvent, task: Task | None) -> bool:
    """Whether `event` is the last one of `task` (read in the same snapshot)."""
    return (
        task is not None and event.state.is_terminal and event.sequence == task.last_event_sequence
    )


class TaskWatchHub:
    """Fans task events out to this server's watchers; see the module docstring.

    `start` and `close` run on the server's event loop, and so does every stream.
    """

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        events: EventBus,
        offload: Offload,
        *,
        poll_seconds: float,
        heartbeat_seconds: float,
        recent_events: int = DEFAULT_RECENT_EVENTS,
    ) -> None:
        self._uow_factory = uow_factory
        self._events = events
        self._offload = offload
        self._poll_seconds = poll_seconds
        self._heartbeat_seconds = heartbeat_seconds
        self._recent_events = recent_events
        # task id -> tenant id -> what is held. A task id is unique, but a caller of another
        # tenant may watch the same id (and find nothing), so tenants stay apart.
        self._followed: dict[str, dict[str, _Followed]] = {}
        self._stream: EventStream | None = None
        self._background: list[asyncio.Task[None]] = []

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        self._stream = self._events.listen()
        loop = asyncio.get_running_loop()
        self._background = [
            loop.create_task(self._listen(), name="watch hub: bus"),
            loop.create_task(self._poll(), name="watch hub: poll"),
        ]

    async def close(self) -> None:
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        self._background = []
        for followed in self._all_followed():
            if followed.reading is not None:
                followed.reading.cancel()
        if self._stream is not None:
            await self._stream.close()
            self._stream = None

    def followed_count(self) -> int:
        return sum(len(tenants) for tenants in self._followed.values())

    def _all_followed(self) -> list[_Followed]:
        return [f for tenants in self._followed.values() for f in tenants.values()]

    # ---------------------------------------------------------------- streams

    async def watch(
        self, principal: Principal, task_id: str, after_sequence: int
    ) -> AsyncGenerator[WatchItem, None]:
        """Events of the task after `after_sequence`, then live ones until it ends.

        Raises `NotFound` when the task does not exist for the caller's tenant, or is
        deleted while watched.
        """
        followed = await self._attach(principal.tenant_id, task_id)
        loop = asyncio.get_running_loop()
        try:
            last = after_sequence
            idle_since = loop.time()
            while True:
                if followed.missing:
                    raise NotFound(f"tasks/{task_id}")
                changed = followed.changed
                events = followed.after(last)
                task = followed.task
                if events is None:
                    snapshot = await self._offload.read(
                        self._read, principal.tenant_id, task_id, last, recent=False
                    )
                    if snapshot is None:
                        raise NotFound(f"tasks/{task_id}")
                    events, task = snapshot.events, snapshot.task
                for event in events:
                    last = event.sequence
                    yield WatchItem(event, task if ends(event, task) else None)
                if events:
                    idle_since = loop.time()
                    continue
                if (
                    followed.ended
                    and followed.task is not None
                    and last >= followed.task.last_event_sequence
                ):
                    return
                remaining = self._heartbeat_seconds - (loop.time() - idle_since)
                if remaining <= 0:
                    idle_since = loop.time()
                    if followed.task is not None:
                        yield self._heartbeat(followed.task, last)
                    continue
                try:
                    async with asyncio.timeout(remaining):
                        await changed.wait()
                except TimeoutError:
                    pass
        finally:
            self._detach(followed)

    def _heartbeat(self, task: Task, sequence: int) -> WatchItem:
        return WatchItem(
            TaskEvent(
                task_id=task.id,
                sequence=sequence,
                type=TaskEventType.HEARTBEAT,
                state=task.state,
                stage=task.stage,
                progress_percent=task.progress_percent,
                message="",
                event_time=datetime.now(UTC),
            ),
            heartbeat=True,
        )

    async def _attach(self, tenant_id: str, task_id: str) -> _Followed:
        tenants = self._followed.setdefault(task_id, {})
        followed = tenants.get(tenant_id)
        if followed is None:
            followed = _Followed(tenant_id, task_id)
            tenants[tenant_id] = followed
            self._refresh(followed)
        followed.watchers += 1
        try:
            await followed.ready.wait()
            if followed.error is not None:
                raise followed.error
            if followed.missing:
                raise NotFound(f"tasks/{task_id}")
        except BaseException:
            self._detach(followed)
            raise
        return followed

    def _detach(self, followed: _Followed) -> None:
        followed.watchers -= 1
        if followed.watchers > 0:
            return
        tenants = self._followed.get(followed.task_id, {})
        if tenants.get(followed.tenant_id) is followed:
            del tenants[followed.tenant_id]
            if not tenants:
                del self._followed[followed.task_id]
        if followed.reading is not None and not followed.reading.done():
            followed.reading.cancel()

    # ---------------------------------------------------------------- reading

    def _refresh(self, followed: _Followed) -> None:
        """Read the task and its new events from the store, soon (coalesced)."""
        followed.stale = True
        if followed.reading is None or followed.reading.done():
            followed.reading = asyncio.get_running_loop().create_task(
                self._read_followed(followed), name=f"watch hub: read {followed.task_id}"
            )

    async def _read_followed(self, followed: _Followed) -> None:
        while followed.stale:
            followed.stale = False
            first = followed.task is None
            try:
                snapshot = await self._offload.read(
                    self._read,
                    followed.tenant_id,
                    followed.task_id,
                    followed.last_sequence,
                    recent=first,
                )
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if first:
                    followed.error = exc  # the streams waiting for it fail with it
                else:
                    # Streams keep what they have; the next poll or event tries again.
                    _LOGGER.warning("watch hub could not read tasks/%s: %r", followed.task_id, exc)
                followed.ready.set()
                return
            if snapshot is None:
                followed.missing = True
            else:
                followed.task = snapshot.task
                self._hold(followed, snapshot.events)
            followed.ready.set()
            followed.notify()

    def _hold(self, followed: _Followed, events: list[TaskEvent]) -> None:
        for event in events:
            if event.sequence <= followed.last_sequence:
                continue
            if followed.recent and event.sequence != followed.last_sequence + 1:
                followed.recent.clear()  # never a hole inside what is held
            followed.recent.append(event)
            followed.last_sequence = event.sequence
        while len(followed.recent) > self._recent_events:
            followed.recent.popleft()

    def _read(self, tenant_id: str, task_id: str, after: int, *, recent: bool) -> _Snapshot | None:
        """The task and its events after `after`, in one snapshot. With `recent`, only
        the last few events (what a hub starts following with)."""
        with self._uow_factory(read_only=True, snapshot=True) as uow:
            task = uow.tasks.get(tenant_id, task_id)
            if task is None:
                return None
            start = max(after, task.last_event_sequence - self._recent_events) if recent else after
            events = uow.task_events.list_after(task_id, start, limit=REPLAY_PAGE)
        return _Snapshot(task, events)

    # ---------------------------------------------------------------- the bus

    async def _listen(self) -> None:
        assert self._stream is not None
        while True:
            try:
                item = await self._stream.next(timeout=60.0)
            except asyncio.CancelledError:
                raise
            except Exception:
                _LOGGER.exception("watch hub: reading the event bus failed")
                await asyncio.sleep(1.0)
                continue
            if item is None:
                continue
            if isinstance(item, EventGap):
                for followed in self._all_followed():
                    self._refresh(followed)
                continue
            self._arrived(item)

    def _arrived(self, event: TaskEvent) -> None:
        for followed in self._followers_of(event.task_id):
            if event.sequence <= followed.last_sequence:
                continue
            next_in_line = event.sequence == followed.last_sequence + 1
            reading = followed.reading is not None and not followed.reading.done()
            if (
                next_in_line
                and not reading
                and followed.task is not None
                and not event.state.is_terminal
            ):
                # The bus carried exactly the next stored event: no store read needed.
                self._hold(followed, [event])
                followed.task = _with_event(followed.task, event)
                followed.notify()
            else:
                # Out of order, or the end of the task (which streams send together with
                # the task it ends): read the store.
                self._refresh(followed)

    def _followers_of(self, task_id: str) -> list[_Followed]:
        return list(self._followed.get(task_id, {}).values())

    async def _poll(self) -> None:
        """The safety net: events whose publication was lost still reach streams."""
        while True:
            await asyncio.sleep(self._poll_seconds)
            for followed in self._all_followed():
                if not followed.ended:
                    self._refresh(followed)


def _with_event(task: Task, event: TaskEvent) -> Task:
    """The task as the event says it now is (state, stage, percent), for heartbeats."""
    return replace(
        task,
        state=event.state,
        stage=event.stage,
        progress_percent=event.progress_percent,
        last_event_sequence=max(task.last_event_sequence, event.sequence),
    )
