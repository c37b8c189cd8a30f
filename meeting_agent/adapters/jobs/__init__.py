"""Job queue adapters: implementations of `meeting_agent.ports.JobQueue`.

`inline` runs jobs on threads inside the server (the embedded default); `rq_queue`
puts them on Redis for `worker.py` processes (production). Both run the same job code.
"""

from __future__ import annotations

from collections.abc import Callable

from meeting_agent.config import Settings
from meeting_agent.ports import JobQueue

__all__ = ["build_job_queue"]


def build_job_queue(settings: Settings, run: Callable[[str], None]) -> JobQueue:
    """The configured queue. `run(task_id)` is what inline jobs call; RQ workers import
    `meeting_agent.jobs.process_task` by name instead."""
    if settings.jobs.backend == "rq":
        # Imported here so that the embedded default never loads rq.
        from meeting_agent.adapters.jobs.rq_queue import RqJobQueue

        return RqJobQueue(
            settings.jobs.redis_url,
            queue_name=settings.jobs.queue_name,
            job_timeout_seconds=settings.jobs.job_timeout_seconds,
            retry_intervals_seconds=settings.jobs.retry_intervals_seconds,
        )
    from meeting_agent.adapters.jobs.inline import InlineJobQueue

    return InlineJobQueue(
        run, workers=settings.jobs.resolved_inline_workers, nice=settings.jobs.inline_nice
    )
