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
from meeting_agent.adapters.events.redis_bus import RedisEventBus, RedisEventStream, channel_for
from meeting_agent.domain.models import (
    TaskError,
    TaskEvent,
    TaskEventType,
    TaskStage,
    TaskState,
)
from meeting_agent.ports import EVENT_GAP, EventGap
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
        error=TaskError(
            code=8,
            reason="LLM_QUOTA_EXHAUSTED",
            message="配额用尽",
            metadata={"provider": "gemini", "retry_after": "30s"},
        ),
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


@pytest.mark.parametrize(
    "data",
    [
        b"not json",
        b"[]",
        b'{"task_id": "t1"}',
        encode_event(make_event()).replace('"progress"', '"exploded"'),
        encode_event(make_event()).replace('"sequence":1', '"sequence":"1"'),
        encode_event(make_event()).replace('"sequence":1', '"sequence":true'),
        encode_event(make_event()).replace("+00:00", ""),
    ],
)
def test_codec_rejects_malformed_messages(data: str | bytes) -> None:
    with pytest.raises(EventDecodeError):
        decode_event(data)


# ---------------------------------------------------------------- in-process


async def test_in_process_publish_from_another_thread_reaches_the_listener() -> None:
    bus = InProcessEventBus()
    stream = bus.listen()

    publish_from_thread(bus.publish, make_event("t1", 1), make_event("t2", 1), make_event("t1", 2))

    assert [await stream.next(5) for _ in range(3)] == [
        make_event("t1", 1),
        make_event("t2", 1),
        make_event("t1", 2),
    ]
    assert await stream.next(0.05) is None
    await stream.close()


async def test_in_process_next_waits_for_a_late_event() -> None:
    bus = InProcessEventBus()
    stream = bus.listen()
    timer = threading.Timer(0.1, bus.publish, args=(make_event(),))
    timer.start()

    started = time.monotonic()
    event = await stream.next(5)

    assert event == make_event()
    assert time.monotonic() - started < 2
    timer.join()
    await stream.close()


async def test_in_process_timeout_returns_none() -> None:
    bus = InProcessEventBus()
    stream = bus.listen()

    started = time.monotonic()
    assert await stream.next(0.2) is None
    assert 0.15 <= time.monotonic() - started < 2
    await stream.close()


async def test_in_process_every_listener_gets_the_event() -> None:
    bus = InProcessEventBus()
    first, second = bus.listen(), bus.listen()

    bus.publish(make_event())

    assert await first.next(1) == make_event()
    assert await second.next(1) == make_event()
    await first.close()
    await second.close()


async def test_in_process_close_unregisters() -> None:
    bus = InProcessEventBus()
    stream = bus.listen()
    assert bus.listener_count() == 1

    await stream.close()
    await stream.close()  # idempotent
    bus.publish(make_event())

    assert bus.listener_count() == 0
    assert await stream.next(0.05) is None


async def test_in_process_close_wakes_a_waiting_next() -> None:
    bus = InProcessEventBus()
    stream = bus.listen()
    waiting = asyncio.ensure_future(stream.next(10))
    await asyncio.sleep(0.05)

    await stream.close()

    assert await asyncio.wait_for(waiting, 1) is None


async def test_in_process_a_listener_that_falls_behind_is_told_of_the_gap() -> None:
    bus = InProcessEventBus(max_pending=3)
    stream = bus.listen()

    publish_from_thread(bus.publish, *(make_event(sequence=n) for n in range(1, 6)))
    await asyncio.sleep(0.05)  # let the loop run the deliveries

    received = [await stream.next(0.05) for _ in range(4)]
    assert received[0] is EVENT_GAP
    assert [e.sequence for e in received[1:] if isinstance(e, TaskEvent)] == [4, 5]
    assert received[3] is None
    await stream.close()


def test_in_process_listen_needs_a_running_loop() -> None:
    with pytest.raises(RuntimeError):
        InProcessEventBus().listen()


def test_in_process_a_stream_of_a_closed_loop_is_dropped() -> None:
    bus = InProcessEventBus()

    async def listen_and_leave() -> None:
        bus.listen()  # never closed: its listener vanished with the loop

    asyncio.run(listen_and_leave())
    bus.publish(make_event())  # no error

    assert bus.listener_count() == 0


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


