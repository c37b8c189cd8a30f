"""Keeping an RQ worker working through Redis outages.

RQ's worker retries a failed dequeue for ever, but an error anywhere else in its loop
(a heartbeat, the maintenance, its bookkeeping after a job) makes it log "quitting" and
return, and `worker.py` would exit with nothing to restart it but a supervisor. Here a
worker that stops without having been asked to is replaced by a new one (a new name:
RQ may still remember the old), after a back-off that grows while Redis stays away.
"""

from __future__ import annotations

import logging
import random
import signal
import threading
import time
from types import FrameType

from redis.exceptions import RedisError, ResponseError
from rq import Worker
from rq.scheduler import RQScheduler

from meeting_agent.adapters.jobs.rq_queue import build_worker
from meeting_agent.config import Settings

__all__ = ["work_until_stopped"]

logger = logging.getLogger(__name__)

_BACKOFF_SECONDS = (0.5, 1.0, 2.0, 5.0, 10.0)


def work_until_stopped(settings: Settings, *, burst: bool = False) -> int:
    """Run workers one after another until SIGTERM/SIGINT (or, with `burst`, until the
    queue is empty); returns the exit code."""
    stopping = threading.Event()
    failures = 0
    # Schedulers of replaced workers: their lock, if Redis kept it, would bar the new
    # worker's scheduler for a minute; each is released once Redis answers.
    orphaned_schedulers: list[RQScheduler] = []
    while True:
        orphaned_schedulers = [s for s in orphaned_schedulers if not _released(s)]
        worker: Worker | None = None
        failed = False
        started = time.monotonic()
        try:
            # Building one talks to Redis already (it names its connection).
            worker = build_worker(settings.jobs)
            # The scheduler moves failed jobs back to the queue after their retry interval.
            worker.work(burst=burst, with_scheduler=True, logging_level=settings.log_level)
        except ResponseError as exc:
            # A SIGTERM that lands while a heartbeat pipeline is in flight can leave RQ's
            # shutdown bookkeeping reading the wrong replies; the jobs are settled.
            if worker is None or not _asked_to_stop(worker):
                failed = True
                logger.warning("the worker stopped on a Redis error: %s", exc)
        except RedisError as exc:
            failed = True
            logger.warning("the worker lost Redis (%s)", exc.__class__.__name__)
        if (worker is not None and _asked_to_stop(worker)) or stopping.is_set():
            return 0
        if burst and not failed:
            return 0
        if worker is not None and worker.scheduler is not None:
            orphaned_schedulers.append(worker.scheduler)
        # RQ returned on its own: an error it logged as "quitting". Start another.
        if time.monotonic() - started > 60:
            failures = 0  # it worked for a while: this is a new outage
        delay = _BACKOFF_SECONDS[min(failures, len(_BACKOFF_SECONDS) - 1)]
        failures += 1
        logger.warning("starting a new worker in %.1f s", delay)
        if _sleep_unless_stopped(delay * random.uniform(0.8, 1.2), stopping):
            return 0


def _asked_to_stop(worker: object) -> bool:
    return bool(
        getattr(worker, "shutdown_requested", False) or getattr(worker, "_stop_requested", False)
    )


def _sleep_unless_stopped(seconds: float, stopping: threading.Event) -> bool:
    """Sleep, but wake and return True on SIGTERM or SIGINT."""

    def stop(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        return stopping.wait(seconds)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _released(scheduler: RQScheduler) -> bool:
    """Release a replaced scheduler's locks (only if it still holds them); False while
    Redis does not answer."""
    try:
        scheduler.release_locks()  # type: ignore[no-untyped-call]
    except RedisError:
        return False
    return True
