"""Recording a running task's state, stage and percent as stored, published events."""

from __future__ import annotations

import logging
import time

from meeting_agent.domain.models import (
    ProviderFallback,
    Task,
    TaskError,
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

    def _record(self, event_type: TaskEventType, message: str, **changes: object) -> Task:
        with self._uow_factory() as uow:
            task = uow.tasks.get(self._tenant_id, self._task_id, for_update=True)
            if task is None:
                raise NotFound(f"tasks/{self._task_id}")
            for name, value in changes.items():
                setattr(task, name, value)
            task.update_time = self._clock.now()
            event = record_event(uow, task, event_type, message, self._clock)
            uow.tasks.save(task)
            uow.commit()
        self._events.publish(event)
        self._last_emit = time.monotonic()
        return task

    def started(self, attempt: int) -> None:
        message = (
            "processing started" if attempt <= 1 else f"processing resumed (attempt {attempt})"
        )
        self._record(TaskEventType.STATE_CHANGED, message)

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
        self._record(
            TaskEventType.STAGE_CHANGED, message, stage=stage, progress_percent=self.percent
        )

    def within(self, stage: TaskStage, fraction: float, message: str = "") -> None:
        low, high = self.span(stage)
        percent = low + int((high - low) * min(max(fraction, 0.0), 1.0))
        if percent <= self.percent:
            return
        if time.monotonic() - self._last_emit < MIN_PROGRESS_INTERVAL_SECONDS and percent < high:
            return
        self.percent = percent
        self._record(TaskEventType.PROGRESS, message or self._doing, progress_percent=percent)

    def finished(
        self, state: TaskState, message: str, *, error: TaskError | None = None, **changes: object
    ) -> Task:
        final_changes: dict[str, object] = {
            "state": state,
            "error": error,
            "end_time": self._clock.now(),
            **changes,
        }
        if state is TaskState.SUCCEEDED:
            final_changes.update(stage=TaskStage.DONE, progress_percent=100)
        task = self._record(TaskEventType.STATE_CHANGED, message, **final_changes)
        self.timeline.finish(state.value, task.audio_duration_seconds)
        return task

    def requeued(self, message: str) -> None:
        self.timeline.close(TaskState.QUEUED.value)
        self._record(TaskEventType.STATE_CHANGED, message, state=TaskState.QUEUED)

    def handed_back(self, message: str) -> None:
        """Back to QUEUED without a failure: the next claim resumes from the checkpoints."""
        self.timeline.close("interrupted")
        self._record(TaskEventType.STATE_CHANGED, message, state=TaskState.QUEUED)

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

    def update(self, **changes: object) -> None:
        """Change task fields without an event (for example the audio duration)."""
        with self._uow_factory() as uow:
            task = uow.tasks.get(self._tenant_id, self._task_id, for_update=True)
            if task is None:
                return
            for name, value in changes.items():
                setattr(task, name, value)
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
            task.fallbacks = [*(f for f in task.fallbacks if f.output != fallback.output), fallback]
        task.update_time = clock.now()
        event = record_event(uow, task, TaskEventType.WARNING, message, clock, reason=reason)
        uow.tasks.save(task)
        uow.commit()
    events.publish(event)
