"""The watch hub as plain objects: a fake store, the in-process bus, real asyncio.

What it promises: every stream gets every event once and in order, from any sequence;
the event that ends a task carries the task; a thousand streams of one task cost one
store read per event, or none when the bus carried the event; a gap on the bus sends it
back to the store.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from meeting_agent.adapters.events.local import InProcessEventBus
from meeting_agent.domain.models import (
    Principal,
    Task,
    TaskEvent,
    TaskEventType,
    TaskOptions,
    TaskStage,
    TaskState,
)
from meeting_agent.errors import NotFound
from meeting_agent.ports import EVENT_GAP, EventGap
from meeting_agent.service.offload import Offload
from meeting_agent.service.watch import TaskWatchHub, WatchItem
from tests.fakes import FakeDatabase, FakeUnitOfWorkFactory

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ALICE = Principal("acme", "alice")
MALLORY = Principal("globex", "mallory")


class ScriptedBus:
    """An `EventBus` whose stream the test feeds: events, gaps, or nothing at all."""

    def __init__(self) -> None:
        self.items: asyncio.Queue[TaskEvent | EventGap] = asyncio.Queue()

    def publish(self, event: TaskEvent) -> None:
        self.items.put_nowait(event)

    def listen(self) -> ScriptedBus:
        return self

    async def next(self, timeout: float) -> TaskEvent | EventGap | None:
        try:
            return await asyncio.wait_for(self.items.get(), timeout)
        except TimeoutError:
            return None

    async def close(self) -> None:
        pass


class Store:
    """A task and its events in the fake database, written as a job would."""

    def __init__(self) -> None:
        self.db = FakeDatabase()
        self.factory = FakeUnitOfWorkFactory(self.db)
        self.task = Task(
            id="t1",
            tenant_id="acme",
            creator_id="alice",
            display_name="weekly",
            audio_sources=[],
            options=TaskOptions(),
            labels={},
            state=TaskState.QUEUED,
            stage=TaskStage.UNSPECIFIED,
            progress_percent=0,
            create_time=T0,
            update_time=T0,
        )
        self.db.tasks[("acme", "t1")] = self.task

    def record(self, *, state: TaskState = TaskState.RUNNING, percent: int = 0) -> TaskEvent:
        task = self.db.tasks[("acme", "t1")]
        task.last_event_sequence += 1
        task.state, task.progress_percent = state, percent
        event = TaskEvent(
            task_id="t1",
            sequence=task.last_event_sequence,
            type=TaskEventType.STATE_CHANGED if state.is_terminal else TaskEventType.PROGRESS,
            state=state,
            stage=TaskStage.TRANSCRIBE,
            progress_percent=percent,
            message=f"event {task.last_event_sequence}",
            event_time=T0 + timedelta(seconds=task.last_event_sequence),
        )
        self.db.task_events[("t1", event.sequence)] = ("acme", event)
        return event

    @property
    def reads(self) -> int:
        """Units of work opened: each is one store read of the hub's."""
        return len(self.factory.opened)


@pytest.fixture
def store() -> Store:
    return Store()


@pytest.fixture
async def hub(store: Store) -> AsyncIterator[tuple[TaskWatchHub, InProcessEventBus]]:
    bus = InProcessEventBus()
    hub = TaskWatchHub(
        store.factory, bus, Offload(inline_reads=True), poll_seconds=60, heartbeat_seconds=60
    )
    await hub.start()
    yield hub, bus
    await hub.close()


async def collect(
    hub: TaskWatchHub, after: int = 0, principal: Principal = ALICE
) -> list[WatchItem]:
    return [item async for item in hub.watch(principal, "t1", after)]


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_every_stream_gets_every_event_once_in_order(store: Store, hub) -> None:
    watch_hub, bus = hub
    store.record(state=TaskState.RUNNING)
    streams = [asyncio.create_task(collect(watch_hub)) for _ in range(50)]
    await settle()

    for percent in (10, 20, 30):
        bus.publish(store.record(percent=percent))
        await settle()
    bus.publish(store.record(state=TaskState.SUCCEEDED, percent=100))
    results = await asyncio.wait_for(asyncio.gather(*streams), 10)

    for items in results:
        assert [i.event.sequence for i in items] == [1, 2, 3, 4, 5]
        assert [i.task is not None for i in items] == [False] * 4 + [True]
        assert items[-1].task is not None and items[-1].task.state is TaskState.SUCCEEDED
    assert watch_hub.followed_count() == 0  # followers go with their last stream


