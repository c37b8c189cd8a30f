"""Finding tasks that no job is working on, and queueing them again.

The task row is the source of truth and the job queue only a way to run it: a task
accepted while the queue was down, or whose worker died mid-job, is picked up here.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from meeting_agent.domain.models import TaskState
from meeting_agent.errors import MeetingAgentError
from meeting_agent.ports import Clock, JobQueue, UnitOfWorkFactory

_LOGGER = logging.getLogger(__name__)


class Reconciler:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        queue: JobQueue,
        clock: Clock,
        *,
        lease_timeout_seconds: float,
        queued_grace_seconds: float,
        batch: int = 500,
    ) -> None:
        self._uow_factory = uow_factory
        self._queue = queue
        self._clock = clock
        self._lease_timeout = timedelta(seconds=lease_timeout_seconds)
        # A task queued a moment ago may simply not have reached the queue yet.
        self._queued_grace = timedelta(seconds=queued_grace_seconds)
        self._batch = batch

    def run_once(self) -> int:
        """Requeue every orphaned task; returns how many got a new job.

        Orphans: QUEUED tasks older than the grace period (accepted while the queue was
        down, or handed back by a process that shut down) and RUNNING tasks whose lease
        went stale. One whose job is still live (waiting, or running in a process that
        is alive) is left alone, so a waiting job keeps its place and replicas finding
        the same orphan requeue it once. The others go ahead of new work, oldest first.
        """
        now = self._clock.now()
        try:
            with self._uow_factory(read_only=True) as uow:
                orphans = uow.tasks.find_orphans(
                    stale_before=now - self._lease_timeout,
                    queued_before=now - self._queued_grace,
                    limit=self._batch,
                )
        except MeetingAgentError as exc:
            _LOGGER.warning("reconciler could not read tasks: %s", exc.message)
            return 0
        requeued = 0
        # Each goes to the front of the queue, so the oldest is pushed last.
        for task in sorted(orphans, key=lambda t: (t.create_time, t.id), reverse=True):
            try:
                if self._queue.requeue(task.id):
                    requeued += 1
                    _LOGGER.info(
                        "requeued tasks/%s (%s%s)",
                        task.id,
                        task.state.value,
                        ", lease stale" if task.state is TaskState.RUNNING else "",
                    )
            except MeetingAgentError as exc:
                # The queue is down; every orphan stays in the table for the next round.
                _LOGGER.warning("reconciler could not requeue tasks/%s: %s", task.id, exc.message)
                break
        return requeued
