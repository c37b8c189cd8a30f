"""`server.processes`: several server processes on one port, supervised by one.

The kernel spreads connections over the processes (SO_REUSEPORT); a process that dies is
replaced; SIGTERM reaches them all and the supervisor exits once they have drained.
"""

from __future__ import annotations

import contextlib
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

from meeting_agent.auth import mint_dev_token
from meeting_agent.config import ConfigurationError, load_settings
from meeting_agent.v1 import task_pb2, task_service_pb2
from tests.e2e.conftest import DATA, Client
from tests.e2e.test_rq_pipeline import _descendants, _env
from tests.harness.postgres import temporary_database
from tests.harness.server import settings_for_tests

ROOT = Path(__file__).resolve().parents[2]


class Supervisor:
    """`python server.py` with `processes`, its log lines collected as they come."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "server.py")],
            cwd=ROOT,
            text=True,
            env={**os.environ, **env},
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for(self, text: str, count: int = 1, timeout: float = 120) -> list[str]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [line for line in self.lines if text in line]
                if len(found) >= count:
                    return found
                assert self.process.poll() is None, "".join(self.lines)
                remaining = deadline - time.monotonic()
                assert remaining > 0, f"no {count} x {text!r} in:\n{''.join(self.lines)}"
                self._changed.wait(remaining)

    def close(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self._reader.join(10)
        if self.process.stderr is not None:
            self.process.stderr.close()


@pytest.fixture
def environment(tmp_path: Path, redis_url: str, postgres_url: str) -> Iterator[dict[str, str]]:
    with temporary_database(postgres_url) as url:
        yield _env(
            "MEETING_AGENT_",
            {
                "data_dir": str(tmp_path),
                "database_url": url.render_as_string(False),
                "auto_migrate": True,
                "jobs": {"backend": "rq", "redis_url": redis_url},
                "server": {
                    "listen_address": "127.0.0.1:0",
                    "processes": 2,
                    "shutdown_grace_seconds": 2,
                    "health_check_interval_seconds": 0.2,
                },
            },
        )


def test_two_processes_serve_one_port_and_stop_together(
    environment: dict[str, str], tmp_path: Path
) -> None:
    supervisor = Supervisor(environment)
    try:
        started = supervisor.wait_for("listening on port", count=2)
        ports = {int(line.split("listening on port")[1].split()[0]) for line in started}
        assert len(ports) == 1, started
        address = f"127.0.0.1:{ports.pop()}"
        token = mint_dev_token(settings_for_tests(tmp_path))

        # Separate channels are separate connections, spread over both processes; each
        # sees the same database.
        channels = [
            grpc.insecure_channel(address, options=[("grpc.use_local_subchannel_pool", 1)])
            for _ in range(8)
        ]
        try:
            first = Client(channels[0], token)
            task = first.create_task(first.upload((DATA / "jfk.flac").read_bytes()))
            for channel in channels:
                got = (
                    Client(channel, token)
                    .tasks.GetTask(
                        task_service_pb2.GetTaskRequest(name=task.name),
                        metadata=first.metadata,
                        timeout=30,
                    )
                    .task
                )
                assert got.state == task_pb2.TASK_STATE_QUEUED
        finally:
            for channel in channels:
                channel.close()

        # A server process that dies is replaced.
        children = _descendants(supervisor.process.pid)
        servers = [pid for pid in children if _is_server(pid)]
        assert len(servers) >= 2, children
        os.kill(servers[0], signal.SIGKILL)
        supervisor.wait_for("starting another")
        supervisor.wait_for("listening on port", count=3)

        supervisor.process.send_signal(signal.SIGTERM)
        assert supervisor.process.wait(timeout=30) == 0
        assert not [pid for pid in servers[1:] if _alive(pid)]
    finally:
        supervisor.close()


def test_server_processes_do_not_outlive_a_killed_supervisor(environment: dict[str, str]) -> None:
    supervisor = Supervisor(environment)
    try:
        supervisor.wait_for("listening on port", count=2)
        servers = [pid for pid in _descendants(supervisor.process.pid) if _is_server(pid)]

        supervisor.process.kill()
        supervisor.process.wait(10)

        deadline = time.monotonic() + 30
        while any(_alive(pid) for pid in servers):
            assert time.monotonic() < deadline, "server processes outlived their supervisor"
            time.sleep(0.1)
    finally:
        supervisor.close()


def test_processes_need_rq(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="PROCESSES"):
        load_settings(data_dir=tmp_path, server={"processes": 2})


def _is_server(pid: int) -> bool:
    try:
        return "spawn_main" in Path(f"/proc/{pid}/cmdline").read_text()
    except OSError:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
