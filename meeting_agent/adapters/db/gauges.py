"""Gauges read when metrics are exported: tasks by state, queue depth and queue age.

They are asynchronous instruments: the callbacks run on the metric reader's thread at
each export, so a server that exports nothing never runs the queries. Every replica
reports the same database-wide numbers; dashboards should take the max, not the sum.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Protocol

from opentelemetry.metrics import CallbackOptions, Observation
from sqlalchemy import Engine, func, select

from meeting_agent.adapters.db.models import TaskRow
from meeting_agent.telemetry.instruments import METER

_LOGGER = logging.getLogger(__name__)


class _MeasurableQueue(Protocol):
    def queue_depth(self) -> int: ...

    def oldest_queued_age_seconds(self) -> float: ...


def _guarded(
    read: Callable[[], Iterable[Observation]],
) -> Callable[[CallbackOptions], Iterable[Observation]]:
    # A database or Redis outage must cost one missing sample, not the exporter thread.
    def callback(_options: CallbackOptions) -> Iterable[Observation]:
        try:
            return list(read())
        except Exception as exc:
            _LOGGER.debug("metric callback failed: %s", exc.__class__.__name__)
            return []

    return callback


def register_gauges(engine: Engine, queue: object | None) -> None:
    """Register the gauges; `queue` is measured when it can say its depth (RQ)."""

    def tasks_by_state() -> Iterable[Observation]:
        with engine.connect() as connection:
            rows = connection.execute(
                select(TaskRow.state, func.count()).group_by(TaskRow.state)
            ).all()
        return [Observation(count, {"meeting_agent.task.state": state}) for state, count in rows]

    METER.create_observable_gauge(
        "meeting_agent.tasks",
        callbacks=[_guarded(tasks_by_state)],
        unit="{task}",
        description="Tasks stored in each state.",
    )
    if not (hasattr(queue, "queue_depth") and hasattr(queue, "oldest_queued_age_seconds")):
        return
    measurable: _MeasurableQueue = queue
    METER.create_observable_gauge(
        "meeting_agent.queue.depth",
        callbacks=[_guarded(lambda: [Observation(measurable.queue_depth())])],
        unit="{job}",
        description="Jobs waiting in the queue.",
    )
    METER.create_observable_gauge(
        "meeting_agent.queue.oldest_age",
        callbacks=[_guarded(lambda: [Observation(measurable.oldest_queued_age_seconds())])],
        unit="s",
        description="How long the job at the head of the queue has waited.",
    )
