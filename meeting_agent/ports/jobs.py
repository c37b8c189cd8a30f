"""Jobs: the queue that runs a task's pipeline, and what a running job hands each of its
stages (progress reporting, cancellation checks, checkpoints) with the exceptions
that stop a stage. Ports are what the services need from infrastructure;
`meeting_agent.adapters.jobs` implements the queue (inline or RQ), and the pipeline
runner hands its stages the rest, checkpoints kept in the object store.
"""

from __future__ import annotations

from typing import Protocol


class JobQueue(Protocol):
    """Runs `process_task(task_id)` somewhere. The task row stays the source of truth:
    a failed enqueue loses nothing, because the reconciler enqueues queued tasks again."""

    def enqueue(self, task_id: str) -> bool:
        """Queue the task behind the others, unless a job for it is already queued or
        running; True when a job was queued."""
        ...

    def has_live_job(self, task_id: str) -> bool: ...

    def requeue(self, task_id: str) -> bool:
        """Queue an orphaned task again, ahead of new work, unless a job for it is still
        live (queued, waiting for a retry, or running in a process that is alive);
        True when a job was queued. Idempotent: a waiting job keeps its place."""
        ...

    def check(self) -> None:
        """Raise `Unavailable` when jobs cannot be queued (for health checks)."""
        ...

    def close(self, timeout: float | None = None) -> bool:
        """Take no more jobs and wait up to `timeout` seconds (None: for ever) for the
        ones running in this process; True when none is left running."""
        ...


class TaskCancelled(Exception):
    """Raised at a safe point when the task's cancellation was requested."""


class JobInterrupted(TaskCancelled):
    """Raised at a safe point when the process running the job is shutting down: the
    job stops and hands its task back, to be resumed from its checkpoints elsewhere.

    A `TaskCancelled`, so that every stage that stops for a cancellation stops for this.
    """


class CancellationCheck(Protocol):
    def __call__(self) -> None:
        """Raise `TaskCancelled` if the task was cancelled; call it at safe points."""
        ...


class ProgressReporter(Protocol):
    def __call__(self, fraction: float, message: str = "") -> None:
        """Report progress within the current stage, 0.0 to 1.0."""
        ...


class Checkpoints(Protocol):
    """Durable scratch space of one task's stage, so a retried job resumes, not restarts.

    A provider saves what it paid for (a chunk's text, a vendor's job id) as soon as it
    has it, and loads it first on the next attempt.
    """

    def load(self, name: str) -> bytes | None: ...

    def save(self, name: str, data: bytes) -> None: ...
