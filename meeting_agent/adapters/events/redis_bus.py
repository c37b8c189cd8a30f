"""`EventBus` on Redis pub/sub, so a watcher on any replica sees any worker's events.

Each task has its own channel, `meeting-agent:task-events:<task_id>`, carrying the JSON
of `codec`. Pub/sub keeps nothing: a message published while nobody listens, or while a
subscriber reconnects, is gone. That is acceptable because events are stored before they
are published, and watchers re-read the store whenever they may have missed one.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

import redis.asyncio
from redis import Redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from meeting_agent.adapters.events.codec import EventDecodeError, decode_event, encode_event
from meeting_agent.domain.models import TaskEvent
from meeting_agent.errors import Unavailable

__all__ = ["CHANNEL_PREFIX", "RedisEventBus", "RedisEventSubscription", "channel_for"]

logger = logging.getLogger(__name__)

CHANNEL_PREFIX = "meeting-agent:task-events:"
EVENTS_UNAVAILABLE = "EVENTS_UNAVAILABLE"


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
            logger.warning("could not publish event %d of task %s (%s); not publishing for "
                           "%.0f s: watchers fall back to the stored events", event.sequence,
                           event.task_id, exc.__class__.__name__, self._backoff_seconds)

    def subscribe(self, task_id: str) -> RedisEventSubscription:
        """Start subscribing on the running asyncio loop; `next` waits until it is live.

        Raises `RuntimeError` when called outside a running loop.
        """
        return RedisEventSubscription(
            self._url, task_id, connect_timeout_seconds=self._connect_timeout_seconds)

    def check(self) -> None:
        """Raise `Unavailable` when Redis does not answer (for health checks)."""
        try:
            self._redis.ping()
        except RedisError as exc:
            raise Unavailable("the event bus is unavailable", reason=EVENTS_UNAVAILABLE) from exc

    def close(self) -> None:
        self._redis.close()


class RedisEventSubscription:
    """One task's channel on its own pub/sub connection, for one asyncio loop.

    The connection is made in the background from the moment of `subscribe`; `next`
    waits for it (within its timeout). When Redis is unreachable or the connection drops,
    `next` behaves as if no event came, and the next call tries to connect again, at most
    once per `reconnect_interval_seconds`.
    """

    def __init__(
        self,
        redis_url: str,
        task_id: str,
        *,
        connect_timeout_seconds: float = 1.0,
        reconnect_interval_seconds: float = 1.0,
    ) -> None:
        self.task_id = task_id
        self._url = redis_url
        self._channel = channel_for(task_id)
        self._connect_timeout_seconds = connect_timeout_seconds
        self._reconnect_interval_seconds = reconnect_interval_seconds
        self._loop = asyncio.get_running_loop()
        self._client: redis.asyncio.Redis | None = None
        self._pubsub: Any = None  # redis.asyncio.client.PubSub, untyped upstream
        self._closed = False
        self._next_attempt = 0.0
        self._failed_attempts = 0
        self._connecting: asyncio.Task[bool] | None = self._start_connecting()

    @property
    def closed(self) -> bool:
        return self._closed

    async def wait_ready(self, timeout: float) -> bool:
        """Wait until the channel is subscribed; False if that did not happen in time.

        Events published after this returns True reach `next`. Optional: `next` waits too.
        """
        return await self._ensure_connected(self._loop.time() + timeout)

    async def next(self, timeout: float) -> TaskEvent | None:
        """The next event, or None after `timeout` seconds without one (or once closed)."""
        deadline = self._loop.time() + timeout
        if self._closed:
            return None
        if not await self._ensure_connected(deadline):
            await self._sleep_until(deadline)
            return None
        while (remaining := deadline - self._loop.time()) > 0:
            try:
                message = await self._pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=remaining)
            except (RedisError, OSError) as exc:
                logger.warning("lost the event channel of task %s: %s", self.task_id,
                               exc.__class__.__name__)
                self._failed_attempts = 1  # the outage is reported; retries log quietly
                await self._disconnect()
                await self._sleep_until(deadline)
                return None
            if message is None or message.get("type") != "message":
                continue
            try:
                return decode_event(message["data"])
            except EventDecodeError as exc:
                logger.warning("ignoring a malformed event on %s: %s", self._channel, exc)
        return None

    async def close(self) -> None:
        """Unsubscribe and close the connection. Idempotent."""
        self._closed = True
        connecting, self._connecting = self._connecting, None
        if connecting is not None and not connecting.done():
            connecting.cancel()
            try:
                await connecting
            except asyncio.CancelledError:
                # Ours, from the cancel above, unless our own caller is being cancelled.
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    await self._disconnect()
                    raise
        await self._disconnect()

    def _start_connecting(self) -> asyncio.Task[bool]:
        self._next_attempt = self._loop.time() + self._reconnect_interval_seconds
        return self._loop.create_task(self._connect(), name=f"subscribe {self._channel}")

    async def _ensure_connected(self, deadline: float) -> bool:
        if self._pubsub is not None:
            return True
        if self._closed:
            return False
        if self._connecting is None:
            # The last attempt failed; the next waits out the reconnect interval.
            wait = self._next_attempt - self._loop.time()
            if wait >= deadline - self._loop.time():
                return False
            if wait > 0:
                await asyncio.sleep(wait)
            if self._pubsub is not None or self._closed:  # a concurrent caller got there
                return self._pubsub is not None
            if self._connecting is None:
                self._connecting = self._start_connecting()
        connecting = self._connecting
        remaining = deadline - self._loop.time()
        if remaining <= 0:
            return False
        try:
            # Shielded: a `next` that times out leaves the connection attempt running.
            connected = await asyncio.wait_for(asyncio.shield(connecting), remaining)
        except TimeoutError:
            return False
        if self._connecting is connecting:
            self._connecting = None
        return connected

    async def _connect(self) -> bool:
        """Subscribe and wait for Redis to confirm it; False (logged) on failure."""
        client = redis.asyncio.Redis.from_url(
            self._url,
            socket_connect_timeout=self._connect_timeout_seconds,
            socket_keepalive=True,
            retry=Retry(NoBackoff(), 0),
        )
        pubsub = client.pubsub()
        try:
            await pubsub.subscribe(self._channel)
            # The confirmation proves the subscription is live; only then can a watcher
            # read the stored events without missing what is published afterwards.
            deadline = self._loop.time() + self._connect_timeout_seconds
            while (remaining := deadline - self._loop.time()) > 0:
                message = await pubsub.get_message(timeout=remaining)
                if message is not None and message.get("type") == "subscribe":
                    self._client, self._pubsub = client, pubsub
                    if self._failed_attempts:
                        logger.info("subscribed to the events of task %s again", self.task_id)
                    self._failed_attempts = 0
                    return True
            raise TimeoutError("no subscribe confirmation")
        except (RedisError, OSError) as exc:
            self._failed_attempts += 1
            # Once per outage at warning: a watcher retries every second while it lasts.
            logger.log(logging.WARNING if self._failed_attempts == 1 else logging.DEBUG,
                       "could not subscribe to the events of task %s: %s", self.task_id,
                       exc.__class__.__name__)
        except asyncio.CancelledError:
            await _close_quietly(pubsub, client)
            raise
        await _close_quietly(pubsub, client)
        return False

    async def _disconnect(self) -> None:
        pubsub, client = self._pubsub, self._client
        self._pubsub = self._client = None
        if client is not None:
            await _close_quietly(pubsub, client)

    async def _sleep_until(self, deadline: float) -> None:
        await asyncio.sleep(max(0.0, deadline - self._loop.time()))


async def _close_quietly(pubsub: Any, client: redis.asyncio.Redis) -> None:
    try:
        await pubsub.aclose()
        await client.aclose()
    except (RedisError, OSError) as exc:
        logger.debug("closing an event channel failed: %r", exc)
