"""Event bus adapters: implementations of `meeting_agent.ports.EventBus`.

`local` fans events out inside one process (the embedded default, where jobs run on the
server's threads); `redis_bus` carries them between processes and hosts with Redis
pub/sub. Both are best effort: watchers treat the stored events as the truth.
"""

from __future__ import annotations

from meeting_agent.config import Settings
from meeting_agent.ports import EventBus

__all__ = ["build_event_bus"]


def build_event_bus(settings: Settings) -> EventBus:
    """The configured bus (`Settings.resolved_event_backend`)."""
    if settings.resolved_event_backend == "redis":
        # Imported here so that the embedded default never loads redis.
        from meeting_agent.adapters.events.redis_bus import RedisEventBus

        return RedisEventBus(settings.resolved_event_redis_url)
    from meeting_agent.adapters.events.local import InProcessEventBus

    return InProcessEventBus()
