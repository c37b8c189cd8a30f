"""`JobQueue` on RQ and Redis, for `worker.py` processes on any number of hosts.

Each task has at most one job, because the job id is derived from the task id
(`task-<task_id>`): enqueueing checks that id and then adds the job atomically with RQ's
unique enqueue. A job that ended (finished, failed, stopped, cancelled) is replaced, so a
task can run again after a failure; a job that is queued, running, waiting for a retry or
deferred is left alone. The task row stays the source of truth: if Redis is down,
`enqueue` raises `Unavailable` and the reconciler enqueues the still-QUEUED task later.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from typing import Any

from redis import Redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError, WatchError
from redis.retry import Retry as RedisRetry
from rq import Queue, Retry, Worker
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.executions import ExecutionRegistry
from rq.job import Job, JobStatus
from rq.utils import current_timestamp, str_to_date

from meeting_agent.config import JobSettings
from meeting_agent.errors import Unavailable
from meeting_agent.reasons import QUEUE_UNAVAILABLE

__all__ = [
    "DEFAULT_JOB_PATH",
    "LIVENESS_PREFIX",
    "HandBackWorker",
    "RqJobQueue",
    "build_worker",
    "job_id_for",
    "liveness_key",
    "redis_client",
    "worker_name",
]

logger = logging.getLogger(__name__)

DEFAULT_JOB_PATH = "meeting_agent.jobs.process_task"

# Jobs that will still run, or are running: a second job for the task would be a duplicate.
_LIVE = frozenset({JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED})

# How often `enqueue` re-reads the job after losing a race with another replica.
_ENQUEUE_ATTEMPTS = 4


# A worker proves it is alive by refreshing this key (see `HandBackWorker`).
LIVENESS_PREFIX = "meeting-agent:worker-alive:"
LIVENESS_TTL_SECONDS = 6


def liveness_key(worker_name: str) -> str:
    return LIVENESS_PREFIX + worker_name


def job_id_for(task_id: str) -> str:
    """The RQ job id of a task's job: one id per task, so never two jobs for a task."""
    return f"task-{task_id}"


def redis_client(
    url: str, *, connect_timeout_seconds: float = 1.0, timeout_seconds: float = 2.0
) -> Redis:
    """A client that fails fast, for request paths that must not hang on a Redis outage.

    redis-py retries a failed command three times with backoff by default; one immediate
    retry is enough to replace a connection that went stale when Redis restarted.
    """
    return Redis.from_url(
        url,
        socket_connect_timeout=connect_timeout_seconds,
        socket_timeout=timeout_seconds,
        retry=RedisRetry(NoBackoff(), 1),
    )


@contextmanager
def _redis_errors(action: str) -> Iterator[None]:
    try:
        yield
    except RedisError as exc:
        logger.warning("job queue: could not %s: %s", action, exc.__class__.__name__)
        raise Unavailable("the job queue is unavailable", reason=QUEUE_UNAVAILABLE) from exc


