"""RqJobQueue on a real Redis, run by real RQ workers (in-process and `worker.py`)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from redis import Redis
from rq import SimpleWorker
from rq.job import Job, JobStatus
from rq.utils import utcformat

from meeting_agent.adapters.jobs.rq_queue import (
    LIVENESS_TTL_SECONDS,
    RqJobQueue,
    build_worker,
    job_id_for,
    liveness_key,
)
from meeting_agent.config import JobSettings
from meeting_agent.errors import Unavailable
from tests.harness import jobs
from tests.harness.redis import LocalRedis, find_server_binary

pytestmark = pytest.mark.redis

REPO_ROOT = Path(__file__).resolve().parents[2]
QUEUE = "meeting-agent-test"


@pytest.fixture
def redis(redis_url: str) -> Iterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def make_queue(redis_url: str) -> Iterator[Callable[..., RqJobQueue]]:
    queues: list[RqJobQueue] = []

    def make(
        job: Callable[[str], None] = jobs.record,
        *,
        retry_intervals_seconds: list[int] | None = None,
        url: str | None = None,
    ) -> RqJobQueue:
        queue = RqJobQueue(
            url or redis_url,
            queue_name=QUEUE,
            job_timeout_seconds=600,
            retry_intervals_seconds=[]
            if retry_intervals_seconds is None
            else retry_intervals_seconds,
            job_path=f"{job.__module__}.{job.__name__}",
        )
        queues.append(queue)
        return queue

    yield make
    for queue in queues:
        queue.close()


def work(redis: Redis) -> None:
    """Run every queued job in this process, then return (rq's testing recipe)."""
    SimpleWorker([QUEUE], connection=redis).work(burst=True)


def status(redis: Redis, task_id: str) -> JobStatus | None:
    raw = redis.hget(Job.key_for(job_id_for(task_id)), "status")
    if raw is None:
        return None
    return JobStatus(raw.decode() if isinstance(raw, bytes) else raw)


def wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def worker_env(redis_url: str) -> dict[str, str]:
    env = {
        name: value for name, value in os.environ.items() if not name.startswith("MEETING_AGENT_")
    }
    env.update(
        MEETING_AGENT_JOBS__BACKEND="rq",
        MEETING_AGENT_JOBS__REDIS_URL=redis_url,
        MEETING_AGENT_JOBS__QUEUE_NAME=QUEUE,
        MEETING_AGENT_LOG_LEVEL="INFO",
    )
    return env


@pytest.fixture
def start_worker(redis_url: str) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """`python worker.py` in a subprocess, stopped (warm shutdown) after the test."""
    processes: list[subprocess.Popen[str]] = []

    def start(*args: str) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [sys.executable, str(REPO_ROOT / "worker.py"), *args],
            cwd=REPO_ROOT,
            env=worker_env(redis_url),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.terminate()
        try:
            process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


# ---------------------------------------------------------------- enqueue


def test_enqueue_twice_makes_one_job(make_queue, redis: Redis) -> None:
    queue = make_queue()

    queue.enqueue("t1")
    queue.enqueue("t1")

    assert queue.queue_depth() == 1
    assert queue.queue.get_job_ids() == [job_id_for("t1")]
    job = Job.fetch("task-t1", connection=redis)
    assert job.func_name == "tests.harness.jobs.record"
    assert job.args == ("t1",)
    assert queue.has_live_job("t1")
    assert not queue.has_live_job("t2")


def test_two_replicas_enqueueing_concurrently_make_one_job(make_queue, redis: Redis) -> None:
    replicas = [make_queue() for _ in range(4)]
    barrier = threading.Barrier(len(replicas))
    errors: list[BaseException] = []

    def enqueue(queue: RqJobQueue) -> None:
        try:
            barrier.wait()
            for _ in range(5):
                queue.enqueue("t1")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=enqueue, args=(queue,)) for queue in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    assert replicas[0].queue.get_job_ids() == ["task-t1"]


def test_a_worker_runs_the_job_and_a_finished_job_can_be_enqueued_again(
    make_queue, redis: Redis
) -> None:
    queue = make_queue()
    queue.enqueue("t1")

    work(redis)

    assert jobs.calls(redis) == ["t1"]
    assert status(redis, "t1") is JobStatus.FINISHED
    assert not queue.has_live_job("t1")

    queue.enqueue("t1")  # the finished job is replaced, not kept as a duplicate
    assert status(redis, "t1") is JobStatus.QUEUED
    assert queue.queue.get_job_ids() == ["task-t1"]
    work(redis)
    assert jobs.calls(redis) == ["t1", "t1"]


def test_a_failed_job_is_replaced(make_queue, redis: Redis) -> None:
    queue = make_queue(jobs.fail)
    queue.enqueue("t1")
    work(redis)
    assert status(redis, "t1") is JobStatus.FAILED
    assert not queue.has_live_job("t1")

    queue.enqueue("t1")

    assert status(redis, "t1") is JobStatus.QUEUED
    assert queue.queue.failed_job_registry.get_job_ids() == []
    work(redis)
    assert redis.get(jobs.attempts_key("t1")) == b"2"


