"""The `jobs` and `events` sections of the settings, and the adapters they choose."""

from __future__ import annotations

import os

import pytest

from meeting_agent.adapters.events import build_event_bus
from meeting_agent.adapters.events.local import InProcessEventBus
from meeting_agent.adapters.events.redis_bus import RedisEventBus
from meeting_agent.adapters.jobs import build_job_queue
from meeting_agent.adapters.jobs.inline import InlineJobQueue
from meeting_agent.adapters.jobs.rq_queue import RqJobQueue
from meeting_agent.config import ConfigurationError, load_settings

pytestmark = pytest.mark.usefixtures("clean_env")


def test_the_embedded_default_runs_jobs_and_events_in_process() -> None:
    settings = load_settings()

    assert settings.jobs.backend == "inline"
    assert settings.jobs.resolved_inline_workers == (os.cpu_count() or 1)
    assert settings.jobs.retry_intervals_seconds == [10, 30, 60]
    assert settings.resolved_event_backend == "local"


def test_rq_jobs_bring_redis_events_on_the_same_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEETING_AGENT_JOBS__BACKEND", "rq")
    monkeypatch.setenv("MEETING_AGENT_JOBS__REDIS_URL", "redis://redis.internal:6379/2")
    monkeypatch.setenv("MEETING_AGENT_JOBS__RETRY_INTERVALS_SECONDS", "[5, 20]")

    settings = load_settings()

    assert settings.jobs.retry_intervals_seconds == [5, 20]
    assert settings.resolved_event_backend == "redis"
    assert settings.resolved_event_redis_url == "redis://redis.internal:6379/2"


def test_events_can_use_their_own_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEETING_AGENT_EVENTS__BACKEND", "redis")
    monkeypatch.setenv("MEETING_AGENT_EVENTS__REDIS_URL", "redis://events:6379/0")

    settings = load_settings()

    assert settings.jobs.backend == "inline"
    assert settings.resolved_event_backend == "redis"
    assert settings.resolved_event_redis_url == "redis://events:6379/0"


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"jobs": {"backend": "celery"}}, "MEETING_AGENT_JOBS__BACKEND"),
        ({"jobs": {"queue": "x"}}, "MEETING_AGENT_JOBS__QUEUE"),  # misspelt: refused
        (
            {"jobs": {"retry_intervals_seconds": [10, -1]}},
            "MEETING_AGENT_JOBS__RETRY_INTERVALS_SECONDS",
        ),
        ({"jobs": {"inline_workers": -1}}, "MEETING_AGENT_JOBS__INLINE_WORKERS"),
        ({"events": {"backend": "kafka"}}, "MEETING_AGENT_EVENTS__BACKEND"),
    ],
)
def test_bad_values_name_their_variable(overrides: dict[str, object], variable: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        load_settings(**overrides)
    assert variable in str(info.value)


def test_a_lease_must_outlive_several_heartbeats() -> None:
    with pytest.raises(ConfigurationError, match="heartbeat_timeout_seconds"):
        load_settings(jobs={"heartbeat_seconds": 30, "heartbeat_timeout_seconds": 60})


def test_rq_workers_cannot_publish_to_an_in_process_bus() -> None:
    with pytest.raises(ConfigurationError, match="MEETING_AGENT_EVENTS__BACKEND=local"):
        load_settings(jobs={"backend": "rq"}, events={"backend": "local"})


def test_the_factories_build_what_the_settings_say() -> None:
    embedded = load_settings()
    queue = build_job_queue(embedded, lambda task_id: None)
    assert isinstance(queue, InlineJobQueue)
    queue.close()
    assert isinstance(build_event_bus(embedded), InProcessEventBus)

    production = load_settings(jobs={"backend": "rq", "queue_name": "q"})
    queue = build_job_queue(production, lambda task_id: None)  # connects lazily
    assert isinstance(queue, RqJobQueue)
    assert queue.queue.name == "q"
    queue.close()
    bus = build_event_bus(production)
    assert isinstance(bus, RedisEventBus)
    bus.close()