class RqJobQueue:
    """Enqueues `job_path(task_id)` on the RQ queue `queue_name`.

    `job_path` is an import string, so the server never imports the job code. Failed jobs
    are retried `len(retry_intervals_seconds)` times, waiting each interval in turn (the
    workers run RQ's scheduler for that).
    """

    def __init__(
        self,
        redis_url: str,
        *,
        queue_name: str,
        job_timeout_seconds: int,
        retry_intervals_seconds: Sequence[int],
        job_path: str = DEFAULT_JOB_PATH,
    ) -> None:
        self._redis = redis_client(redis_url)
        self._queue = Queue(queue_name, connection=self._redis)
        self._job_timeout_seconds = job_timeout_seconds
        self._retry_intervals = list(retry_intervals_seconds)
        self._job_path = job_path

    @property
    def queue(self) -> Queue:
        return self._queue

    def enqueue(self, task_id: str) -> bool:
        """Queue the task's job unless a live one exists; replace a job that ended.

        Raises `Unavailable` (`QUEUE_UNAVAILABLE`) when Redis cannot be reached.
        """
        return self._enqueue(task_id, at_front=False)

    def requeue(self, task_id: str) -> bool:
        """Queue an orphaned task again, ahead of new work, unless a live job exists.

        A live job is one queued, waiting for a retry, or running on a worker that is
        alive; a job whose worker died (it stopped beating, see `HandBackWorker`) is
        replaced. Never moves a job that is waiting: requeueing is idempotent, and an
        orphan keeps its place however often replicas find it.
        """
        return self._enqueue(task_id, at_front=True)

    def _enqueue(self, task_id: str, *, at_front: bool) -> bool:
        job_id = job_id_for(task_id)
        with _redis_errors(f"enqueue {job_id}"):
            # Each pass either settles the matter or lost a race to another replica that
            # changed the same job in between; the next pass sees what that one did.
            for _ in range(_ENQUEUE_ATTEMPTS):
                if self._live_status(job_id) is not None:
                    logger.debug("job %s is already live; not enqueueing", job_id)
                    return False
                if not self._delete_ended(job_id):
                    continue
                try:
                    self._queue.enqueue_call(
                        self._job_path,
                        args=(task_id,),
                        job_id=job_id,
                        timeout=self._job_timeout_seconds,
                        retry=self._retry(),
                        description=f"process task {task_id}",
                        unique=True,
                        at_front=at_front,
                    )
                except DuplicateJobError:
                    continue
                logger.info("%s job %s", "requeued" if at_front else "enqueued", job_id)
                return True
        # Every pass lost a race, so other replicas are enqueueing this very task.
        logger.info("job %s is being enqueued concurrently; leaving it to the others", job_id)
        return False

    def has_live_job(self, task_id: str) -> bool:
        """Whether the task's job is queued, running, or waiting for a retry.

        Raises `Unavailable` when Redis cannot be reached, so that a reconciler skips
        the round instead of enqueueing everything again.
        """
        with _redis_errors("read a job"):
            return self._live_status(job_id_for(task_id)) is not None

    def queue_depth(self) -> int:
        """Jobs waiting in the queue (not running, not waiting for a retry)."""
        with _redis_errors("read the queue length"):
            return self._queue.count

    def oldest_queued_age_seconds(self) -> float:
        """How long the job at the head of the queue has waited; 0.0 when it is empty."""
        with _redis_errors("read the queue head"):
            for job_id in self._queue.get_job_ids(0, 10):
                enqueued_at = _rq_time(self._redis.hget(Job.key_for(job_id), "enqueued_at"))
                # A job deleted meanwhile has no hash: look at the next one.
                if enqueued_at is not None:
                    return max(0.0, (datetime.now(UTC) - enqueued_at).total_seconds())
            return 0.0

    def check(self) -> None:
        """Raise `Unavailable` when Redis does not answer (for health checks)."""
        with _redis_errors("ping Redis"):
            self._redis.ping()

    def close(self, timeout: float | None = None) -> bool:
        """Jobs run in `worker.py` processes, never here: nothing to wait for."""
        self._redis.close()
        return True

    def _retry(self) -> Retry | None:
        if not self._retry_intervals:
            return None
        return Retry(max=len(self._retry_intervals), interval=self._retry_intervals)

    def _live_status(self, job_id: str) -> JobStatus | None:
        """The job's status if it is live, else None (no job, or one that ended)."""
        raw = self._redis.hget(Job.key_for(job_id), "status")
        if raw is None:
            return None
        try:
            status = JobStatus(_text(raw))
        except ValueError:
            return None
        if status not in _LIVE:
            return None
        if status is JobStatus.STARTED and self._abandoned(job_id):
            logger.warning("job %s lost its worker; it may be replaced", job_id)
            return None
        if status is JobStatus.QUEUED and self._redis.lpos(self._queue.key, job_id) is None:
            # A worker that dies right after popping a job leaves it QUEUED but in no
            # queue: nobody will ever run it. (A worker still between pop and start is
            # harmless to race with: the task's claim lets only one of them run it.)
            logger.warning("job %s is marked queued but is in no queue; it may be replaced", job_id)
            return None
        return status

    def _abandoned(self, job_id: str) -> bool:
        """Whether a STARTED job's worker is gone: it stopped beating (`HandBackWorker`
        refreshes its key every few seconds; the key outlives a few missed beats).

        RQ's own test, its execution registry, is renewed only every 30 s and read
        only at its 10-minute maintenance, so a dead worker's job would look alive for
        minutes. A job started by a worker that does not beat (no worker name, or
        another worker class) falls back to RQ's test.
        """
        worker = self._redis.hget(Job.key_for(job_id), "worker_name")
        if worker:
            return not self._redis.exists(liveness_key(_text(worker)))
        executions = ExecutionRegistry.key_template.format(job_id)
        return self._redis.zcount(executions, current_timestamp(), "+inf") == 0

    def _delete_ended(self, job_id: str) -> bool:
        """Delete the job (if any) unless it became live; False when a race was lost.

        WATCH makes the delete conditional: if another replica replaced or re-queued the
        job after we read it, the transaction fails and the caller reads it again.
        """
        key = Job.key_for(job_id)
        with self._redis.pipeline() as pipe:
            try:
                pipe.watch(key)  # type: ignore[no-untyped-call]
                if not pipe.exists(key):
                    return True
                if self._live_status(job_id) is not None:
                    return False
                try:
                    job = Job.fetch(job_id, connection=self._redis)
                except NoSuchJobError:
                    # A hash without a job in it (a heartbeat that outlived the job).
                    pipe.multi()
                    pipe.delete(key)
                else:
                    pipe.multi()
                    job.delete(pipeline=pipe)
                pipe.execute()
            except WatchError:
                return False
        logger.info("replacing job %s, which ended", job_id)
        return True


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _rq_time(value: bytes | str | None) -> datetime | None:
    """A timestamp of a job hash, timezone-aware; None when absent or unreadable."""
    if not value:
        return None
    try:
        return str_to_date(value)
    except ValueError:
        return None


