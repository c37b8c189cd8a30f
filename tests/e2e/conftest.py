"""End-to-end fixtures: one real server per session, real stubs, real tokens."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status

from meeting_agent.v1 import (
    audio_pb2,
    audio_service_pb2,
    audio_service_pb2_grpc,
    capabilities_service_pb2_grpc,
    hotword_set_service_pb2_grpc,
    minutes_service_pb2_grpc,
    prompt_template_service_pb2_grpc,
    task_pb2,
    task_service_pb2,
    task_service_pb2_grpc,
    transcript_pb2,
    transcript_service_pb2,
    transcript_service_pb2_grpc,
    usage_service_pb2_grpc,
)
from tests.harness.server import ServerThread, settings_for_tests

DATA = Path(__file__).resolve().parents[1] / "data"
MAX_UPLOAD_BYTES = 4 * 1024 * 1024
# What jfk.flac says.
JFK = (
    "And so my fellow Americans, ask not what your country can do for you, "
    "ask what you can do for your country."
)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[ServerThread]:
    """A server of the production profile with no worker attached: tasks stay QUEUED, so
    the API can be tested on stable state. The pipeline has servers of its own.

    Its queue has a name of its own: its reconciler requeues its never-run tasks for the
    whole session, and in the shared queue other tests' workers would be kept busy with
    them (tasks of a database they do not have), ahead of their own work."""
    settings = settings_for_tests(
        tmp_path_factory.mktemp("server"),
        storage={"max_upload_bytes": MAX_UPLOAD_BYTES},
        jobs={"backend": "rq", "redis_url": redis_url, "queue_name": "meeting-agent-api-tests"},
    )
    running = ServerThread(settings).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def inline_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    """A server that runs its tasks itself, one at a time, with the local models: one
    for each test module that asks for it."""
    settings = settings_for_tests(
        tmp_path_factory.mktemp("inline"),
        jobs={"inline_workers": 1, "heartbeat_seconds": 0.5, "heartbeat_timeout_seconds": 5},
    )
    running = ServerThread(settings).start()
    yield running
    running.stop()


@dataclass
class Client:
    """Every stub on one channel, calling as one principal."""

    channel: grpc.Channel
    token: str | None

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.token}"),) if self.token else ()

    @property
    def tasks(self) -> task_service_pb2_grpc.TaskServiceStub:
        return task_service_pb2_grpc.TaskServiceStub(self.channel)

    @property
    def audio(self) -> audio_service_pb2_grpc.AudioServiceStub:
        return audio_service_pb2_grpc.AudioServiceStub(self.channel)

    @property
    def transcripts(self) -> transcript_service_pb2_grpc.TranscriptServiceStub:
        return transcript_service_pb2_grpc.TranscriptServiceStub(self.channel)

    @property
    def minutes(self) -> minutes_service_pb2_grpc.MinutesServiceStub:
        return minutes_service_pb2_grpc.MinutesServiceStub(self.channel)

    @property
    def templates(self) -> prompt_template_service_pb2_grpc.PromptTemplateServiceStub:
        return prompt_template_service_pb2_grpc.PromptTemplateServiceStub(self.channel)

    @property
    def hotwords(self) -> hotword_set_service_pb2_grpc.HotwordSetServiceStub:
        return hotword_set_service_pb2_grpc.HotwordSetServiceStub(self.channel)

    @property
    def usage(self) -> usage_service_pb2_grpc.UsageServiceStub:
        return usage_service_pb2_grpc.UsageServiceStub(self.channel)

    @property
    def capabilities(self) -> capabilities_service_pb2_grpc.CapabilitiesServiceStub:
        return capabilities_service_pb2_grpc.CapabilitiesServiceStub(self.channel)

    def upload(
        self,
        content: bytes,
        *,
        filename: str = "meeting.flac",
        chunk: int = 64 * 1024,
        sha256: str | None = None,
        size: int | None = None,
        content_type: str = "audio/flac",
    ) -> audio_pb2.Upload:
        meta = audio_pb2.UploadMetadata(
            filename=filename,
            content_type=content_type,
            size_bytes=len(content) if size is None else size,
            sha256=sha256 or hashlib.sha256(content).hexdigest(),
        )
        requests = [audio_service_pb2.UploadAudioRequest(metadata=meta)] + [
            audio_service_pb2.UploadAudioRequest(chunk=content[i : i + chunk])
            for i in range(0, len(content), chunk)
        ]
        response: audio_service_pb2.UploadAudioResponse = self.audio.UploadAudio(
            iter(requests), metadata=self.metadata
        )
        return response.upload

    def create_task(
        self, *uploads: audio_pb2.Upload, request_id: str = "", **task_fields: Any
    ) -> task_pb2.Task:
        task = task_pb2.Task(
            audio_sources=[task_pb2.AudioSource(upload=u.name) for u in uploads], **task_fields
        )
        created: task_pb2.Task = self.tasks.CreateTask(
            task_service_pb2.CreateTaskRequest(task=task, request_id=request_id),
            metadata=self.metadata,
        ).task
        return created


@pytest.fixture(scope="session")
def channel(server: ServerThread) -> Iterator[grpc.Channel]:
    with server.channel() as ch:
        yield ch


@pytest.fixture(scope="session")
def alice(server: ServerThread, channel: grpc.Channel) -> Client:
    return Client(channel, server.token("alice", "acme"))


@pytest.fixture(scope="session")
def mallory(server: ServerThread, channel: grpc.Channel) -> Client:
    """A user of another tenant."""
    return Client(channel, server.token("mallory", "globex"))


@pytest.fixture(scope="session")
def jfk() -> bytes:
    return (DATA / "jfk.flac").read_bytes()


@dataclass(frozen=True)
class RpcFailure:
    code: grpc.StatusCode
    reason: str
    fields: frozenset[str]
    retry: bool


def failure(error: grpc.RpcError) -> RpcFailure:
    """What a caller can branch on: the code, ErrorInfo reason and BadRequest fields."""
    status = rpc_status.from_call(error)
    reason, retry = "", False
    fields: set[str] = set()
    for detail in status.details if status else ():
        info, bad, retry_info = (
            error_details_pb2.ErrorInfo(),
            error_details_pb2.BadRequest(),
            error_details_pb2.RetryInfo(),
        )
        if detail.Unpack(info):
            reason = info.reason
            assert info.domain == "meeting-agent"
        elif detail.Unpack(bad):
            fields.update(v.field for v in bad.field_violations)
        elif detail.Unpack(retry_info):
            retry = True
    return RpcFailure(error.code(), reason, frozenset(fields), retry)


def normalized(text: str) -> str:
    """Lower case, punctuation as spaces, one space between words: text to compare."""
    return " ".join(re.sub(r"[^\w\s']", " ", text.lower()).split())


def transcript_text(client: Client, name: str) -> str:
    transcript: transcript_pb2.Transcript = client.transcripts.GetTranscript(
        transcript_service_pb2.GetTranscriptRequest(name=f"{name}/transcript"),
        metadata=client.metadata,
    ).transcript
    return " ".join(s.text for s in transcript.segments)


def watch(client: Client, name: str, after: int = 0) -> list[task_service_pb2.WatchTaskResponse]:
    """The task's events after `after` until it ends, heartbeats left out."""
    return [
        m
        for m in client.tasks.WatchTask(
            task_service_pb2.WatchTaskRequest(name=name, after_sequence=after),
            metadata=client.metadata,
            timeout=300,
        )
        if m.event.type != task_pb2.TASK_EVENT_TYPE_HEARTBEAT
    ]


def wait_transcribing(client: Client, name: str, percent: int) -> None:
    """Until the task is `percent` done and still transcribing."""
    for message in client.tasks.WatchTask(
        task_service_pb2.WatchTaskRequest(name=name), metadata=client.metadata, timeout=300
    ):
        if (
            message.event.stage == task_pb2.TASK_STAGE_TRANSCRIBE
            and message.event.progress_percent >= percent
        ):
            return
        assert not message.HasField("task"), "the task ended while still transcribing"
    raise AssertionError("the stream ended")


def health_status(channel: grpc.Channel, service: str = "") -> int:
    """`Health/Check` of one service name (the empty name: the whole server)."""
    # grpc_health ships no type information: the answer's status is an int by its proto.
    status: int = (
        health_pb2_grpc.HealthStub(channel)
        .Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
        .status
    )
    return status