async def test_many_streams_cost_one_read_not_one_each(store: Store, hub) -> None:
    watch_hub, bus = hub
    store.record(state=TaskState.RUNNING)
    streams = [asyncio.create_task(collect(watch_hub)) for _ in range(1000)]
    await settle()
    opened = store.reads

    for percent in range(1, 11):
        bus.publish(store.record(percent=percent))
        await settle()
    during = store.reads - opened
    bus.publish(store.record(state=TaskState.SUCCEEDED, percent=100))
    await asyncio.wait_for(asyncio.gather(*streams), 30)

    assert opened <= 2  # one read to start following, not one per stream
    assert during == 0  # the bus carried each next event: nothing to read
    assert store.reads - opened <= 2  # the end is read once, with its task


async def test_lost_events_are_read_from_the_store(store: Store) -> None:
    bus = ScriptedBus()
    watch_hub = TaskWatchHub(
        store.factory, bus, Offload(inline_reads=True), poll_seconds=60, heartbeat_seconds=60
    )
    await watch_hub.start()
    try:
        store.record(state=TaskState.RUNNING)
        stream = asyncio.create_task(collect(watch_hub))
        await settle()

        store.record(percent=10)  # stored, never published
        bus.publish(store.record(percent=20))  # out of sequence: the store has the rest
        await settle()
        store.record(percent=30)
        store.record(percent=40)
        bus.items.put_nowait(EVENT_GAP)  # a reconnected bus: anything may be lost
        await settle()
        bus.publish(store.record(state=TaskState.CANCELLED))
        items = await asyncio.wait_for(stream, 10)
    finally:
        await watch_hub.close()

    assert [i.event.sequence for i in items] == [1, 2, 3, 4, 5, 6]


async def test_a_stream_resumes_from_any_sequence(store: Store, hub) -> None:
    watch_hub, _ = hub
    for percent in range(600):  # more than the hub keeps in memory
        store.record(percent=percent % 100)
    store.record(state=TaskState.FAILED)

    from_start, from_middle, from_end = await asyncio.gather(
        collect(watch_hub, 0), collect(watch_hub, 300), collect(watch_hub, 601)
    )

    assert [i.event.sequence for i in from_start] == list(range(1, 602))
    assert [i.event.sequence for i in from_middle] == list(range(301, 602))
    assert from_end == []  # nothing after the end: the stream just ends
    assert from_start[-1].task is not None and from_middle[-1].task is not None


async def test_a_task_of_another_tenant_is_not_found(store: Store, hub) -> None:
    watch_hub, _ = hub

    with pytest.raises(NotFound):
        await collect(watch_hub, principal=MALLORY)
    with pytest.raises(NotFound):
        async for _ in watch_hub.watch(ALICE, "no-such-task", 0):
            pass


async def test_a_task_deleted_while_watched_ends_its_streams(store: Store, hub) -> None:
    watch_hub, bus = hub
    store.record(state=TaskState.RUNNING)
    stream = asyncio.create_task(collect(watch_hub))
    await settle()

    event = store.record(percent=5)
    del store.db.tasks[("acme", "t1")]
    bus.publish(replace(event, sequence=event.sequence + 1))  # out of sequence: read

    with pytest.raises(NotFound):
        await asyncio.wait_for(stream, 10)


async def test_an_idle_stream_gets_heartbeats(store: Store) -> None:
    bus = InProcessEventBus()
    watch_hub = TaskWatchHub(
        store.factory, bus, Offload(inline_reads=True), poll_seconds=60, heartbeat_seconds=0.05
    )
    await watch_hub.start()
    try:
        store.record(state=TaskState.RUNNING, percent=42)
        items: list[WatchItem] = []
        async for item in watch_hub.watch(ALICE, "t1", 0):
            items.append(item)
            if sum(i.heartbeat for i in items) == 2:
                break
    finally:
        await watch_hub.close()

    assert items[0].event.sequence == 1 and not items[0].heartbeat
    beats = [i for i in items if i.heartbeat]
    assert all(b.event.sequence == 1 and b.event.type is TaskEventType.HEARTBEAT for b in beats)
    assert all(b.event.progress_percent == 42 for b in beats)
