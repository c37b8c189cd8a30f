"""Health, reflection, authentication and error hygiene of the real server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from meeting_agent.api.server import SERVICE_NAMES
from meeting_agent.auth import mint_dev_token
from meeting_agent.config import Settings
from meeting_agent.service.uploads import UploadService
from meeting_agent.v1 import capabilities_service_pb2, task_service_pb2
from tests.e2e.conftest import Client, failure, health_status
from tests.harness.server import ServerThread, settings_for_tests

ROOT = Path(__file__).resolve().parents[2]


def test_health_is_serving_for_every_service_without_a_token(channel: grpc.Channel) -> None:
    deadline = time.monotonic() + 10
    while health_status(channel) != health_pb2.HealthCheckResponse.SERVING:
        assert time.monotonic() < deadline, "server never became SERVING"
        time.sleep(0.1)

    for service in SERVICE_NAMES:
        assert health_status(channel, service) == health_pb2.HealthCheckResponse.SERVING


def test_reflection_describes_every_service_without_a_token(channel: grpc.Channel) -> None:
    database = ProtoReflectionDescriptorDatabase(channel)

    services = set(database.get_services())
    method = database.FindFileContainingSymbol("meeting_agent.v1.TaskService")

    assert services >= {*SERVICE_NAMES, "grpc.health.v1.Health"}
    assert method.name == "meeting_agent/v1/task_service.proto"


@pytest.mark.parametrize(
    ("metadata", "reason"),
    [
        ((), "MISSING_CREDENTIALS"),
        ((("authorization", "Bearer not-a-jwt"),), "MALFORMED_TOKEN"),
        ((("x-user-id", "u"), ("x-tenant-id", "t")), "MISSING_CREDENTIALS"),
    ],
    ids=["no-token", "garbage-token", "gateway-headers-when-gateway-mode-is-off"],
)
def test_calls_without_valid_credentials_are_unauthenticated(
    channel: grpc.Channel, metadata: tuple[tuple[str, str], ...], reason: str
) -> None:
    client = Client(channel, None)

    with pytest.raises(grpc.RpcError) as caught:
        client.capabilities.GetCapabilities(
            capabilities_service_pb2.GetCapabilitiesRequest(), metadata=metadata
        )

    got = failure(caught.value)
    assert (got.code, got.reason) == (grpc.StatusCode.UNAUTHENTICATED, reason)


def test_streaming_rpcs_are_authenticated_too(channel: grpc.Channel) -> None:
    stream = Client(channel, None).tasks.WatchTask(
        task_service_pb2.WatchTaskRequest(name="tasks/x"), timeout=5
    )

    with pytest.raises(grpc.RpcError) as caught:
        next(stream)

    assert failure(caught.value).code == grpc.StatusCode.UNAUTHENTICATED


def test_first_call_creates_the_user_row(server: ServerThread, channel: grpc.Channel) -> None:
    client = Client(channel, server.token("newcomer", "fresh-tenant"))
    client.capabilities.GetCapabilities(
        capabilities_service_pb2.GetCapabilitiesRequest(), metadata=client.metadata
    )

    with server.container.database.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT tenant_id, user_id FROM users WHERE user_id = 'newcomer'"
        ).all()

    assert [tuple(r) for r in rows] == [("fresh-tenant", "newcomer")]


class _BrokenStore:
    """An object store whose writes fail with an error that must not reach callers."""

    def __getattr__(self, name: str):
        def fail(*args: object, **kwargs: object) -> None:
            raise RuntimeError("disk /secret/path exploded")

        return fail


def test_unexpected_errors_become_internal_without_details(tmp_path: Path, jfk: bytes) -> None:
    def break_uploads(container) -> None:
        container.uploads = UploadService(
            container.database.unit_of_work, _BrokenStore(), container.clock, max_upload_bytes=10**9
        )

    running = ServerThread(settings_for_tests(tmp_path), customize=break_uploads).start()
    try:
        with running.channel() as ch, pytest.raises(grpc.RpcError) as caught:
            Client(ch, running.token()).upload(jfk[:1000])
    finally:
        running.stop()

    assert failure(caught.value).code == grpc.StatusCode.INTERNAL
    assert failure(caught.value).reason == "INTERNAL"
    assert "secret" not in (caught.value.details() or "")
    assert "Traceback" not in (caught.value.details() or "")


def test_sigterm_goes_not_serving_then_drains_and_exits_cleanly(
    tmp_path: Path, redis_url: str
) -> None:
    settings = settings_for_tests(tmp_path)
    # No worker consumes the queue, so the watched task stays open through the drain.
    env = {
        **os.environ,
        "MEETING_AGENT_DATA_DIR": str(tmp_path),
        "MEETING_AGENT_JOBS__BACKEND": "rq",
        "MEETING_AGENT_JOBS__REDIS_URL": redis_url,
        "MEETING_AGENT_SERVER__LISTEN_ADDRESS": "127.0.0.1:0",
        "MEETING_AGENT_SERVER__SHUTDOWN_DELAY_SECONDS": "1.5",
        "MEETING_AGENT_SERVER__SHUTDOWN_GRACE_SECONDS": "2",
        "MEETING_AGENT_SERVER__WATCH_HEARTBEAT_SECONDS": "0.2",
    }
    with subprocess.Popen(
        [sys.executable, str(ROOT / "server.py")],
        env=env,
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            during_drain, heartbeat_after_signal = _drain_while_watching(process, settings)
        finally:
            if process.poll() is None:
                process.kill()

    assert during_drain == health_pb2.HealthCheckResponse.NOT_SERVING
    assert heartbeat_after_signal.event.sequence == 1


def _drain_while_watching(
    process: subprocess.Popen[str], settings: Settings
) -> tuple[int, task_service_pb2.WatchTaskResponse]:
    """Watch a task, send SIGTERM, and see health flip while the stream keeps going."""
    port = _port_from_log(process)
    with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
        _wait_serving(ch)
        client = Client(ch, mint_dev_token(settings))
        stream = client.tasks.WatchTask(
            task_service_pb2.WatchTaskRequest(
                name=client.create_task(client.upload(b"fLaC" + b"\0" * 100)).name
            ),
            metadata=client.metadata,
            timeout=30,
        )
        next(stream)

        process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        during_drain = health_status(ch)
        heartbeat_after_signal: task_service_pb2.WatchTaskResponse = next(stream)

    assert process.wait(timeout=30) == 0
    return during_drain, heartbeat_after_signal


def _port_from_log(process: subprocess.Popen[str]) -> int:
    """Read the bound port from the log, then keep draining it so the server never blocks."""
    assert process.stderr is not None
    for line in process.stderr:
        if "listening on port" in line:
            threading.Thread(target=process.stderr.read, daemon=True).start()
            return int(line.split("listening on port")[1].split()[0])
    raise AssertionError(f"server exited with {process.wait()}")


def _wait_serving(channel: grpc.Channel) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            if health_status(channel) == health_pb2.HealthCheckResponse.SERVING:
                return
        except grpc.RpcError:
            pass
        assert time.monotonic() < deadline
        time.sleep(0.1)