def test_a_running_job_is_not_duplicated(make_queue, redis: Redis, start_worker) -> None:
    queue = make_queue(jobs.wait_for_release)
    queue.enqueue("t1")
    start_worker()
    wait_until(lambda: status(redis, "t1") is JobStatus.STARTED)

    queue.enqueue("t1")

    assert queue.has_live_job("t1")
    assert queue.queue_depth() == 0  # nothing new in the queue
    redis.set(jobs.release_key("t1"), 1)
    wait_until(lambda: status(redis, "t1") is JobStatus.FINISHED)
    assert jobs.calls(redis) == ["t1"]
    assert redis.get(jobs.attempts_key("t1")) == b"1"


@pytest.mark.parametrize("lease_left_seconds", [None, -5])
def test_a_started_job_whose_worker_vanished_is_replaced(
    make_queue, redis: Redis, lease_left_seconds: int | None
) -> None:
    queue = make_queue()
    queue.enqueue("t1")
    # What a worker that died mid-job leaves behind: a STARTED job whose execution lease
    # ran out (or already expired from Redis).
    redis.lpop(queue.queue.key)
    redis.hset(Job.key_for("task-t1"), "status", JobStatus.STARTED.value)
    if lease_left_seconds is not None:
        redis.zadd("rq:executions:task-t1", {"e1": int(time.time()) + lease_left_seconds})
    assert not queue.has_live_job("t1")

    queue.enqueue("t1")

    assert status(redis, "t1") is JobStatus.QUEUED
    assert queue.queue.get_job_ids() == ["task-t1"]


def test_a_started_job_with_a_live_lease_is_live(make_queue, redis: Redis) -> None:
    queue = make_queue()
    queue.enqueue("t1")
    redis.lpop(queue.queue.key)
    redis.hset(Job.key_for("task-t1"), "status", JobStatus.STARTED.value)
    redis.zadd("rq:executions:task-t1", {"e1": int(time.time()) + 60})

    queue.enqueue("t1")

    assert queue.has_live_job("t1")
    assert queue.queue_depth() == 0


def _started_by(redis: Redis, queue, worker: str) -> None:
    queue.enqueue("t1")
    redis.lpop(queue.queue.key)
    redis.hset(
        Job.key_for("task-t1"), mapping={"status": JobStatus.STARTED.value, "worker_name": worker}
    )


def test_a_started_job_of_a_worker_that_beats_is_live(make_queue, redis: Redis) -> None:
    queue = make_queue()
    _started_by(redis, queue, "host.1.abc")
    redis.set(liveness_key("host.1.abc"), "1", ex=10)

    assert queue.has_live_job("t1")
    assert not queue.requeue("t1")
    assert queue.queue_depth() == 0


def test_a_started_job_of_a_worker_that_stopped_beating_is_replaced_at_the_front(
    make_queue, redis: Redis
) -> None:
    queue = make_queue()
    _started_by(redis, queue, "host.1.abc")  # no liveness key: the worker is gone
    for other in ("new-1", "new-2"):
        queue.enqueue(other)

    assert not queue.has_live_job("t1")
    assert queue.requeue("t1")
    assert not queue.requeue("t1")  # now it waits: requeueing again changes nothing

    assert queue.queue.get_job_ids() == ["task-t1", "task-new-1", "task-new-2"]


def test_the_worker_keeps_its_liveness_key_fresh_and_removes_it(
    redis_url: str, redis: Redis
) -> None:
    worker = build_worker(JobSettings(backend="rq", redis_url=redis_url, queue_name=QUEUE))
    worker.bootstrap()
    key = liveness_key(worker.name)
    try:
        deadline = time.monotonic() + 10
        while not redis.exists(key):
            assert time.monotonic() < deadline, "the worker never beat"
            time.sleep(0.05)
        assert 0 < redis.ttl(key) <= LIVENESS_TTL_SECONDS
    finally:
        worker.teardown()  # type: ignore[no-untyped-call]  # rq leaves it unannotated
    assert not redis.exists(key)


# ---------------------------------------------------------------- retries


def test_the_job_carries_its_retries_and_timeout(make_queue, redis: Redis) -> None:
    queue = make_queue(retry_intervals_seconds=[10, 30, 60])

    queue.enqueue("t1")

    job = Job.fetch("task-t1", connection=redis)
    assert job.retries_left == 3
    assert job.retry_intervals == [10, 30, 60]
    assert job.timeout == 600


def test_a_failed_job_waits_its_interval_before_the_retry(make_queue, redis: Redis) -> None:
    queue = make_queue(jobs.fail_once, retry_intervals_seconds=[30])
    queue.enqueue("t1")

    work(redis)

    # Not run again at once: it waits in the scheduled registry for the scheduler.
    assert status(redis, "t1") is JobStatus.SCHEDULED
    assert queue.has_live_job("t1")
    scheduled = queue.queue.scheduled_job_registry
    assert scheduled.get_job_ids() == ["task-t1"]
    run_at = scheduled.get_scheduled_time("task-t1")
    assert 20 < (run_at - datetime.now(UTC)).total_seconds() <= 30
    queue.enqueue("t1")  # waiting for its retry is live: no second job
    assert queue.queue_depth() == 0


