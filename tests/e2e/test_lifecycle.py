"""The server's life as Kubernetes and systemd see it: health names, Health/Watch,
dependency outages, and SIGTERM while a job is running.

Readiness ("", "readiness", every API service) follows the database and the object
store; liveness only says the process answers; the queue reports under "queue". On
SIGTERM a job running in the server hands its task back at its next safe point, the
process exits within its grace period, and the next start resumes the task.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy import create_engine, text

from meeting_agent.auth import mint_dev_token
from meeting_agent.v1 import task_pb2
from tests.e2e.conftest import DATA, Client, health_status, wait_transcribing, watch
from tests.e2e.test_rq_pipeline import PROFILE, Worker
from tests.harness.postgres import LocalPostgres, PostgresUnavailable, find_bin_dir
from tests.harness.redis import local_redis
from tests.harness.server import ServerThread, settings_for_tests

ROOT = Path(__file__).resolve().parents[2]
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class HealthWatch:
    """`Health/Watch` of one service name, read on a thread into a queue."""

    def __init__(self, channel: grpc.Channel, service: str) -> None:
        self._call = health_pb2_grpc.HealthStub(channel).Watch(
            health_pb2.HealthCheckRequest(service=service), timeout=120
        )
        self.statuses: queue.Queue[int | None] = queue.Queue()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for response in self._call:
                self.statuses.put(response.status)
        except grpc.RpcError:
            pass
        self.statuses.put(None)

    def until(self, status: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            got = self.statuses.get(timeout=max(0.01, deadline - time.monotonic()))
            if got == status:
                return
            assert got is not None, "the watch ended first"

    def cancel(self) -> None:
        self._call.cancel()


# ---------------------------------------------------------------- health


def test_health_watch_streams_changes_until_shutdown(tmp_path: Path) -> None:
    running = ServerThread(settings_for_tests(tmp_path)).start()
    stopped = False
    try:
        with running.channel() as channel:
            overall = HealthWatch(channel, "")
            overall.until(SERVING)
            liveness = HealthWatch(channel, "liveness")
            liveness.until(SERVING)
            unknown = HealthWatch(channel, "no.such.Service")
            assert (
                unknown.statuses.get(timeout=30) == health_pb2.HealthCheckResponse.SERVICE_UNKNOWN
            )
            unknown.cancel()

            running.stop()
            stopped = True
            overall.until(NOT_SERVING)
    finally:
        if not stopped:
            running.stop()


def test_a_redis_outage_leaves_the_server_ready(tmp_path: Path) -> None:
    with local_redis() as redis:
        settings = settings_for_tests(tmp_path, jobs={"backend": "rq", "redis_url": redis.url})
        running = ServerThread(settings).start()
        try:
            with running.channel() as channel:
                queue_health = HealthWatch(channel, "queue")
                queue_health.until(SERVING)

                redis.stop(cleanup=False)
                queue_health.until(NOT_SERVING)
                for name in ("", "readiness", "meeting_agent.v1.TaskService", "liveness"):
                    assert health_status(channel, name) == SERVING, name
                # Work is still accepted; it waits in the database for the queue.
                client = Client(channel, running.token())
                task = client.create_task(client.upload((DATA / "jfk.flac").read_bytes()))
                assert task.state == task_pb2.TASK_STATE_QUEUED

                redis.start()
                queue_health.until(SERVING)
                queue_health.cancel()
        finally:
            running.stop()


@pytest.fixture
def private_postgres() -> Iterator[LocalPostgres]:
    """A server of this test's own, to stop and start (the session's is shared)."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is required in CI", pytrace=False)
        pytest.skip("no PostgreSQL binaries")
    server = LocalPostgres(bin_dir)
    try:
        server.start()
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))
    yield server
    server.stop()


def test_a_database_outage_makes_the_server_unready_not_dead(
    tmp_path: Path, private_postgres: LocalPostgres
) -> None:
    url = private_postgres.url.render_as_string(hide_password=False)
    running = ServerThread(settings_for_tests(tmp_path, database_url=url)).start()
    try:
        with running.channel() as channel:
            readiness = HealthWatch(channel, "readiness")
            readiness.until(SERVING)

            private_postgres.stop(cleanup=False)
            readiness.until(NOT_SERVING)
            assert health_status(channel, "") == NOT_SERVING
            # Kubernetes must not restart a pod because its database is away.
            assert health_status(channel, "liveness") == SERVING

            private_postgres.start()
            readiness.until(SERVING)
            readiness.cancel()
    finally:
        running.stop()


# ---------------------------------------------------------------- SIGTERM during a job


