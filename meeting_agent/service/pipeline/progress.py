"""Recording a running task's state, stage and percent as stored, published events."""

from __future__ import annotations

import logging
import time

from meeting_agent.domain.models import Task, TaskError, TaskEventType, TaskStage, TaskState
from meeting_agent.errors import NotFound
from meeting_agent.ports import Clock, EventBus, UnitOfWorkFactory
from meeting_agent.service.tasks import record_event
from meeting_agent.telemetry.jobs import StageTimeline

_LOGGER = logging.getLogger(__name__)

# Where each stage sits in the overall percent. Transcription dominates the work.
STAGE_SPANS: dict[TaskStage, tuple[int, int]] = {
    TaskStage.FETCH_AUDIO: (0, 3),
    TaskStage.DECODE: (3, 8),
    TaskStage.TRANSCRIBE: (8, 80),
    TaskStage.DIARIZE: (80, 90),
    TaskStage.APPLY_SPEAKER_MAPPINGS: (90, 91),
    TaskStage.GENERATE_MINUTES: (91, 99),
    TaskStage.DONE: (100, 100),
}

MIN_PROGRESS_INTERVAL_SECONDS = 1.0


class TaskProgress:
    """Writes each change of one task as an event (stored first, then published).

    Progress within a stage is throttled to whole percents and at most one event per
    second, so a long transcription does not flood the event log.
    """

    def __init__(self, task: Task, uow_factory: UnitOfWorkFactory, clock: Clock,
                 events: EventBus) -> None:
        self._task_id = task.id
        self._tenant_id = task.tenant_id
        self._uow_factory = uow_factory
        self._clock = clock
        self._events = events
        self._last_emit = 0.0
        self.percent = task.progress_percent
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
        message = ("processing started" if attempt <= 1
                   else f"processing resumed (attempt {attempt})")
        self._record(TaskEventType.STATE_CHANGED, message)

    def stage(self, stage: TaskStage, message: str) -> None:
        self.percent = max(self.percent, STAGE_SPANS[stage][0])
        self.timeline.enter(stage.value)
        self._record(TaskEventType.STAGE_CHANGED, message, stage=stage,
                     progress_percent=self.percent)

    def within(self, stage: TaskStage, fraction: float, message: str = "") -> None:
        low, high = STAGE_SPANS[stage]
        percent = low + int((high - low) * min(max(fraction, 0.0), 1.0))
        if percent <= self.percent:
            return
        if time.monotonic() - self._last_emit < MIN_PROGRESS_INTERVAL_SECONDS and percent < high:
            return
        self.percent = percent
        self._record(TaskEventType.PROGRESS, message, progress_percent=percent)

    def finished(self, state: TaskState, message: str, *, error: TaskError | None = None,
                 **changes: object) -> Task:
        final_changes: dict[str, object] = {
            "state": state, "error": error, "end_time": self._clock.now(), **changes}
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
