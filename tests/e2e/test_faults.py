"""Faults of the production profile, with real Redis, PostgreSQL and worker processes.

Redis restarts under open watchers, a Redis outage longer than RQ's own patience,
workers killed outright and orphans waiting behind newer work, and SIGTERM sent to a
worker and its job process at once, as systemd's default kill mode and Kubernetes do.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from redis import Redis
from sqlalchemy import create_engine, text

from meeting_agent.adapters.jobs.rq_queue import LIVENESS_PREFIX, job_id_for
from meeting_agent.v1 import task_pb2, task_service_pb2, transcript_service_pb2
from tests.e2e.conftest import DATA, Client, wait_transcribing, watch
from tests.e2e.test_lifecycle import _long_recording
from tests.e2e.test_rq_pipeline import PROFILE, Worker, _descendants
from tests.harness.postgres import temporary_database
from tests.harness.redis import LocalRedis, local_redis
from tests.harness.server import ServerThread, settings_for_tests

JFK = (DATA / "jfk.flac").read_bytes()


def _recording(path: Path, seconds: float) -> bytes:
    return _long_recording(path, seconds).read_bytes()


@pytest.fixture
def redis() -> Iterator[LocalRedis]:
    """A Redis of this test's own, to stop and start."""
    with local_redis() as server:
        yield server


@pytest.fixture
def profile(tmp_path: Path, redis: LocalRedis, postgres_url: str) -> Iterator[dict[str, object]]:
    with temporary_database(postgres_url) as url:
        yield {
            "data_dir": str(tmp_path),
            "database_url": url.render_as_string(False),
            "auto_migrate": True,
            **PROFILE,
            "jobs": {**PROFILE["jobs"], "redis_url": redis.url},
            "asr": {"chunk_seconds": 20},
        }


@pytest.fixture
def server(profile: dict[str, object]) -> Iterator[ServerThread]:
    settings = settings_for_tests(
        Path(str(profile["data_dir"])), **{k: v for k, v in profile.items() if k != "data_dir"}
    )
    running = ServerThread(settings).start()
    yield running
    running.stop()


@contextlib.contextmanager
def workers(profile: dict[str, object], log_dir: Path, count: int) -> Iterator[list[Worker]]:
    started = [Worker(profile, log_dir / f"worker-{i}.log") for i in range(count)]
    try:
        yield started
    finally:
        for worker in started:
            worker.stop()


def _log(directory: Path) -> str:
    return "\n".join(
        f"--- {p.name}\n{p.read_text(errors='replace')[-4000:]}"
        for p in sorted(directory.glob("*.log"))
    )


def _rows(profile: dict[str, object], sql: str, **params: object) -> list[tuple[object, ...]]:
    engine = create_engine(str(profile["database_url"]))
    with engine.connect() as connection:
        rows = [tuple(r) for r in connection.execute(text(sql), params)]
    engine.dispose()
    return rows


# ---------------------------------------------------------------- Redis restarts


def test_watchers_ride_out_a_redis_restart(
    server: ServerThread, profile, redis: LocalRedis, tmp_path: Path
) -> None:
    recording = _recording(tmp_path / "long.wav", 240)
    results: list[list[task_service_pb2.WatchTaskResponse] | BaseException] = []
    lock = threading.Lock()
    with workers(profile, tmp_path, 1), server.channel() as channel:
        client = Client(channel, server.token())
        task = client.create_task(client.upload(recording, filename="long.wav"))

        def follow() -> None:
            try:
                got = watch(client, task.name)
            except BaseException as exc:  # recorded, asserted below
                got = exc  # type: ignore[assignment]
            with lock:
                results.append(got)

        threads = [threading.Thread(target=follow) for _ in range(100)]
        for thread in threads:
            thread.start()
        wait_transcribing(client, task.name, 12)
        redis.stop(cleanup=False)
        time.sleep(2)  # an outage long enough for every connection to notice
        redis.start()
        for thread in threads:
            thread.join(300)

    assert len(results) == 100
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors[0]
    final = results[0][-1]  # type: ignore[index]
    assert final.task.state == task_pb2.TASK_STATE_SUCCEEDED, _log(tmp_path)
    for messages in results:
        assert isinstance(messages, list)
        assert [m.event.sequence for m in messages] == list(range(1, len(messages) + 1))
        assert messages[-1].task.state == task_pb2.TASK_STATE_SUCCEEDED
        assert len(messages) == len(results[0])  # type: ignore[arg-type]


def test_workers_and_the_scheduler_outlive_a_long_redis_outage(
    server: ServerThread, profile, redis: LocalRedis, tmp_path: Path
) -> None:
    outage = float(os.environ.get("MEETING_AGENT_TEST_REDIS_OUTAGE_SECONDS", "90"))
    with workers(profile, tmp_path, 2) as running, server.channel() as channel:
        pids = [w.process.pid for w in running]
        client = Client(channel, server.token())
        uploads = [client.upload(JFK) for _ in range(3)]
        lock_key = "rq:scheduler-lock:meeting-agent"
        _wait_for(lambda: Redis.from_url(redis.url).exists(lock_key), 30, "a scheduler lock")

        redis.stop(cleanup=False)
        # Accepted while Redis is down: the tasks wait in the database.
        tasks = [client.create_task(u) for u in uploads]
        time.sleep(outage)
        redis.start()
        returned = time.monotonic()
        client_redis = Redis.from_url(redis.url)
        _wait_for(lambda: client_redis.exists(lock_key), 30, "the scheduler lock again")
        lock_after = time.monotonic() - returned
        finals = [watch(client, t.name)[-1].task for t in tasks]
        alive = [w.process.poll() is None for w in running]
        client_redis.close()

    assert all(f.state == task_pb2.TASK_STATE_SUCCEEDED for f in finals), _log(tmp_path)
    assert alive == [True, True], _log(tmp_path)
    assert [w.process.pid for w in running] == pids
    assert lock_after < 15, f"the scheduler lock came back after {lock_after:.1f} s"


