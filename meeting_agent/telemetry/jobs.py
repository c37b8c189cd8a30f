"""Spans and metrics of a job: one span per job, one child span per pipeline stage.

The job span continues the trace of the RPC that created the task, through the
`traceparent` stored on the task (see `propagation`), so inline jobs, RQ jobs in other
processes, retries and re-enqueued tasks all land in the creating request's trace.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from opentelemetry import context as otel_context
from opentelemetry import trace

from meeting_agent.telemetry import instruments
from meeting_agent.telemetry.propagation import context_from_traceparent

_TRACER = trace.get_tracer("meeting_agent.jobs")


@contextmanager
def job_span(task_id: str, *, traceparent: str, attempt: int) -> Iterator[trace.Span]:
    """The current span for the duration of one job run of a task."""
    with _TRACER.start_as_current_span(
        "job process_task",
        context=context_from_traceparent(traceparent),
        kind=trace.SpanKind.CONSUMER,
        attributes={"meeting_agent.task_id": task_id, "meeting_agent.job.attempt": attempt},
    ) as span:
        yield span


def record_queue_wait(created: datetime, claimed: datetime) -> None:
    instruments.job_queue_wait.record(max(0.0, (claimed - created).total_seconds()))


def record_state_change(state: str) -> None:
    instruments.task_state_changes.add(1, {"meeting_agent.task.state": state})


class StageTimeline:
    """Times the stages of one job: a span and a duration sample per stage.

    Stages run one after another on the job's thread, so the open stage's span is made
    the current span (provider calls made during it become its children) and detached
    again, in order, before the next one starts.
    """

    def __init__(self) -> None:
        self._started = time.monotonic()
        self._stage: str | None = None
        self._stage_started = 0.0
        self._span: trace.Span | None = None
        self._token: object | None = None
        self._transcribed = False

    def enter(self, stage: str) -> None:
        self.close()
        name = stage.lower()
        self._transcribed = self._transcribed or name == "transcribe"
        self._stage, self._stage_started = name, time.monotonic()
        self._span = _TRACER.start_span(f"stage {name}", attributes={"meeting_agent.stage": name})
        self._token = otel_context.attach(trace.set_span_in_context(self._span))

    def close(self, outcome: str = "") -> None:
        """End the open stage, if any; a non-empty `outcome` other than SUCCEEDED marks
        its span as an error (a stage that ended the task any other way failed)."""
        if self._span is None or self._stage is None:
            return
        elapsed = time.monotonic() - self._stage_started
        instruments.stage_duration.record(elapsed, {"meeting_agent.stage": self._stage})
        if outcome and outcome.lower() != "succeeded":
            self._span.set_status(trace.StatusCode.ERROR, outcome)
        if self._token is not None:
            otel_context.detach(self._token)  # type: ignore[arg-type]
        self._span.end()
        self._span, self._stage, self._token = None, None, None

    def finish(self, state: str, audio_seconds: float | None) -> None:
        """End the last stage; a job that transcribed audio reports its real-time factor
        (a resumed job that found the transcript stored would understate it)."""
        self.close(state)
        if state.lower() == "succeeded" and self._transcribed and audio_seconds:
            instruments.real_time_factor.record((time.monotonic() - self._started) / audio_seconds)
