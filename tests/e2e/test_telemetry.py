"""Traces and metrics of one task, exported over OTLP from a real server process.

The server runs as a subprocess configured only by the standard `OTEL_*` variables, as
in production; the OpenTelemetry SDK is process-global, so running it inside the test
process would leak its exporters into every later test.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from meeting_agent.auth import mint_dev_token
from meeting_agent.v1 import task_pb2, task_service_pb2
from tests.e2e.conftest import DATA, Client
from tests.harness.otlp import OtlpReceiver
from tests.harness.server import settings_for_tests

ROOT = Path(__file__).resolve().parents[2]
STAGES = [
    "fetch_audio",
    "decode",
    "transcribe",
    "diarize",
    "apply_speaker_mappings",
    "generate_minutes",
]
TERMINAL = (
    task_pb2.TASK_STATE_SUCCEEDED,
    task_pb2.TASK_STATE_FAILED,
    task_pb2.TASK_STATE_CANCELLED,
)


class ServerProcess:
    def __init__(self, data_dir: Path, receiver: OtlpReceiver) -> None:
        self.data_dir = data_dir
        self.log_path = data_dir / "server.log"
        env = {
            **os.environ,
            "MEETING_AGENT_DATA_DIR": str(data_dir),
            "MEETING_AGENT_SERVER__LISTEN_ADDRESS": "127.0.0.1:0",
            "MEETING_AGENT_SERVER__WATCH_POLL_SECONDS": "0.05",
            "MEETING_AGENT_SERVER__SHUTDOWN_GRACE_SECONDS": "1",
            "MEETING_AGENT_JOBS__INLINE_WORKERS": "1",
            "MEETING_AGENT_TELEMETRY__LOG_FORMAT": "json",
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
            "OTEL_SERVICE_NAME": "meeting-agent-test",
            "OTEL_BSP_SCHEDULE_DELAY": "200",
            "OTEL_METRIC_EXPORT_INTERVAL": "500",
        }
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "server.py")],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.port = self._wait_for_port()

    def _wait_for_port(self, timeout: float = 90.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(r"listening on port (\d+)", self.log_path.read_text())
            if found:
                return int(found.group(1))
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited:\n{self.log_path.read_text()}")
            time.sleep(0.1)
        raise TimeoutError(f"server did not start:\n{self.log_path.read_text()}")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        finally:
            self._log.close()

    def log_entries(self) -> list[dict[str, Any]]:
        entries = []
        for line in self.log_path.read_text().splitlines():
            if line.startswith("{"):
                entries.append(json.loads(line))
        return entries


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    running = OtlpReceiver().start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def traced_run(
    tmp_path_factory: pytest.TempPathFactory, receiver: OtlpReceiver
) -> tuple[ServerProcess, task_pb2.Task, int]:
    data_dir = tmp_path_factory.mktemp("telemetry")
    server = ServerProcess(data_dir, receiver)
    try:
        token = mint_dev_token(settings_for_tests(data_dir), user_id="ada", tenant_id="otel")
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            client = Client(channel, token)
            task = client.create_task(
                client.upload((DATA / "jfk.flac").read_bytes(), filename="jfk.flac")
            )
            deadline = time.monotonic() + 240
            while task.state not in TERMINAL and time.monotonic() < deadline:
                time.sleep(0.25)
                task = client.tasks.GetTask(
                    task_service_pb2.GetTaskRequest(name=task.name), metadata=client.metadata
                ).task
            # Let at least one periodic export see the finished task's metrics.
            time.sleep(1.0)
    finally:
        # Shutdown flushes the span and metric exporters.
        code = server.stop()
    return server, task, code


def _hex(raw: bytes) -> str:
    return raw.hex()


def test_one_task_is_one_trace_from_rpc_to_stages(traced_run, receiver) -> None:
    server, task, code = traced_run
    assert task.state == task_pb2.TASK_STATE_SUCCEEDED, server.log_path.read_text()[-3000:]
    assert code == 0
    spans = receiver.spans
    create = [s for s in spans if s.name == "meeting_agent.v1.TaskService/CreateTask"]
    assert len(create) == 1
    rpc = create[0]
    tree = [s for s in spans if s.trace_id == rpc.trace_id]
    jobs = [s for s in tree if s.name == "job process_task"]
    assert len(jobs) == 1
    job = jobs[0]
    assert job.parent_span_id == rpc.span_id
    stages = {s.name.removeprefix("stage "): s for s in tree if s.name.startswith("stage ")}
    assert sorted(stages) == sorted(STAGES)
    assert all(s.parent_span_id == job.span_id for s in stages.values())
    # Stages are sequential, in pipeline order.
    ordered = sorted(stages.values(), key=lambda s: s.start_time_unix_nano)
    assert [s.name.removeprefix("stage ") for s in ordered] == STAGES
    provider = [s for s in tree if s.name == "transcribe local"]
    assert len(provider) == 1
    assert provider[0].parent_span_id == stages["transcribe"].span_id
    # The upload is another RPC, so another trace: one task, one trace.
    assert all(
        s.trace_id != rpc.trace_id
        for s in spans
        if s.name == "meeting_agent.v1.AudioService/UploadAudio"
    )


def test_metrics_arrive_for_rpcs_tasks_stages_and_providers(traced_run, receiver) -> None:
    names = receiver.metric_names
    for expected in (
        "rpc.server.call.duration",
        "meeting_agent.tasks",
        "meeting_agent.task.state_changes",
        "meeting_agent.stage.duration",
        "meeting_agent.pipeline.real_time_factor",
        "meeting_agent.provider.call.duration",
        "meeting_agent.job.queue_wait",
    ):
        assert expected in names, sorted(names)


def test_logs_are_json_with_the_rpc_trace_id_and_no_token(traced_run, receiver) -> None:
    server, _task, _code = traced_run
    create = next(s for s in receiver.spans if s.name == "meeting_agent.v1.TaskService/CreateTask")
    entries = server.log_entries()
    finished = [
        e
        for e in entries
        if e.get("message") == "rpc finished" and e.get("rpc_method", "").endswith("/CreateTask")
    ]
    assert finished and finished[0]["trace_id"] == _hex(create.trace_id)
    assert "eyJ" not in server.log_path.read_text()
