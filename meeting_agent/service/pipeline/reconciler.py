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
        batch: int = 100,
    ) -> None:
        self._uow_factory = uow_factory
        self._queue = queue
        self._clock = clock
        self._lease_timeout = timedelta(seconds=lease_timeout_seconds)
        # A task queued a moment ago may simply not have reached the queue yet.
        self._queued_grace = timedelta(seconds=queued_grace_seconds)
        self._batch = batch

    def run_once(self) -> int:
        """Enqueue every orphaned task; returns how many were enqueued."""
        now = self._clock.now()
        try:
            with self._uow_factory() as uow:
                orphans = uow.tasks.find_orphans(stale_before=now - self._lease_timeout,
                                                 queued_before=now - self._queued_grace,
                                                 limit=self._batch)
        except MeetingAgentError as exc:
            _LOGGER.warning("reconciler could not read tasks: %s", exc.message)
            return 0
        enqueued = 0
        for task in orphans:
            try:
                if task.state is TaskState.RUNNING:
                    # The lease, not the queue's bookkeeping, says whether a worker lives.
                    self._queue.requeue(task.id)
                elif self._queue.has_live_job(task.id):
                    continue
                else:
                    self._queue.enqueue(task.id)
                enqueued += 1
            except MeetingAgentError as exc:
                # The queue is down; every orphan stays in the table for the next round.
                _LOGGER.warning("reconciler could not enqueue tasks/%s: %s", task.id,
                                exc.message)
                break
        if enqueued:
            _LOGGER.info("reconciler enqueued %d orphaned task(s)", enqueued)
        return enqueued
