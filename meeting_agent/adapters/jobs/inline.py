"""`JobQueue` on a bounded pool of threads inside the server process.

The embedded default needs no Redis and no second process. The price is that jobs live
and die with the server: a job queued here when the server stops is gone, but its task
is still QUEUED (or RUNNING under a lease that goes stale) in the database, and the
reconciler enqueues it again after the next start.
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from meeting_agent.errors import Unavailable

__all__ = ["InlineJobQueue"]

logger = logging.getLogger(__name__)


def _lower_priority(nice: int) -> None:
    """Run this job thread, and the threads it starts (CTranslate2's, onnxruntime's), at
    a lower CPU priority than the RPCs on the event loop: a transcription must not make
    the service slow to answer. Linux schedules threads one by one, and a thread's
    nice value passes to the threads it creates."""
    if nice <= 0 or not hasattr(os, "setpriority"):
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
    except OSError as exc:
        logger.debug("could not lower the job threads' priority: %s", exc)


class InlineJobQueue:
    """Runs `run(task_id)` on at most `workers` threads, one job per task at a time.

    `enqueue` returns at once; jobs wait in an in-memory queue for a free thread. An
    exception from `run` is logged with its traceback and the thread moves on to the next
    job: the job code records failures on the task itself, so this is a last resort.
    """

    def __init__(self, run: Callable[[str], None], *, workers: int, nice: int = 0) -> None:
        if workers < 1:
            raise ValueError(f"workers must be positive, got {workers}")
        self._run = run
        self._executor = ThreadPoolExecutor(
            max_workers=workers,
            thread_name_prefix="meeting-agent-job",
            initializer=_lower_priority,
            initargs=(nice,),
        )
        self._lock = threading.Lock()
        # Task id -> the job queued or running for it.
        self._live: dict[str, Future[None]] = {}
        self._closed = False

    def enqueue(self, task_id: str) -> bool:
        """Queue a job unless one for the task is already queued or running here; True
        when a job was queued.

        Raises `Unavailable` (`QUEUE_UNAVAILABLE`) after `close`.
        """
        with self._lock:
            if self._closed:
                raise Unavailable("the job queue is shut down", reason="QUEUE_UNAVAILABLE")
            if task_id in self._live:
                logger.debug("task %s already has a job; not queueing another", task_id)
                return False
            future = self._executor.submit(self._execute, task_id)
            self._live[task_id] = future
        future.add_done_callback(lambda done: self._forget(task_id, done))
        return True

    def requeue(self, task_id: str) -> bool:
        """A task no job of this process holds was left by an earlier process; queue it
        (threads take jobs in order, so there is no front to put it at)."""
        return self.enqueue(task_id)

    def check(self) -> None:
        with self._lock:
            if self._closed:
                raise Unavailable("the job queue is shut down", reason="QUEUE_UNAVAILABLE")

    def has_live_job(self, task_id: str) -> bool:
        with self._lock:
            return task_id in self._live

    def live_job_count(self) -> int:
        """Jobs queued or running (for metrics and tests)."""
        with self._lock:
            return len(self._live)

    def close(self, timeout: float | None = None) -> bool:
        """Refuse new jobs and drop the ones not started yet (their tasks stay QUEUED),
        then wait up to `timeout` seconds for the running ones; True if they all ended.

        Running jobs stop early only if told to (`PipelineRunner.interrupt`).
        """
        with self._lock:
            self._closed = True
            running = list(self._live.values())
        self._executor.shutdown(wait=False, cancel_futures=True)
        # A future cancelled before it started never counts as done for `wait`.
        running = [future for future in running if not future.cancelled()]
        _, not_done = concurrent.futures.wait(running, timeout=timeout)
        return not not_done

    def _execute(self, task_id: str) -> None:
        try:
            self._run(task_id)
        except Exception:
            logger.exception("job for task %s failed", task_id)

    def _forget(self, task_id: str, done: Future[None]) -> None:
        with self._lock:
            # A newer job for the task may have been queued after this one finished.
            if self._live.get(task_id) is done:
                del self._live[task_id]
