"""Two server processes and two RQ workers on one PostgreSQL and one Redis.

Tasks created on server A are processed by either worker; a watcher on server B sees
every event; killing one worker, or server A itself, loses no task.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from meeting_agent.auth import mint_dev_token
from meeting_agent.v1 import task_pb2, task_service_pb2
from tests.e2e.conftest import DATA, JFK, Client, normalized, transcript_text, watch
from tests.e2e.test_rq_pipeline import PROFILE, Worker, _env, _log
from tests.harness.postgres import temporary_database
from tests.harness.server import settings_for_tests
from tests.harness.tos import FakeTos

ROOT = Path(__file__).resolve().parents[2]


class ServerProcess:
    """`python server.py` on a free port, sharing the deployment's database and Redis."""

    def __init__(self, profile: dict[str, object], log: Path) -> None:
        env = {
            **os.environ,
            **_env("MEETING_AGENT_", profile),
            "MEETING_AGENT_SERVER__LISTEN_ADDRESS": "127.0.0.1:0",
        }
        self._log = log
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "server.py")],
            env=env,
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stderr is not None
        for line in self.process.stderr:
            if "listening on port" in line:
                self.port = int(line.split("listening on port")[1].split()[0])
                break
        else:
            raise AssertionError(f"server exited: {self.process.wait()}")
        # Keep draining the log into a file so the server never blocks on a full pipe.
        self._drainer = threading.Thread(target=self._drain, daemon=True)
        self._drainer.start()
        self._wait_serving()

    def _drain(self) -> None:
        assert self.process.stderr is not None
        with self._log.open("a") as out:
            for line in self.process.stderr:
                out.write(line)

    def _wait_serving(self) -> None:
        deadline = time.monotonic() + 30
        with grpc.insecure_channel(self.address) as channel:
            while True:
                try:
                    status = (
                        health_pb2_grpc.HealthStub(channel)
                        .Check(health_pb2.HealthCheckRequest(), timeout=1)
                        .status
                    )
                    if status == health_pb2.HealthCheckResponse.SERVING:
                        return
                except grpc.RpcError:
                    pass
                assert time.monotonic() < deadline, "server never became SERVING"
                time.sleep(0.1)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self._reap()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.send_signal(signal.SIGKILL)
        self._reap()

    def _reap(self) -> None:
        self.process.wait(timeout=10)
        self._drainer.join(timeout=10)
        if self.process.stderr is not None:
            self.process.stderr.close()


@pytest.fixture
def deployment(tmp_path: Path, redis_url: str, postgres_url: str) -> Iterator[dict[str, object]]:
    with temporary_database(postgres_url) as url:
        yield {
            "data_dir": str(tmp_path),
            "database_url": url.render_as_string(False),
            "auto_migrate": True,
            **PROFILE,
            "jobs": {
                **PROFILE["jobs"],
                "redis_url": redis_url,
            },
        }


def test_two_servers_and_two_workers_share_the_work(
    deployment: dict[str, object], tmp_path: Path
) -> None:
    token = mint_dev_token(settings_for_tests(tmp_path))
    server_a = ServerProcess(deployment, tmp_path / "server-a.log")
    server_b = ServerProcess(deployment, tmp_path / "server-b.log")
    workers = [Worker(deployment, tmp_path / f"worker-{i}.log") for i in (1, 2)]
    try:
        with (
            grpc.insecure_channel(server_a.address) as channel_a,
            grpc.insecure_channel(server_b.address) as channel_b,
        ):
            on_a, on_b = Client(channel_a, token), Client(channel_b, token)
            sample = (DATA / "sample.wav").read_bytes()
            tasks = [
                on_a.create_task(on_a.upload(sample), display_name=f"call {i}") for i in range(4)
            ]

            # Kill one worker once work has started, and server A (where the tasks
            # were created) too: the others must finish everything.
            _wait_until_running(on_b, tasks[0].name)
            workers[0].kill()
            server_a.kill()

            try:
                finals = [watch(on_b, t.name)[-1] for t in tasks]
            except grpc.RpcError:
                raise AssertionError(_dump(deployment)) from None
    finally:
        for worker in workers:
            worker.stop()
        server_a.stop()
        server_b.stop()

    assert all(m.task.state == task_pb2.TASK_STATE_SUCCEEDED for m in finals), _log(tmp_path)
    # Server B's watcher saw every task's whole history, created and run elsewhere.
    for message in finals:
        assert message.event.sequence == message.task.last_event_sequence


