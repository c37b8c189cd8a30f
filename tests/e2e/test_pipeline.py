"""The embedded default end to end: a task created over gRPC is really processed."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol, cast

import grpc
import pytest

from meeting_agent.v1 import (
    artifact_pb2,
    minutes_service_pb2,
    task_pb2,
    task_service_pb2,
    transcript_pb2,
    transcript_service_pb2,
)
from tests.e2e.conftest import DATA, JFK, Client, failure, normalized, watch
from tests.harness.server import ServerThread


@pytest.fixture(scope="module")
def client(inline_server: ServerThread) -> Iterator[Client]:
    with inline_server.channel() as channel:
        yield Client(channel, inline_server.token("ada", "pipeline-tenant"))


@pytest.fixture(scope="module")
def jfk_task(client: Client) -> tuple[task_pb2.Task, list[task_service_pb2.WatchTaskResponse]]:
    task = client.create_task(
        client.upload((DATA / "jfk.flac").read_bytes(), filename="jfk.flac"), display_name="JFK"
    )
    return task, watch(client, task.name)


def test_watch_follows_the_task_from_queued_to_succeeded(jfk_task) -> None:
    task, messages = jfk_task
    events = [m.event for m in messages]

    assert [e.sequence for e in events] == list(range(1, len(events) + 1))
    assert events[0].state == task_pb2.TASK_STATE_QUEUED
    assert events[1].state == task_pb2.TASK_STATE_RUNNING
    stages = [e.stage for e in events if e.type == task_pb2.TASK_EVENT_TYPE_STAGE_CHANGED]
    assert stages == [
        task_pb2.TASK_STAGE_FETCH_AUDIO,
        task_pb2.TASK_STAGE_DECODE,
        task_pb2.TASK_STAGE_TRANSCRIBE,
        task_pb2.TASK_STAGE_DIARIZE,
        task_pb2.TASK_STAGE_APPLY_SPEAKER_MAPPINGS,
        task_pb2.TASK_STAGE_GENERATE_MINUTES,
    ]
    percents = [e.progress_percent for e in events]
    assert percents == sorted(percents) and percents[-1] == 100
    assert events[-1].state == task_pb2.TASK_STATE_SUCCEEDED
    final = messages[-1].task
    assert final.state == task_pb2.TASK_STATE_SUCCEEDED
    assert final.transcript == f"{task.name}/transcript"
    assert final.audio_duration.seconds == 11


def test_watching_again_from_the_middle_returns_exactly_the_rest(client: Client, jfk_task) -> None:
    task, messages = jfk_task
    middle = messages[len(messages) // 2].event.sequence

    rest = watch(client, task.name, after=middle)

    assert [m.event for m in rest] == [m.event for m in messages if m.event.sequence > middle]


def test_transcript_matches_the_reference(client: Client, jfk_task) -> None:
    task, _ = jfk_task

    transcript = client.transcripts.GetTranscript(
        transcript_service_pb2.GetTranscriptRequest(
            name=f"{task.name}/transcript", view=transcript_pb2.TRANSCRIPT_VIEW_FULL
        ),
        metadata=client.metadata,
    ).transcript

    assert normalized(" ".join(s.text for s in transcript.segments)) == normalized(JFK)
    assert {s.speaker_label for s in transcript.segments} == {"SPEAKER_1"}
    words = [w for s in transcript.segments for w in s.words]
    starts = [w.start_offset.ToTimedelta().total_seconds() for w in words]
    assert starts == sorted(starts) and starts[0] >= 0 and starts[-1] <= 11.1
    assert transcript.asr_provider == "local" and transcript.asr_model == "tiny.en"


def _export(client: Client, name: str, fmt: transcript_pb2.TranscriptFormat) -> str:
    content: bytes = client.transcripts.ExportTranscript(
        transcript_service_pb2.ExportTranscriptRequest(name=f"{name}/transcript", format=fmt),
        metadata=client.metadata,
    ).content
    return content.decode()


def test_exports_use_mapped_speaker_names(client: Client, jfk_task) -> None:
    task, _ = jfk_task
    from google.protobuf import field_mask_pb2

    client.transcripts.UpdateSpeakerMappings(
        transcript_service_pb2.UpdateSpeakerMappingsRequest(
            speaker_mappings=transcript_pb2.SpeakerMappings(
                name=f"{task.name}/speakerMappings",
                mappings={"SPEAKER_1": transcript_pb2.SpeakerIdentity(display_name="JFK")},
            ),
            update_mask=field_mask_pb2.FieldMask(paths=["mappings.SPEAKER_1"]),
        ),
        metadata=client.metadata,
    )

    srt = _export(client, task.name, transcript_pb2.TRANSCRIPT_FORMAT_SRT)
    vtt = _export(client, task.name, transcript_pb2.TRANSCRIPT_FORMAT_WEBVTT)
    doc = json.loads(_export(client, task.name, transcript_pb2.TRANSCRIPT_FORMAT_JSON))

    assert re.match(r"1\n\d\d:\d\d:\d\d,\d\d\d --> \d\d:\d\d:\d\d,\d\d\d\nJFK: ", srt)
    assert vtt.startswith("WEBVTT\n\n")
    assert re.search(r"\d\d:\d\d:\d\d\.\d\d\d --> \d\d:\d\d:\d\d\.\d\d\d\n<v JFK>", vtt)
    assert doc["segments"][0]["speaker_name"] == "JFK"


def test_minutes_artifact_is_stored_and_exported(client: Client, jfk_task) -> None:
    task, _ = jfk_task

    artifacts = client.minutes.ListArtifacts(
        minutes_service_pb2.ListArtifactsRequest(parent=task.name), metadata=client.metadata
    ).artifacts
    markdown = client.minutes.ExportArtifact(
        minutes_service_pb2.ExportArtifactRequest(
            name=artifacts[0].name, format=artifact_pb2.MINUTES_FORMAT_MARKDOWN
        ),
        metadata=client.metadata,
    ).content.decode()

    assert len(artifacts) == 1
    assert artifacts[0].state == artifact_pb2.ARTIFACT_STATE_SUCCEEDED
    assert artifacts[0].extractive and artifacts[0].llm_provider == "extractive"
    assert artifacts[0].minutes.summary
    assert markdown.startswith("# JFK")


def test_regenerating_minutes_does_not_transcribe_again(
    inline_server: ServerThread, client: Client, jfk_task
) -> None:
    task, _ = jfk_task
    # The metering wrapper forwards the local model's counter, untyped (`__getattr__`).
    asr = cast(_CountsChunks, inline_server.container.asr["local"])
    chunks_before = asr.chunks_transcribed
    transcript_before = client.transcripts.GetTranscript(
        transcript_service_pb2.GetTranscriptRequest(name=f"{task.name}/transcript"),
        metadata=client.metadata,
    ).transcript

    created = client.minutes.GenerateArtifact(
        minutes_service_pb2.GenerateArtifactRequest(
            parent=task.name, prompt_template="promptTemplates/zh-standard"
        ),
        metadata=client.metadata,
    ).artifact
    done = _wait_artifact(client, created.name)
    transcript_after = client.transcripts.GetTranscript(
        transcript_service_pb2.GetTranscriptRequest(name=f"{task.name}/transcript"),
        metadata=client.metadata,
    ).transcript

    assert created.state == artifact_pb2.ARTIFACT_STATE_GENERATING
    assert done.state == artifact_pb2.ARTIFACT_STATE_SUCCEEDED
    assert done.prompt_template == "promptTemplates/zh-standard"
    assert asr.chunks_transcribed == chunks_before
    assert transcript_after.create_time == transcript_before.create_time


class _CountsChunks(Protocol):
    @property
    def chunks_transcribed(self) -> int: ...


def _wait_artifact(client: Client, name: str) -> artifact_pb2.Artifact:
    import time

    deadline = time.monotonic() + 60
    while True:
        artifact: artifact_pb2.Artifact = client.minutes.GetArtifact(
            minutes_service_pb2.GetArtifactRequest(name=name), metadata=client.metadata
        ).artifact
        if artifact.state != artifact_pb2.ARTIFACT_STATE_GENERATING:
            return artifact
        assert time.monotonic() < deadline, "artifact never finished"
        time.sleep(0.1)


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"this is not audio at all" * 100, "AUDIO_UNDECODABLE")],
    ids=["undecodable"],
)
def test_bad_audio_fails_the_task_with_a_clear_reason(
    client: Client, content: bytes, reason: str
) -> None:
    task = client.create_task(client.upload(content, filename="notes.txt"))

    final = watch(client, task.name)[-1].task

    assert final.state == task_pb2.TASK_STATE_FAILED
    assert final.error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert final.error.message
    # What FFmpeg said, never where the server keeps its scratch copy.
    wire = final.error.SerializeToString().decode("utf-8", "replace")
    for leak in ("/tmp", "meeting-agent-", "source-000"):
        assert leak not in wire, final.error


def test_silence_fails_as_empty(client: Client, tmp_path: Path) -> None:
    import wave

    path = tmp_path / "silence.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\0\0" * 16000 * 3)
    task = client.create_task(client.upload(path.read_bytes(), filename="silence.wav"))

    final = watch(client, task.name)[-1].task

    assert final.state == task_pb2.TASK_STATE_FAILED
    assert _reason(final) == "AUDIO_EMPTY"


def _reason(task: task_pb2.Task) -> str:
    from google.rpc import error_details_pb2

    for detail in task.error.details:
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            return info.reason
    return ""


def test_cancel_stops_a_running_task_at_the_next_safe_point(client: Client) -> None:
    sample = (DATA / "sample.wav").read_bytes()
    task = client.create_task(*[client.upload(sample) for _ in range(4)])
    stream = client.tasks.WatchTask(
        task_service_pb2.WatchTaskRequest(name=task.name), metadata=client.metadata, timeout=120
    )
    for message in stream:
        if message.event.stage == task_pb2.TASK_STAGE_TRANSCRIBE:
            break
    cancelling = client.tasks.CancelTask(
        task_service_pb2.CancelTaskRequest(name=task.name), metadata=client.metadata
    ).task
    final = [m for m in stream if m.HasField("task")][-1].task

    assert cancelling.cancel_requested
    assert final.state == task_pb2.TASK_STATE_CANCELLED
    assert not final.transcript


def test_deleting_a_running_task_cancels_it_first(
    inline_server: ServerThread, client: Client
) -> None:
    sample = (DATA / "sample.wav").read_bytes()
    task = client.create_task(*[client.upload(sample) for _ in range(4)])
    stream = client.tasks.WatchTask(
        task_service_pb2.WatchTaskRequest(name=task.name), metadata=client.metadata, timeout=120
    )
    for message in stream:
        if message.event.stage == task_pb2.TASK_STAGE_TRANSCRIBE:
            break
    stream.cancel()

    client.tasks.DeleteTask(
        task_service_pb2.DeleteTaskRequest(name=task.name), metadata=client.metadata
    )

    with pytest.raises(grpc.RpcError) as caught:
        client.tasks.GetTask(
            task_service_pb2.GetTaskRequest(name=task.name), metadata=client.metadata
        )
    assert failure(caught.value).code == grpc.StatusCode.NOT_FOUND
    root = inline_server.settings.resolved_storage_root
    import time

    time.sleep(2)  # the job notices the cancellation at its next heartbeat
    assert not [p for p in root.rglob("*") if task.name.split("/")[1] in str(p)]
