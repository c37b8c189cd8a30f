"""Speaker diarization on the embedded default, end to end through the gRPC server."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.meetings import DEMO
from bench.synth_meeting import synthesize
from meeting_agent.v1 import (
    capabilities_service_pb2,
    task_pb2,
    transcript_pb2,
    transcript_service_pb2,
)
from tests.e2e.conftest import DATA, Client, watch
from tests.harness.server import ServerThread

pytestmark = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="needs Debian's espeak-ng"
)


@pytest.fixture(scope="module")
def client(inline_server: ServerThread) -> Iterator[Client]:
    with inline_server.channel() as channel:
        yield Client(channel, inline_server.token("dee", "diarization-tenant"))


def transcribe(
    client: Client, audio: Path, **options: Any
) -> tuple[task_pb2.Task, transcript_pb2.Transcript, list[task_pb2.TaskStage]]:
    task = client.create_task(
        client.upload(audio.read_bytes(), filename=audio.name),
        options=task_pb2.TaskOptions(**options),
    )
    messages = watch(client, task.name)
    final = messages[-1].task
    assert final.state == task_pb2.TASK_STATE_SUCCEEDED, final.error.message
    transcript: transcript_pb2.Transcript = client.transcripts.GetTranscript(
        transcript_service_pb2.GetTranscriptRequest(
            name=f"{task.name}/transcript", view=transcript_pb2.TRANSCRIPT_VIEW_FULL
        ),
        metadata=client.metadata,
    ).transcript
    stages = [
        m.event.stage for m in messages if m.event.type == task_pb2.TASK_EVENT_TYPE_STAGE_CHANGED
    ]
    return final, transcript, stages


def first_appearance(labels: list[str]) -> list[str]:
    return list(dict.fromkeys(labels))


def test_a_three_voice_meeting_comes_back_with_three_speakers(
    client: Client, tmp_path: Path
) -> None:
    meeting = synthesize(DEMO, tmp_path)

    _, transcript, stages = transcribe(client, meeting.audio)

    labels = [s.speaker_label for s in transcript.segments]
    assert first_appearance(labels) == ["SPEAKER_1", "SPEAKER_2", "SPEAKER_3"]
    assert task_pb2.TASK_STAGE_DIARIZE in stages
    # The first three turns are the three voices: one word from each.
    speaker_of = {
        anchor: next(s.speaker_label for s in transcript.segments if anchor in s.text.lower())
        for anchor in ("morning", "tested", "send them")
    }
    assert len(set(speaker_of.values())) == 3, speaker_of


def test_a_two_speaker_hint_on_sample_gives_two(client: Client) -> None:
    _, transcript, _ = transcribe(
        client, DATA / "sample.wav", speaker_count=task_pb2.SpeakerCountHint(exact=2)
    )

    assert {s.speaker_label for s in transcript.segments} == {"SPEAKER_1", "SPEAKER_2"}


def test_diarization_can_be_switched_off_per_task(client: Client) -> None:
    _, transcript, stages = transcribe(client, DATA / "sample.wav", disable_diarization=True)

    assert {s.speaker_label for s in transcript.segments} == {"SPEAKER_1"}
    assert task_pb2.TASK_STAGE_DIARIZE not in stages


def test_capabilities_report_diarization(client: Client) -> None:
    response = client.capabilities.GetCapabilities(
        capabilities_service_pb2.GetCapabilitiesRequest(), metadata=client.metadata
    )

    assert response.diarization