def _wait_until_running(client: Client, name: str) -> None:
    for message in client.tasks.WatchTask(
        task_service_pb2.WatchTaskRequest(name=name), metadata=client.metadata, timeout=60
    ):
        if message.event.state == task_pb2.TASK_STATE_RUNNING:
            return
    raise AssertionError("the task never started")


def _dump(deployment: dict[str, object]) -> str:
    from sqlalchemy import create_engine, text

    engine = create_engine(str(deployment["database_url"]))
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id, state, stage, attempts, heartbeat_time, progress_percent FROM tasks")
        ).all()
    engine.dispose()
    return "\n".join(str(r) for r in rows)


@pytest.fixture
def tos() -> Iterator[FakeTos]:
    with FakeTos() as fake:
        yield fake


def test_pods_that_share_only_the_database_redis_and_the_bucket(
    tmp_path: Path, redis_url: str, postgres_url: str, tos: FakeTos
) -> None:
    """What Kubernetes gives each pod: its own scratch directory, nothing else in common."""
    # One signing key for every pod, as the identity service's would be.
    token = mint_dev_token(settings_for_tests(tmp_path / "identity"))
    storage = {
        "backend": "tos",
        "tos": {
            "bucket": "meetings",
            "region": tos.region,
            "endpoint": tos.endpoint,
            "access_key": tos.access_key,
            "secret_key": tos.secret_key,
            "proxy_host": "127.0.0.1",
            "proxy_port": tos.port,
            "max_retry_count": 0,
        },
    }
    with temporary_database(postgres_url) as url:
        base = {
            "database_url": url.render_as_string(False),
            "auto_migrate": True,
            **PROFILE,
            "jobs": {**PROFILE["jobs"], "redis_url": redis_url},
            "storage": storage,
            "auth": {
                "dev_key": False,
                "public_key_files": [str(tmp_path / "identity" / "dev-keys" / "dev.pem")],
            },
        }

        def pod(name: str) -> dict[str, object]:
            return {**base, "data_dir": str(tmp_path / name)}

        server_a = ServerProcess(pod("server-a"), tmp_path / "server-a.log")
        server_b = ServerProcess(pod("server-b"), tmp_path / "server-b.log")
        workers = [Worker(pod(f"worker-{i}"), tmp_path / f"worker-{i}.log") for i in (1, 2)]
        try:
            with (
                grpc.insecure_channel(server_a.address) as channel_a,
                grpc.insecure_channel(server_b.address) as channel_b,
            ):
                on_a, on_b = Client(channel_a, token), Client(channel_b, token)
                jfk = (DATA / "jfk.flac").read_bytes()
                tasks = [
                    on_a.create_task(on_a.upload(jfk), display_name=f"call {i}") for i in range(3)
                ]
                finals = [watch(on_b, t.name)[-1] for t in tasks]
                texts = [transcript_text(on_b, t.name) for t in tasks]
        finally:
            for worker in workers:
                worker.stop()
            server_a.stop()
            server_b.stop()

    assert all(m.task.state == task_pb2.TASK_STATE_SUCCEEDED for m in finals), _log(tmp_path)
    assert all(normalized(text) == normalized(JFK) for text in texts)
    # The audio went to the bucket, and no pod kept a copy of its own.
    assert len([k for k in tos.bucket("meetings") if "/uploads/" in k]) == 3
    for name in ("server-a", "server-b", "worker-1", "worker-2"):
        local = tmp_path / name / "objects"
        assert not local.exists() or not any(p.is_file() for p in local.rglob("*")), name