def test_worker_py_retries_a_failed_job_after_its_interval(
    make_queue, redis: Redis, start_worker
) -> None:
    queue = make_queue(jobs.fail_once, retry_intervals_seconds=[1])
    queue.enqueue("t1")

    worker = start_worker()

    wait_until(lambda: jobs.calls(redis) == ["t1"], timeout=30)
    assert redis.get(jobs.attempts_key("t1")) == b"2"
    wait_until(lambda: status(redis, "t1") is JobStatus.FINISHED)
    worker.terminate()
    output, _ = worker.communicate(timeout=30)
    assert worker.returncode == 0, output
    assert "fails on purpose" in output  # the failure was logged


def test_worker_py_burst_runs_queued_jobs_and_exits(make_queue, redis: Redis, start_worker) -> None:
    queue = make_queue()
    for task_id in ("t1", "t2"):
        queue.enqueue(task_id)

    worker = start_worker("--burst")

    output, _ = worker.communicate(timeout=60)
    assert worker.returncode == 0, output
    assert sorted(jobs.calls(redis)) == ["t1", "t2"]


def test_worker_py_refuses_the_inline_backend(redis_url: str) -> None:
    env = worker_env(redis_url) | {"MEETING_AGENT_JOBS__BACKEND": "inline"}
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "worker.py"), "--burst"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "MEETING_AGENT_JOBS__BACKEND" in result.stderr


def test_build_worker_names_host_and_pid(redis_url: str) -> None:
    import socket

    worker = build_worker(JobSettings(backend="rq", redis_url=redis_url, queue_name=QUEUE))
    try:
        assert worker.name.startswith(f"{socket.gethostname()}.{os.getpid()}.")
        assert worker.queue_names() == [QUEUE]
    finally:
        worker.connection.close()


# ---------------------------------------------------------------- metrics


def test_queue_depth_and_oldest_queued_age(make_queue, redis: Redis) -> None:
    queue = make_queue()
    assert queue.queue_depth() == 0
    assert queue.oldest_queued_age_seconds() == 0.0

    queue.enqueue("t1")
    redis.hset(
        Job.key_for("task-t1"), "enqueued_at", utcformat(datetime.now(UTC) - timedelta(seconds=90))
    )
    queue.enqueue("t2")

    assert queue.queue_depth() == 2
    assert 89 <= queue.oldest_queued_age_seconds() < 120


# ---------------------------------------------------------------- outages


def _assert_unavailable_quickly(call: Callable[[], object]) -> None:
    started = time.monotonic()
    with pytest.raises(Unavailable) as info:
        call()
    assert info.value.reason == "QUEUE_UNAVAILABLE"
    assert time.monotonic() - started < 3.0


def test_no_redis_raises_unavailable_quickly(make_queue) -> None:
    with LocalRedisPort() as url:
        queue = make_queue(url=url)
        _assert_unavailable_quickly(lambda: queue.enqueue("t1"))
        _assert_unavailable_quickly(lambda: queue.has_live_job("t1"))
        _assert_unavailable_quickly(queue.queue_depth)
        _assert_unavailable_quickly(queue.check)


def test_redis_stopping_and_coming_back(make_queue) -> None:
    binary = find_server_binary()
    if binary is None:
        pytest.skip("no redis-server binary to stop and start")
    server = LocalRedis(binary)
    server.start()
    try:
        queue = make_queue(url=server.url)
        queue.enqueue("t1")
        assert queue.has_live_job("t1")

        server.stop(cleanup=False)
        _assert_unavailable_quickly(lambda: queue.enqueue("t2"))
        _assert_unavailable_quickly(lambda: queue.has_live_job("t1"))

        server.start()  # same port, empty (no persistence): the reconciler re-enqueues
        queue.enqueue("t2")
        assert queue.has_live_job("t2")
    finally:
        server.stop()


class LocalRedisPort:
    """A URL on a port of 127.0.0.1 where nothing listens."""

    def __enter__(self) -> str:
        import socket

        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # Bound but not listening: connections are refused, and no one else gets the port.
        self._socket.bind(("127.0.0.1", 0))
        port = self._socket.getsockname()[1]
        return f"redis://127.0.0.1:{port}/0"

    def __exit__(self, *exc_info: object) -> None:
        self._socket.close()


def test_a_queued_job_that_left_its_queue_is_replaced(make_queue, redis: Redis) -> None:
    # What a worker killed right after popping a job leaves behind: the job says QUEUED,
    # but no queue holds it, so no worker would ever run it.
    queue = make_queue()
    queue.enqueue("t-lost")
    redis.lrem(queue.queue.key, 0, job_id_for("t-lost"))

    assert status(redis, "t-lost") == JobStatus.QUEUED
    assert not queue.has_live_job("t-lost")
    queue.enqueue("t-lost")
    assert queue.queue.get_job_ids() == [job_id_for("t-lost")]
