"""TaskService.watch over the watch hub, as plain objects: what a WatchTask stream gets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
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
from meeting_agent.errors import InvalidArgument, NotFound
from meeting_agent.service.catalog import embedded_catalog
from meeting_agent.service.offload import Offload
from meeting_agent.service.tasks import TaskService
from meeting_agent.service.watch import TaskWatchHub
from tests.fakes import FakeClock, FakeDatabase, FakeObjectStore, FakeUnitOfWorkFactory

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ALICE = Principal("acme", "alice")
MALLORY = Principal("globex", "mallory")


@dataclass
class Env:
    db: FakeDatabase
    service: TaskService
    hub: TaskWatchHub

    def task_with_events(self, *states: TaskState) -> None:
        """Task `t1` of acme, with one stored event per state; the last is its state."""
        task = Task(
            id="t1",
            tenant_id="acme",
            creator_id="alice",
            display_name="weekly",
            audio_sources=[],
            options=TaskOptions(),
            labels={},
            state=states[-1],
            stage=TaskStage.TRANSCRIBE,
            progress_percent=0,
            create_time=T0,
            update_time=T0,
            last_event_sequence=len(states),
        )
        self.db.tasks[("acme", "t1")] = task
        for sequence, state in enumerate(states, start=1):
            event = TaskEvent(
                task_id="t1",
                sequence=sequence,
                type=TaskEventType.STATE_CHANGED,
                state=state,
                stage=TaskStage.TRANSCRIBE,
                progress_percent=0,
                message=f"event {sequence}",
                event_time=T0 + timedelta(seconds=sequence),
            )
            self.db.task_events[("t1", sequence)] = ("acme", event)


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    db = FakeDatabase()
    clock = FakeClock()
    factory = FakeUnitOfWorkFactory(db)
    service = TaskService(factory, FakeObjectStore(clock=clock), clock, embedded_catalog())
    hub = TaskWatchHub(
        factory,
        InProcessEventBus(),
        Offload(inline_reads=True),
        poll_seconds=60,
        heartbeat_seconds=60,
    )
    await hub.start()
    yield Env(db, service, hub)
    await hub.close()


async def test_a_negative_sequence_is_refused_before_anything_is_followed(env: Env) -> None:
    env.task_with_events(TaskState.QUEUED)

    with pytest.raises(InvalidArgument) as info:
        async for _ in env.service.watch(ALICE, "t1", -1, hub=env.hub):
            pass

    assert [(v.field, v.description) for v in info.value.violations] == [
        ("after_sequence", "must not be negative")
    ]
    assert env.hub.followed_count() == 0


async def test_a_stream_replays_after_the_sequence_and_ends_with_the_task(env: Env) -> None:
    env.task_with_events(TaskState.QUEUED, TaskState.RUNNING, TaskState.SUCCEEDED)

    items = [item async for item in env.service.watch(ALICE, "t1", 1, hub=env.hub)]

    assert [i.event.sequence for i in items] == [2, 3]
    assert [i.task is not None for i in items] == [False, True]
    assert env.hub.followed_count() == 0


async def test_another_tenants_task_is_not_found(env: Env) -> None:
    env.task_with_events(TaskState.RUNNING)

    with pytest.raises(NotFound):
        async for _ in env.service.watch(MALLORY, "t1", 0, hub=env.hub):
            pass


async def test_closing_a_stream_stops_following_the_task(env: Env) -> None:
    env.task_with_events(TaskState.QUEUED, TaskState.RUNNING)
    stream = env.service.watch(ALICE, "t1", 0, hub=env.hub)

    first = await anext(stream)
    assert env.hub.followed_count() == 1
    await stream.aclose()

    assert first.event.sequence == 1
    assert env.hub.followed_count() == 0