async def _ready(bus: RedisEventBus) -> RedisEventStream:
    stream = bus.listen()
    assert await stream.wait_ready(5)
    assert await stream.next(1) is EVENT_GAP  # every (re)subscription starts with one
    return stream


@pytest_redis
async def test_redis_an_event_published_on_one_replica_reaches_the_other(replicas) -> None:
    worker_bus, server_bus = replicas
    stream = await _ready(server_bus)
    event = make_event(
        error=TaskError(
            code=14,
            reason="ASR_UNAVAILABLE",
            message="retrying",
            metadata={"provider": "volcengine"},
        ),
        message="转写中 transcribing",
    )

    publish_from_thread(worker_bus.publish, event, make_event("t2", 1), make_event(sequence=2))

    assert await stream.next(5) == event
    assert await stream.next(5) == make_event("t2", 1)
    assert await stream.next(5) == make_event(sequence=2)
    assert await stream.next(0.1) is None
    await stream.close()


@pytest_redis
async def test_redis_one_connection_serves_every_task(replicas, redis: Redis) -> None:
    _, server_bus = replicas
    # Pub/sub is server-wide, not per logical database: other tests' servers may listen.
    before = len(redis.client_list(_type="pubsub"))
    stream = await _ready(server_bus)

    listeners = redis.client_list(_type="pubsub")
    assert len(listeners) == before + 1
    assert redis.pubsub_channels() == []  # a pattern, not a channel per task
    await stream.close()
    await stream.close()  # idempotent

    # Redis forgets the connection once it has read its end.
    deadline = time.monotonic() + 10
    while len(redis.client_list(_type="pubsub")) > before and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    assert len(redis.client_list(_type="pubsub")) == before
    assert await stream.next(0.05) is None


@pytest_redis
async def test_redis_malformed_messages_are_skipped(
    replicas, redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    worker_bus, server_bus = replicas
    stream = await _ready(server_bus)

    redis.publish(channel_for("t1"), b"\xff not an event")
    worker_bus.publish(make_event())

    with caplog.at_level(logging.WARNING):
        assert await stream.next(5) == make_event()
    assert any("malformed" in record.getMessage() for record in caplog.records)
    await stream.close()


@pytest_redis
async def test_redis_close_while_still_connecting(replicas) -> None:
    _, server_bus = replicas
    stream = server_bus.listen()
    await stream.close()  # before the background subscribe got anywhere
    assert stream.closed


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


async def test_redis_a_stream_without_redis_just_times_out() -> None:
    url, release = _refusing_url()
    bus = RedisEventBus(url)
    try:
        stream = bus.listen()
        started = time.monotonic()
        assert await stream.next(0.3) is None
        assert await stream.next(0.3) is None
        assert 0.5 <= time.monotonic() - started < 3
        await stream.close()
    finally:
        bus.close()
        release()


async def test_redis_a_stream_survives_redis_restarts() -> None:
    binary = find_server_binary()
    if binary is None:
        pytest.skip("no redis-server binary to stop and start")
    server = LocalRedis(binary)
    server.start()
    bus = RedisEventBus(server.url, backoff_seconds=0.2)
    try:
        stream = await _ready(bus)
        for _ in range(3):
            server.stop(cleanup=False)
            assert await stream.next(0.3) is None  # the outage looks like silence
            server.start()
            # Reconnected: first the gap (anything published meanwhile is lost), then
            # whatever is published from now on.
            assert await _next_item(stream, 10) is EVENT_GAP
            await asyncio.sleep(0.3)  # past the publisher's back-off
            bus.publish(make_event())
            assert await stream.next(5) == make_event()
        await stream.close()
    finally:
        bus.close()
        server.stop()


async def test_redis_a_stream_reconnects_when_its_connection_is_killed(
    redis_url: str, redis: Redis
) -> None:
    bus = RedisEventBus(redis_url)
    stream = await _ready(bus)
    try:
        for _ in range(2):
            # What a Redis restart or a proxy does to the subscriber's socket.
            killed = redis.client_kill_filter(_type="pubsub")
            assert killed >= 1
            assert await _next_item(stream, 10) is EVENT_GAP
            bus.publish(make_event())
            assert await stream.next(5) == make_event()
    finally:
        await stream.close()
        bus.close()


async def _next_item(stream: RedisEventStream, timeout: float) -> TaskEvent | EventGap | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        item = await stream.next(deadline - time.monotonic())
        if item is not None:
            return item
    return None
