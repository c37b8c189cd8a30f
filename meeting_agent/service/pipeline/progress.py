"""Recording a running task's state, stage and percent as stored, published events."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime

from meeting_agent.domain.models import (
    ProviderFallback,
    Task,
    TaskError,
    TaskEvent,
    TaskEventType,
    TaskStage,
    TaskState,
)
from meeting_agent.errors import NotFound
from meeting_agent.ports import Clock, EventBus, UnitOfWorkFactory
from meeting_agent.service.pipeline.plan import (
    PIPELINE_ORDER,
    Workload,
    stage_costs,
    stage_spans,
)
from meeting_agent.service.tasks import record_event
from meeting_agent.telemetry.jobs import StageTimeline

_LOGGER = logging.getLogger(__name__)

MIN_PROGRESS_INTERVAL_SECONDS = 1.0


class TaskProgress:
    """Writes each change of one task as an event (stored first, then published).

    Each stage fills a span of the percent as wide as its expected share of the time
    (see `plan`); progress within a stage is throttled to whole percents and at most
    one event per second, so a long transcription does not flood the event log.
    """

    def __init__(
        self, task: Task, uow_factory: UnitOfWorkFactory, clock: Clock, events: EventBus
    ) -> None:
        self._task_id = task.id
        self._tenant_id = task.tenant_id
        self._uow_factory = uow_factory
        self._clock = clock
        self._events = events
        self._last_emit = 0.0
        self.percent = task.progress_percent
        self._spans = stage_spans(stage_costs(Workload(audio_seconds=None)), start=self.percent)
        # What a progress event says when its reporter says nothing: what the stage does.
        self._doing = ""
        # A span and a duration per stage; the runner closes it if the job dies mid-stage.
        self.timeline = StageTimeline()

    def _record(self, change: Callable[[Task, datetime], TaskEvent]) -> Task:
        """Apply one change to the stored task, under its row lock, then publish its event."""
        with self._uow_factory() as uow:
            task = uow.tasks.get(self._tenant_id, self._task_id, for_update=True)
            if task is None:
                raise NotFound(f"tasks/{self._task_id}")
            event = record_event(uow, task, change(task, self._clock.now()))
            uow.tasks.save(task)
            uow.commit()
        self._events.publish(event)
        self._last_emit = time.monotonic()
        return task

    def started(self, attempt: int) -> None:
        message = (
            "processing started" if attempt <= 1 else f"processing resumed (attempt {attempt})"
        )
        self._record(lambda task, now: task.event(TaskEventType.STATE_CHANGED, message, now))

    def plan(self, work: Workload, *, first: TaskStage = PIPELINE_ORDER[0]) -> None:
        """Share what is left of the percent between `first` and the stages after it,
        by their expected cost. Called again when the task learns more (the audio's
        length, whether the recogniser labelled speakers): earlier stages keep theirs,
        and the new spans start at the current percent, so it never goes back."""
        remaining = PIPELINE_ORDER[PIPELINE_ORDER.index(first) :]
        self._spans.update(stage_spans(stage_costs(work), start=self.percent, stages=remaining))

    def span(self, stage: TaskStage) -> tuple[int, int]:
        if stage is TaskStage.DONE:
            return 100, 100
        return self._spans.get(stage, (self.percent, self.percent))

    def stage(self, stage: TaskStage, message: str) -> None:
        self.percent = max(self.percent, self.span(stage)[0])
        self._doing = message
        self.timeline.enter(stage.value)
        percent = self.percent
        self._record(lambda task, now: task.progress(percent, message, now, stage=stage))

    def within(self, stage: TaskStage, fraction: float, message: str = "") -> None:
        low, high = self.span(stage)
        percent = low + int((high - low) * min(max(fraction, 0.0), 1.0))
        if percent <= self.percent:
            return
        if time.monotonic() - self._last_emit < MIN_PROGRESS_INTERVAL_SECONDS and percent < high:
            return
        self.percent = percent
        said = message or self._doing
        self._record(lambda task, now: task.progress(percent, said, now))

    def succeeded(self, message: str) -> Task:
        return self._ended(lambda task, now: task.succeed(message, now))

    def failed(self, message: str, error: TaskError) -> Task:
        return self._ended(lambda task, now: task.fail(error, message, now))

    def cancelled(self, message: str) -> Task:
        return self._ended(lambda task, now: task.stop(message, now))

    def _ended(self, change: Callable[[Task, datetime], TaskEvent]) -> Task:
        task = self._record(change)
        self.timeline.finish(task.state.value, task.audio_duration_seconds)
        return task

    def requeued(self, message: str) -> None:
        self.timeline.close(TaskState.QUEUED.value)
        self._record(lambda task, now: task.requeue(message, now))

    def handed_back(self, message: str) -> None:
        """Back to QUEUED without a failure: the next claim resumes from the checkpoints."""
        self.timeline.close("interrupted")
        self._record(lambda task, now: task.requeue(message, now))

    def warning(
        self, reason: str, message: str, *, fallback: ProviderFallback | None = None
    ) -> None:
        record_warning(
            self._uow_factory,
            self._clock,
            self._events,
            self._tenant_id,
            self._task_id,
            reason,
            message,
            fallback=fallback,
        )

    def audio_measured(self, seconds: float) -> None:
        """Keep the decoded audio's length on the task; no event."""
        with self._uow_factory() as uow:
            task = uow.tasks.get(self._tenant_id, self._task_id, for_update=True)
            if task is None:
                return
            task.audio_duration_seconds = seconds
            uow.tasks.save(task)
            uow.commit()


def record_warning(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    events: EventBus,
    tenant_id: str,
    task_id: str,
    reason: str,
    message: str,
    *,
    fallback: ProviderFallback | None = None,
) -> None:
    """A WARNING event on the task, stored then published; a fallback is also kept on
    the task, one per output (a later one of the same output replaces it)."""
    with uow_factory() as uow:
        task = uow.tasks.get(tenant_id, task_id, for_update=True)
        if task is None:
            return
        if fallback is not None:
            task.keep_fallback(fallback)
        event = record_event(
            uow, task, task.event(TaskEventType.WARNING, message, clock.now(), reason=reason)
        )
        uow.tasks.save(task)
        uow.commit()
    events.publish(event)
