"""Event buses: in-process across threads, and Redis pub/sub across "replicas"."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from redis import Redis

from meeting_agent.adapters.events.codec import EventDecodeError, decode_event, encode_event
from meeting_agent.adapters.events.local import InProcessEventBus
from meeting_agent.adapters.events.redis_bus import RedisEventBus, channel_for
from meeting_agent.domain.models import (
    TaskError,
    TaskEvent,
    TaskEventType,
    TaskStage,
    TaskState,
)
from tests.harness.redis import LocalRedis, find_server_binary

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def make_event(task_id: str = "t1", sequence: int = 1, **changes: object) -> TaskEvent:
    fields: dict[str, object] = {
        "task_id": task_id,
        "sequence": sequence,
        "type": TaskEventType.PROGRESS,
        "state": TaskState.RUNNING,
        "stage": TaskStage.TRANSCRIBE,
        "progress_percent": 42,
        "message": f"event {sequence}",
        "event_time": T0 + timedelta(seconds=sequence),
        "error": None,
    }
    fields.update(changes)
    return TaskEvent(**fields)  # type: ignore[arg-type]


def publish_from_thread(publish: Callable[[TaskEvent], None], *events: TaskEvent) -> None:
    def run() -> None:
        for event in events:
            publish(event)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(10)


# ---------------------------------------------------------------- codec


def test_codec_round_trips_every_field() -> None:
    event = TaskEvent(
        task_id="t-42",
        sequence=7,
        type=TaskEventType.STATE_CHANGED,
        state=TaskState.FAILED,
        stage=TaskStage.GENERATE_MINUTES,
        progress_percent=91,
        message="生成纪要失败: quota exhausted",
        event_time=datetime(2026, 3, 2, 17, 30, 5, 123456, tzinfo=timezone(timedelta(hours=8))),
        error=TaskError(code=8, reason="LLM_QUOTA_EXHAUSTED", message="配额用尽",
                        metadata={"provider": "gemini", "retry_after": "30s"}),
    )

    encoded = encode_event(event)
    decoded = decode_event(encoded.encode())

    assert decoded == event
    assert decoded.event_time.utcoffset() == timedelta(hours=8)
    assert "生成纪要" in encoded  # UTF-8, not escapes
    assert '"state":"failed"' in encoded  # enums by value
    assert decode_event(encode_event(make_event())) == make_event()


def test_codec_ignores_unknown_keys() -> None:
    encoded = encode_event(make_event())
    newer = encoded[:-1] + ',"added_by_a_newer_release":true}'
    assert decode_event(newer) == make_event()


@pytest.mark.parametrize("data", [
    b"not json",
    b"[]",
    b'{"task_id": "t1"}',
    encode_event(make_event()).replace('"progress"', '"exploded"'),
    encode_event(make_event()).replace('"sequence":1', '"sequence":"1"'),
    encode_event(make_event()).replace('"sequence":1', '"sequence":true'),
    encode_event(make_event()).replace("+00:00", ""),
])
def test_codec_rejects_malformed_messages(data: str | bytes) -> None:
    with pytest.raises(EventDecodeError):
        decode_event(data)


# ---------------------------------------------------------------- in-process


async def test_in_process_publish_from_another_thread_reaches_the_subscriber() -> None:
    bus = InProcessEventBus()
    subscription = bus.subscribe("t1")
    other = bus.subscribe("t2")

    publish_from_thread(bus.publish, make_event("t1", 1), make_event("t2", 1),
                        make_event("t1", 2))

    assert await subscription.next(5) == make_event("t1", 1)
    assert await subscription.next(5) == make_event("t1", 2)
    assert await other.next(5) == make_event("t2", 1)
    assert await other.next(0.05) is None
    await subscription.close()
    await other.close()


async def test_in_process_next_waits_for_a_late_event() -> None:
    bus = InProcessEventBus()
    subscription = bus.subscribe("t1")
    timer = threading.Timer(0.1, bus.publish, args=(make_event(),))
    timer.start()

    started = time.monotonic()
    event = await subscription.next(5)

    assert event == make_event()
    assert time.monotonic() - started < 2
    timer.join()
    await subscription.close()


async def test_in_process_timeout_returns_none() -> None:
    bus = InProcessEventBus()
    subscription = bus.subscribe("t1")

    started = time.monotonic()
    assert await subscription.next(0.2) is None
    assert 0.15 <= time.monotonic() - started < 2
    await subscription.close()


async def test_in_process_every_subscriber_gets_the_event() -> None:
    bus = InProcessEventBus()
    first, second = bus.subscribe("t1"), bus.subscribe("t1")

    bus.publish(make_event())

    assert await first.next(1) == make_event()
    assert await second.next(1) == make_event()
    await first.close()
    await second.close()


async def test_in_process_close_unregisters() -> None:
    bus = InProcessEventBus()
    subscription = bus.subscribe("t1")
    assert bus.subscriber_count("t1") == 1

    await subscription.close()
    await subscription.close()  # idempotent
    bus.publish(make_event())

    assert bus.subscriber_count() == 0
    assert await subscription.next(0.05) is None


async def test_in_process_close_wakes_a_waiting_next() -> None:
    bus = InProcessEventBus()
    subscription = bus.subscribe("t1")
    waiting = asyncio.ensure_future(subscription.next(10))
    await asyncio.sleep(0.05)

    await subscription.close()

    assert await asyncio.wait_for(waiting, 1) is None


async def test_in_process_a_slow_watcher_loses_the_oldest_events() -> None:
    bus = InProcessEventBus(max_pending=3)
    subscription = bus.subscribe("t1")

    publish_from_thread(bus.publish, *(make_event(sequence=n) for n in range(1, 6)))
    await asyncio.sleep(0.05)  # let the loop run the deliveries

    received = [await subscription.next(0.05) for _ in range(4)]
    assert [event.sequence if event else None for event in received] == [3, 4, 5, None]
    assert subscription.dropped_events == 2
    await subscription.close()


def test_in_process_subscribe_needs_a_running_loop() -> None:
    with pytest.raises(RuntimeError):
        InProcessEventBus().subscribe("t1")


def test_in_process_a_subscription_of_a_closed_loop_is_dropped() -> None:
    bus = InProcessEventBus()

    async def subscribe_and_leave() -> None:
        bus.subscribe("t1")  # never closed: its watcher vanished with the loop

    asyncio.run(subscribe_and_leave())
    bus.publish(make_event())  # no error

    assert bus.subscriber_count() == 0


# ---------------------------------------------------------------- Redis

pytest_redis = pytest.mark.redis


@pytest.fixture
async def replicas(redis_url: str) -> AsyncIterator[tuple[RedisEventBus, RedisEventBus]]:
    """Two independent buses on one Redis, as two server or worker replicas would have."""
    first, second = RedisEventBus(redis_url), RedisEventBus(redis_url)
    yield first, second
    first.close()
    second.close()


@pytest.fixture
def redis(redis_url: str) -> Iterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    client.close()


@pytest_redis
async def test_redis_an_event_published_on_one_replica_reaches_the_other(replicas) -> None:
    worker_bus, server_bus = replicas
    subscription = server_bus.subscribe("t1")
    assert await subscription.wait_ready(5)
    event = make_event(error=TaskError(code=14, reason="ASR_UNAVAILABLE", message="retrying",
                                       metadata={"provider": "volcengine"}),
                       message="转写中 transcribing")

    publish_from_thread(worker_bus.publish, event, make_event(sequence=2))

    assert await subscription.next(5) == event
    assert await subscription.next(5) == make_event(sequence=2)
    assert await subscription.next(0.1) is None
    await subscription.close()


@pytest_redis
async def test_redis_next_waits_for_the_subscription_itself(replicas) -> None:
    worker_bus, server_bus = replicas
    subscription = server_bus.subscribe("t1")

    assert await subscription.next(0.3) is None  # subscribes, then times out
    worker_bus.publish(make_event())

    assert await subscription.next(5) == make_event()
    await subscription.close()


@pytest_redis
async def test_redis_subscribers_see_only_their_task(replicas) -> None:
    worker_bus, server_bus = replicas
    mine, other = server_bus.subscribe("t1"), server_bus.subscribe("t2")
    assert await mine.wait_ready(5)
    assert await other.wait_ready(5)

    worker_bus.publish(make_event("t2", 1))
    worker_bus.publish(make_event("t1", 1))

    assert await mine.next(5) == make_event("t1", 1)
    assert await other.next(5) == make_event("t2", 1)
    assert await mine.next(0.1) is None
    await mine.close()
    await other.close()


@pytest_redis
async def test_redis_malformed_messages_are_skipped(
    replicas, redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    worker_bus, server_bus = replicas
    subscription = server_bus.subscribe("t1")
    assert await subscription.wait_ready(5)

    redis.publish(channel_for("t1"), b"\xff not an event")
    worker_bus.publish(make_event())

    with caplog.at_level(logging.WARNING):
        assert await subscription.next(5) == make_event()
    assert any("malformed" in record.getMessage() for record in caplog.records)
    await subscription.close()


@pytest_redis
async def test_redis_close_unsubscribes(replicas, redis: Redis) -> None:
    _, server_bus = replicas
    subscription = server_bus.subscribe("t1")
    assert await subscription.wait_ready(5)
    assert redis.pubsub_numsub(channel_for("t1")) == [(channel_for("t1").encode(), 1)]

    await subscription.close()
    await subscription.close()

    assert redis.pubsub_numsub(channel_for("t1")) == [(channel_for("t1").encode(), 0)]
    assert await subscription.next(0.05) is None


@pytest_redis
async def test_redis_close_while_still_connecting(replicas) -> None:
    _, server_bus = replicas
    subscription = server_bus.subscribe("t1")
    await subscription.close()  # before the background subscribe got anywhere
    assert subscription.closed


# ---------------------------------------------------------------- Redis down


def _refusing_url() -> tuple[str, Callable[[], None]]:
    import socket

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
    return f"redis://127.0.0.1:{sock.getsockname()[1]}/0", sock.close


def test_redis_publish_never_raises_when_redis_is_down(caplog: pytest.LogCaptureFixture) -> None:
    url, release = _refusing_url()
    bus = RedisEventBus(url)
    try:
        started = time.monotonic()
        with caplog.at_level(logging.WARNING):
            for sequence in range(1, 20):
                bus.publish(make_event(sequence=sequence))
        assert time.monotonic() - started < 3
        warnings = [r for r in caplog.records if "could not publish" in r.getMessage()]
        assert len(warnings) == 1  # then it backs off instead of failing every event
        assert warnings[0].levelno == logging.WARNING
    finally:
        bus.close()
        release()


async def test_redis_a_subscription_without_redis_just_times_out() -> None:
    url, release = _refusing_url()
    bus = RedisEventBus(url)
    try:
        subscription = bus.subscribe("t1")
        started = time.monotonic()
        assert await subscription.next(0.3) is None
        assert await subscription.next(0.3) is None
        assert 0.5 <= time.monotonic() - started < 3
        await subscription.close()
    finally:
        bus.close()
        release()


async def test_redis_a_subscription_survives_a_redis_restart() -> None:
    binary = find_server_binary()
    if binary is None:
        pytest.skip("no redis-server binary to stop and start")
    server = LocalRedis(binary)
    server.start()
    bus = RedisEventBus(server.url, backoff_seconds=0.2)
    try:
        subscription = bus.subscribe("t1")
        assert await subscription.wait_ready(5)

        server.stop(cleanup=False)
        assert await subscription.next(0.3) is None  # the outage looks like silence
        server.start()
        await asyncio.sleep(0.3)  # past the publisher's back-off
        assert await subscription.wait_ready(5)
        bus.publish(make_event())

        assert await subscription.next(5) == make_event()
        await subscription.close()
    finally:
        bus.close()
        server.stop()