def _long_recording(path: Path, seconds: float) -> Path:
    with wave.open(str(DATA / "sample.wav"), "rb") as src:
        params, frames = src.getparams(), src.readframes(src.getnframes())
    with wave.open(str(path), "wb") as out:
        out.setparams(params)
        for _ in range(int(seconds // (params.nframes / params.framerate)) + 1):
            out.writeframes(frames)
    return path


class ServerProcess:
    """`python server.py` on a free port, its log drained to a file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "server.py")],
            cwd=ROOT,
            text=True,
            env={**os.environ, **env, "MEETING_AGENT_SERVER__LISTEN_ADDRESS": "127.0.0.1:0"},
            stderr=subprocess.PIPE,
        )
        assert self.process.stderr is not None
        self._log = log.open("a")
        for line in self.process.stderr:
            self._log.write(line)
            if "listening on port" in line:
                self.port = int(line.split("listening on port")[1].split()[0])
                break
        else:
            raise AssertionError(f"server exited with {self.process.wait()}: see {log}")
        self._drain = threading.Thread(target=self._copy, daemon=True)
        self._drain.start()

    def _copy(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._log.write(line)
        self._log.flush()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def terminate(self, timeout: float) -> float:
        """SIGTERM; seconds until the process exited (fails if it outlives `timeout`)."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=timeout)
        took = time.monotonic() - started
        self.close()
        assert code == 0, f"exit code {code}"
        return took

    def close(self) -> None:
        """Kill the process if it still runs, and release its pipe and log."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self._drain.join(10)
        if self.process.stderr is not None:
            self.process.stderr.close()
        self._log.close()


def _task_row(database_url: str, task_id: str) -> tuple[str, int]:
    engine = create_engine(database_url)
    with engine.connect() as connection:
        state, attempts = connection.execute(
            text("SELECT state, attempts FROM tasks WHERE id = :id"), {"id": task_id}
        ).one()
    engine.dispose()
    return state, attempts


def test_sigterm_hands_an_inline_job_back_and_the_next_start_resumes_it(tmp_path: Path) -> None:
    grace = 5.0
    env = {
        "MEETING_AGENT_DATA_DIR": str(tmp_path),
        "MEETING_AGENT_SERVER__SHUTDOWN_GRACE_SECONDS": str(grace),
        "MEETING_AGENT_ASR__CHUNK_SECONDS": "20",
    }
    token = mint_dev_token(settings_for_tests(tmp_path))
    recording = _long_recording(tmp_path / "long.wav", 240).read_bytes()
    first = ServerProcess(env, tmp_path / "server-1.log")
    try:
        with grpc.insecure_channel(first.address) as channel:
            client = Client(channel, token)
            task = client.create_task(client.upload(recording, filename="long.wav"))
            wait_transcribing(client, task.name, 15)
        took = first.terminate(timeout=grace + 15)
    finally:
        first.close()
    task_id = task.name.split("/")[1]
    database = f"sqlite:///{tmp_path / 'meeting-agent.db'}"
    assert took < grace + 10
    assert _task_row(database, task_id) == ("queued", 1)  # handed back, not failed

    second = ServerProcess(env, tmp_path / "server-2.log")
    try:
        with grpc.insecure_channel(second.address) as channel:
            client = Client(channel, token)
            messages = watch(client, task.name)
            second.terminate(timeout=grace + 15)
    finally:
        second.close()

    final = messages[-1]
    assert final.task.state == task_pb2.TASK_STATE_SUCCEEDED
    handed_back = [
        m.event
        for m in messages
        if m.event.state == task_pb2.TASK_STATE_QUEUED and "shutting down" in m.event.message
    ]
    assert len(handed_back) == 1
    assert _task_row(database, task_id) == ("succeeded", 2)


@pytest.fixture
def rq_profile(tmp_path: Path, redis_url: str, postgres_url: str) -> Iterator[dict[str, object]]:
    from tests.harness.postgres import temporary_database

    with temporary_database(postgres_url) as url:
        yield {
            "data_dir": str(tmp_path),
            "database_url": url.render_as_string(False),
            "auto_migrate": True,
            **PROFILE,
            "jobs": {**PROFILE["jobs"], "redis_url": redis_url},
            "asr": {"chunk_seconds": 20},
        }


def test_sigterm_to_a_worker_hands_its_job_back(tmp_path: Path, rq_profile) -> None:
    settings = settings_for_tests(
        Path(str(rq_profile["data_dir"])),
        **{k: v for k, v in rq_profile.items() if k != "data_dir"},
    )
    running = ServerThread(settings).start()
    recording = _long_recording(tmp_path / "long.wav", 240).read_bytes()
    first = Worker(rq_profile, tmp_path / "worker-1.log")
    second = None
    try:
        with running.channel() as channel:
            client = Client(channel, running.token())
            task = client.create_task(client.upload(recording, filename="long.wav"))
            wait_transcribing(client, task.name, 15)

            started = time.monotonic()
            first.process.send_signal(signal.SIGTERM)
            try:
                assert first.process.wait(timeout=30) == 0
            except subprocess.TimeoutExpired:
                raise AssertionError((tmp_path / "worker-1.log").read_text()[-6000:]) from None
            took = time.monotonic() - started
            assert (
                _task_row(str(rq_profile["database_url"]), task.name.split("/")[1])[0] == "queued"
            )

            second = Worker(rq_profile, tmp_path / "worker-2.log")
            messages = watch(client, task.name)
    finally:
        first.stop()
        if second is not None:
            second.stop()
        running.stop()

    assert took < 20, f"the worker took {took:.1f} s to stop"
    assert messages[-1].task.state == task_pb2.TASK_STATE_SUCCEEDED
    assert any("shutting down" in m.event.message for m in messages)
    assert _task_row(str(rq_profile["database_url"]), task.name.split("/")[1]) == ("succeeded", 2)