def worker_name() -> str:
    """`<host>.<pid>.<random>`: readable in `rq info`, and unique even when a container
    restarts with the same host name and pid 1 before RQ forgot the previous worker."""
    return f"{socket.gethostname()}.{os.getpid()}.{uuid.uuid4().hex[:6]}"


class HandBackWorker(Worker):
    """RQ's forking worker, made to give work back and to prove it is alive.

    - Warm shutdown: RQ waits for the current job to end, however long a meeting takes,
      and the supervisor's grace period runs out first. Told of the SIGTERM, the job
      (`meeting_agent.jobs.process_task`) hands its task back at its next safe point
      instead, and the worker exits soon after.
    - Liveness: a thread of the worker process (not of the job process, so a job busy
      in a long stage cannot starve it) refreshes `liveness_key(name)` every few
      seconds. A worker killed outright stops, its key expires within
      `LIVENESS_TTL_SECONDS`, and the reconciler requeues its job at once.
    - Reconnecting: RQ backs off up to a minute between tries while Redis is away, so
      after a long outage a worker (and the scheduler it restarts) would sleep through
      most of a minute of Redis being back. A few seconds is cheap for one connection.
    """

    max_connection_wait_time = 4.0

    def __init__(self, *args: Any, redis_url: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._redis_url = redis_url
        # Set by SIGTERM/SIGINT. RQ's own flag is set only when a job was running.
        self.shutdown_requested = False

    def bootstrap(self, *args: Any, **kwargs: Any) -> None:
        super().bootstrap(*args, **kwargs)
        self._liveness_stop = threading.Event()
        beat = threading.Thread(target=self._beat, name="worker liveness", daemon=True)
        beat.start()

    def teardown(self) -> None:
        stop = getattr(self, "_liveness_stop", None)
        if stop is not None:
            stop.set()
            with suppress(RedisError):
                self.connection.delete(liveness_key(self.name))
        super().teardown()  # type: ignore[no-untyped-call]

    def _beat(self) -> None:
        client = redis_client(self._redis_url)
        key = liveness_key(self.name)
        try:
            while not self._liveness_stop.is_set():
                try:
                    client.set(key, str(os.getpid()), ex=LIVENESS_TTL_SECONDS)
                except RedisError as exc:
                    logger.debug("worker liveness beat failed: %r", exc)
                self._liveness_stop.wait(LIVENESS_TTL_SECONDS / 4)
        finally:
            client.close()

    def handle_warm_shutdown_request(self) -> None:
        self.shutdown_requested = True
        super().handle_warm_shutdown_request()  # type: ignore[no-untyped-call]
        pid = self.horse_pid
        if pid:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)


def build_worker(settings: JobSettings, *, worker_class: type[Worker] = HandBackWorker) -> Worker:
    """An RQ worker on the configured queue (its connection has no short timeouts: it
    blocks on the queue).

    The default `Worker` forks a fresh process for every job: a crash or a timeout takes
    down only that job, but nothing a job builds (a loaded model, a connection pool)
    survives into the next one. `SimpleWorker` runs jobs in the worker process itself.
    """
    connection = Redis.from_url(settings.redis_url)
    queue = Queue(settings.queue_name, connection=connection)
    # RQ re-takes the scheduler lock (and cleans its registries) at each maintenance;
    # its ten-minute default left retries stalled for minutes after a Redis restart.
    extra: dict[str, Any] = (
        {"redis_url": settings.redis_url} if issubclass(worker_class, HandBackWorker) else {}
    )
    return worker_class(
        [queue],
        connection=connection,
        name=worker_name(),
        maintenance_interval=settings.maintenance_interval_seconds,
        **extra,
    )
