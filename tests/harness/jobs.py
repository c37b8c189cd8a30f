"""Job functions for RQ tests, importable by path (`tests.harness.jobs.record`).

They stand in for `meeting_agent.jobs.process_task(task_id)` and record what they did
in the Redis database of the job that runs them, so a test can see the calls of a worker
running in another process.
"""

from __future__ import annotations

import time

from redis import Redis
from rq import get_current_job

CALLS_KEY = "meeting-agent-test:calls"


def _redis() -> Redis:
    job = get_current_job()
    if job is None:
        raise RuntimeError("not running in an RQ job")
    return job.connection


def attempts_key(task_id: str) -> str:
    return f"meeting-agent-test:attempts:{task_id}"


def release_key(task_id: str) -> str:
    return f"meeting-agent-test:release:{task_id}"


def calls(connection: Redis) -> list[str]:
    """The task ids of the jobs that completed, in order."""
    return [
        raw.decode() if isinstance(raw, bytes) else raw
        for raw in connection.lrange(CALLS_KEY, 0, -1)
    ]


def record(task_id: str) -> None:
    """Succeeds, recording the call."""
    _redis().rpush(CALLS_KEY, task_id)


def fail_once(task_id: str) -> None:
    """Fails the first attempt of each task, then succeeds like `record`."""
    connection = _redis()
    if connection.incr(attempts_key(task_id)) == 1:
        raise RuntimeError(f"first attempt of {task_id} fails on purpose")
    connection.rpush(CALLS_KEY, task_id)


def fail(task_id: str) -> None:
    """Always fails (counting attempts)."""
    _redis().incr(attempts_key(task_id))
    raise RuntimeError(f"{task_id} fails on purpose")


def wait_for_release(task_id: str) -> None:
    """Blocks (up to 30 s) until a test sets `release_key(task_id)`, then records the call."""
    connection = _redis()
    connection.incr(attempts_key(task_id))
    deadline = time.monotonic() + 30
    while not connection.exists(release_key(task_id)):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{task_id} was never released")
        time.sleep(0.02)
    connection.rpush(CALLS_KEY, task_id)