def _wait_for(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(Exception):
            if condition():
                return
        assert time.monotonic() < deadline, f"no {what} within {timeout} s"
        time.sleep(0.1)


# ---------------------------------------------------------------- dead workers, orphans


def test_an_orphan_runs_before_tasks_created_after_it(
    server: ServerThread, profile, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    recording = _recording(tmp_path / "long.wav", 150)
    caplog.set_level(logging.INFO, logger="meeting_agent.service.pipeline.reconciler")
    with server.channel() as channel:
        client = Client(channel, server.token())
        (tmp_path / "first").mkdir()
        with workers(profile, tmp_path / "first", 1) as (first,):
            orphan = client.create_task(client.upload(recording, filename="long.wav"))
            wait_transcribing(client, orphan.name, 12)
            first.kill()
        # Created after the orphan's worker died, while no worker is alive.
        later = [client.create_task(client.upload(JFK)) for _ in range(2)]
        orphan_id = orphan.name.split("/")[1]
        # The orphan is found (its lease stale, its worker gone) and requeued, once,
        # however many reconciler rounds pass before a worker takes it.
        _wait_for(
            lambda: any(orphan_id in r.getMessage() for r in caplog.records),
            60,
            "a requeue of the orphan",
        )
        time.sleep(3)  # several more reconciler rounds
        with workers(profile, tmp_path, 1):
            finals = [watch(client, t.name)[-1].task for t in (orphan, *later)]

    assert all(f.state == task_pb2.TASK_STATE_SUCCEEDED for f in finals), _log(tmp_path)
    requeues = [r for r in caplog.records if f"requeued tasks/{orphan_id}" in r.getMessage()]
    assert len(requeues) == 1, [r.getMessage() for r in requeues]
    times = _rows(profile, "SELECT id, start_time, end_time FROM tasks")
    starts: dict[Any, Any] = {row[0]: row[1] for row in times}
    ends: dict[Any, Any] = {row[0]: row[2] for row in times}
    # One worker, one job at a time: the orphan finished before the later ones began.
    assert all(ends[orphan_id] <= starts[t.name.split("/")[1]] for t in later)


def _runs(profile: dict[str, Any], task_id: str) -> int:
    """The pid of the worker (`<host>.<pid>.<random>`) running the task's job."""
    client = Redis.from_url(str(profile["jobs"]["redis_url"]))
    try:
        name = client.hget(f"rq:job:{job_id_for(task_id)}", "worker_name")
    finally:
        client.close()
    assert name, "no worker has taken the job"
    return int(name.decode().split(".")[-2])  # type: ignore[union-attr]


def test_sigterm_to_a_worker_and_its_job_together(
    server: ServerThread, profile, tmp_path: Path
) -> None:
    recording = _recording(tmp_path / "long.wav", 150)
    (tmp_path / "first").mkdir()
    with server.channel() as channel:
        client = Client(channel, server.token())
        with (
            workers(profile, tmp_path / "first", 1) as (one,),
            workers(profile, tmp_path, 1) as (other,),
        ):
            task = client.create_task(client.upload(recording, filename="long.wav"))
            wait_transcribing(client, task.name, 12)
            task_id = task.name.split("/")[1]
            # Either worker may have taken it: the one to stop is the one running it.
            first = one if _runs(profile, task_id) == one.process.pid else other
            running_on = _rows(profile, "SELECT attempts FROM tasks WHERE id = :id", id=task_id)
            # What systemd's control-group kill and a container runtime send: SIGTERM to
            # every process of the worker at once.
            for pid in [first.process.pid, *_descendants(first.process.pid)]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
            signalled = time.monotonic()
            assert first.process.wait(timeout=30) == 0
            resumed = None
            said = []
            for message in client.tasks.WatchTask(
                task_service_pb2.WatchTaskRequest(name=task.name),
                metadata=client.metadata,
                timeout=300,
            ):
                said.append((message.event.sequence, message.event.message))
                if (
                    resumed is None
                    and message.event.state == task_pb2.TASK_STATE_RUNNING
                    and "processing resumed" in message.event.message
                ):
                    resumed = time.monotonic() - signalled
                if message.HasField("task"):
                    final = message.task
            transcript = client.transcripts.GetTranscript(
                transcript_service_pb2.GetTranscriptRequest(name=f"{task.name}/transcript"),
                metadata=client.metadata,
            ).transcript

    assert running_on == [(1,)]
    assert final.state == task_pb2.TASK_STATE_SUCCEEDED, _log(tmp_path)
    assert resumed is not None and resumed < 10, (
        f"resumed after {resumed} s",
        said,
        _log(tmp_path),
    )
    assert _rows(profile, "SELECT count(*) FROM transcripts WHERE task_id = :id", id=task_id) == [
        (1,)
    ]
    assert transcript.segments
    # The liveness keys of stopped workers go with them.
    assert not [
        k
        for k in Redis.from_url(str(profile["jobs"]["redis_url"])).scan_iter(f"{LIVENESS_PREFIX}*")
        if str(first.process.pid).encode() in k
    ]
