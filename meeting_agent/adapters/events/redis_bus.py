"""`EventBus` on Redis pub/sub, so a watcher on any replica sees any worker's events.

Each task has its own channel, `meeting-agent:task-events:<task_id>`, carrying the JSON
of `codec`. A server listens to all of them with one pattern subscription on one
connection, however many streams it serves. Pub/sub keeps nothing: a message published
while nobody listens, or while a listener reconnects, is gone. That is acceptable because
events are stored before they are published, and a listener that reconnected reports a
gap, after which the store is read again.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from typing import Any

import redis.asyncio
from redis import Redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from meeting_agent.adapters.events.codec import EventDecodeError, decode_event, encode_event
from meeting_agent.adapters.events.pending import PendingEvents
from meeting_agent.domain.models import TaskEvent
from meeting_agent.errors import Unavailable
from meeting_agent.ports import EVENT_GAP, EventGap
from meeting_agent.reasons import EVENTS_UNAVAILABLE

__all__ = ["CHANNEL_PATTERN", "CHANNEL_PREFIX", "RedisEventBus", "RedisEventStream", "channel_for"]

logger = logging.getLogger(__name__)

CHANNEL_PREFIX = "meeting-agent:task-events:"
CHANNEL_PATTERN = CHANNEL_PREFIX + "*"
# Events a listener may fall behind by before the backlog is replaced by one gap.
MAX_PENDING = 4096


def channel_for(task_id: str) -> str:
    return CHANNEL_PREFIX + task_id


class RedisEventBus:
    """Publishes with a blocking client (jobs run on threads) and subscribes with an
    asyncio one (watchers run on the grpc.aio loop).

    Publishing never raises. After a failure it stops trying for `backoff_seconds`, so a
    job reporting progress does not wait out a connect timeout for every event while
    Redis is down.
    """

    def __init__(
        self,
        redis_url: str,
        *,
        connect_timeout_seconds: float = 1.0,
        timeout_seconds: float = 2.0,
        backoff_seconds: float = 5.0,
    ) -> None:
        self._url = redis_url
        self._connect_timeout_seconds = connect_timeout_seconds
        self._timeout_seconds = timeout_seconds
        self._backoff_seconds = backoff_seconds
        self._redis = Redis.from_url(
            redis_url,
            socket_connect_timeout=connect_timeout_seconds,
            socket_timeout=timeout_seconds,
            # One immediate retry replaces a connection that went stale when Redis restarted.
            retry=Retry(NoBackoff(), 1),
        )
        self._lock = threading.Lock()
        self._paused_until = 0.0

    def publish(self, event: TaskEvent) -> None:
        """Best effort: failures are logged at warning, never raised."""
        with self._lock:
            if time.monotonic() < self._paused_until:
                return
        try:
            self._redis.publish(channel_for(event.task_id), encode_event(event))
        except RedisError as exc:
            with self._lock:
                self._paused_until = time.monotonic() + self._backoff_seconds
            logger.warning(
                "could not publish event %d of task %s (%s); not publishing for "
                "%.0f s: watchers fall back to the stored events",
                event.sequence,
                event.task_id,
                exc.__class__.__name__,
                self._backoff_seconds,
            )

    def listen(self) -> RedisEventStream:
        """Start listening on the running asyncio loop (connecting in the background).

        Raises `RuntimeError` when called outside a running loop.
        """
        return RedisEventStream(self._url, connect_timeout_seconds=self._connect_timeout_seconds)

    def check(self) -> None:
        """Raise `Unavailable` when Redis does not answer (for health checks)."""
        try:
            self._redis.ping()
        except RedisError as exc:
            raise Unavailable("the event bus is unavailable", reason=EVENTS_UNAVAILABLE) from exc

    def close(self) -> None:
        self._redis.close()


class RedisEventStream:
    """Every task's channel, through one pattern subscription, for one asyncio loop.

    A background task owns the connection: it subscribes, reads, and on any failure
    (Redis restarted, a dead socket found by the health-check ping) closes it, waits with
    a growing, jittered back-off and connects again. Each successful subscription is
    reported as `EVENT_GAP`, because anything published while it was down is gone.
    """

    def __init__(
        self,
        redis_url: str,
        *,
        connect_timeout_seconds: float = 1.0,
        health_check_seconds: float = 10.0,
        reconnect_min_seconds: float = 0.1,
        reconnect_max_seconds: float = 5.0,
        max_pending: int = MAX_PENDING,
    ) -> None:
        self._url = redis_url
        self._connect_timeout_seconds = connect_timeout_seconds
        self._health_check_seconds = health_check_seconds
        self._reconnect_min = reconnect_min_seconds
        self._reconnect_max = reconnect_max_seconds
        self._loop = asyncio.get_running_loop()
        self._pending = PendingEvents(max_pending)
        self._subscribed = asyncio.Event()
        self.connections = 0  # successful subscriptions, for tests
        self._reader = self._loop.create_task(self._run(), name="listen task events")

    @property
    def closed(self) -> bool:
        return self._pending.closed

    async def wait_ready(self, timeout: float) -> bool:
        """Wait until the subscription is live; events published after True arrive."""
        try:
            async with asyncio.timeout(timeout):
                await self._subscribed.wait()
        except TimeoutError:
            return False
        return True

    async def next(self, timeout: float) -> TaskEvent | EventGap | None:
        return await self._pending.next(timeout)

    async def close(self) -> None:
        """Unsubscribe and close the connection. Idempotent."""
        if self._pending.closed:
            return
        self._pending.close()
        self._reader.cancel()
        try:
            await self._reader
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise

    def _push(self, item: TaskEvent | EventGap) -> None:
        self._pending.push(item)

    async def _run(self) -> None:
        failures = 0
        while not self._pending.closed:
            client = redis.asyncio.Redis.from_url(
                self._url,
                socket_connect_timeout=self._connect_timeout_seconds,
                socket_keepalive=True,
                health_check_interval=self._health_check_seconds,
                retry=Retry(NoBackoff(), 0),
            )
            pubsub = client.pubsub()
            try:
                await self._subscribe(pubsub)
                if failures:
                    logger.info(
                        "listening to task events again after %d failed attempt(s)", failures
                    )
                failures = 0
                self.connections += 1
                self._subscribed.set()
                self._push(EVENT_GAP)
                await self._read(pubsub)
            except (RedisError, OSError, TimeoutError) as exc:
                failures += 1
                # Once per outage at warning: while it lasts, attempts repeat every few s.
                logger.log(
                    logging.WARNING if failures == 1 else logging.DEBUG,
                    "lost the task event channel (%s); reconnecting",
                    exc.__class__.__name__,
                )
            except Exception:
                # Whatever it was, the listener must outlive it: watchers depend on it.
                failures += 1
                logger.exception("the task event listener failed; reconnecting")
            finally:
                self._subscribed.clear()
                await _close_quietly(pubsub, client)
            if not self._pending.closed:
                delay = min(self._reconnect_max, self._reconnect_min * 2 ** min(failures, 10))
                await asyncio.sleep(delay * random.uniform(0.5, 1.0))

    async def _subscribe(self, pubsub: Any) -> None:
        await pubsub.psubscribe(CHANNEL_PATTERN)
        # The confirmation proves the subscription is live: events published after it
        # reach us, so the gap reported next covers everything before it.
        async with asyncio.timeout(self._connect_timeout_seconds + 1):
            while True:
                message = await pubsub.get_message(timeout=self._connect_timeout_seconds)
                if message is not None and message.get("type") == "psubscribe":
                    return

    async def _read(self, pubsub: Any) -> None:
        while True:
            message = await pubsub.get_message(
                ignore_subscribe_messages=True, timeout=self._health_check_seconds
            )
            if message is None or message.get("type") != "pmessage":
                continue
            try:
                event = decode_event(message["data"])
            except EventDecodeError as exc:
                logger.warning("ignoring a malformed event on %s: %s", message.get("channel"), exc)
                continue
            self._push(event)


async def _close_quietly(pubsub: Any, client: redis.asyncio.Redis) -> None:
    try:
        await pubsub.aclose()
        await client.aclose()
    except (RedisError, OSError) as exc:
        logger.debug("closing the task event channel failed: %r", exc)
