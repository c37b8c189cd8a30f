"""TranscriptService, MinutesService, UsageService and CapabilitiesService over a real socket."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from google.protobuf import field_mask_pb2, timestamp_pb2

from meeting_agent.v1 import (
    capabilities_service_pb2,
    minutes_service_pb2,
    transcript_pb2,
    transcript_service_pb2,
    usage_service_pb2,
)
from tests.e2e.conftest import Client, failure


def _mappings(client: Client, task_name: str) -> transcript_pb2.SpeakerMappings:
    mappings: transcript_pb2.SpeakerMappings = client.transcripts.GetSpeakerMappings(
        transcript_service_pb2.GetSpeakerMappingsRequest(name=f"{task_name}/speakerMappings"),
        metadata=client.metadata,
    ).speaker_mappings
    return mappings


def _update(
    client: Client, task_name: str, mask: list[str], etag: str = "", **people: str
) -> transcript_pb2.SpeakerMappings:
    updated: transcript_pb2.SpeakerMappings = client.transcripts.UpdateSpeakerMappings(
        transcript_service_pb2.UpdateSpeakerMappingsRequest(
            speaker_mappings=transcript_pb2.SpeakerMappings(
                name=f"{task_name}/speakerMappings",
                etag=etag,
                mappings={
                    k: transcript_pb2.SpeakerIdentity(display_name=v) for k, v in people.items()
                },
            ),
            update_mask=field_mask_pb2.FieldMask(paths=mask),
        ),
        metadata=client.metadata,
    ).speaker_mappings
    return updated


def test_speaker_mappings_follow_the_field_mask(alice: Client, jfk: bytes) -> None:
    task = alice.create_task(alice.upload(jfk))
    empty = _mappings(alice, task.name)

    both = _update(alice, task.name, ["mappings"], SPEAKER_1="Ada", SPEAKER_2="Grace")
    one_changed = _update(alice, task.name, ["mappings.SPEAKER_2"], SPEAKER_2="Linus")
    one_removed = _update(alice, task.name, ["mappings.SPEAKER_1"], etag=one_changed.etag)
    with pytest.raises(grpc.RpcError) as stale:
        _update(alice, task.name, ["mappings"], etag=both.etag)

    assert dict(empty.mappings) == {}
    assert {k: v.display_name for k, v in both.mappings.items()} == {
        "SPEAKER_1": "Ada",
        "SPEAKER_2": "Grace",
    }
    assert {k: v.display_name for k, v in one_changed.mappings.items()} == {
        "SPEAKER_1": "Ada",
        "SPEAKER_2": "Linus",
    }
    assert {k: v.display_name for k, v in one_removed.mappings.items()} == {"SPEAKER_2": "Linus"}
    assert failure(stale.value).reason == "ETAG_MISMATCH"
    assert _mappings(alice, task.name) == one_removed


def test_transcript_is_not_found_until_transcription_stores_it(alice: Client, jfk: bytes) -> None:
    task = alice.create_task(alice.upload(jfk))

    with pytest.raises(grpc.RpcError) as caught:
        alice.transcripts.GetTranscript(
            transcript_service_pb2.GetTranscriptRequest(name=f"{task.name}/transcript"),
            metadata=alice.metadata,
        )

    got = failure(caught.value)
    assert (got.code, got.reason) == (grpc.StatusCode.NOT_FOUND, "TRANSCRIPT_NOT_READY")


def test_minutes_need_a_transcript(alice: Client, jfk: bytes) -> None:
    task = alice.create_task(alice.upload(jfk))

    listed = alice.minutes.ListArtifacts(
        minutes_service_pb2.ListArtifactsRequest(parent=task.name), metadata=alice.metadata
    )
    with pytest.raises(grpc.RpcError) as caught:
        alice.minutes.GenerateArtifact(
            minutes_service_pb2.GenerateArtifactRequest(parent=task.name), metadata=alice.metadata
        )

    assert list(listed.artifacts) == []
    got = failure(caught.value)
    assert (got.code, got.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "TRANSCRIPT_NOT_READY")


def _range(days: int) -> dict[str, Any]:
    """`start_time` and `end_time` of a usage request, as its keyword arguments."""
    start, end = timestamp_pb2.Timestamp(), timestamp_pb2.Timestamp()
    now = datetime.now(UTC)
    start.FromDatetime(now - timedelta(days=days))
    end.FromDatetime(now)
    return {"start_time": start, "end_time": end}


def test_usage_is_empty_before_any_paid_call(alice: Client) -> None:
    usage = alice.usage.GetUsage(
        usage_service_pb2.GetUsageRequest(
            group_by=[usage_service_pb2.USAGE_DIMENSION_PROVIDER], **_range(7)
        ),
        metadata=alice.metadata,
    )

    assert list(usage.rows) == []
    assert usage.total.call_count == 0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"start_time": None}, "start_time"),
        ({"group_by": [usage_service_pb2.USAGE_DIMENSION_LABEL]}, "label_key"),
        ({"days": 400}, "end_time"),
        ({"start_time": timestamp_pb2.Timestamp(seconds=0, nanos=2_000_000_000)}, "start_time"),
        ({"end_time": timestamp_pb2.Timestamp(seconds=2**40)}, "end_time"),
    ],
    ids=[
        "missing-start",
        "label-without-key",
        "range-too-long",
        "nanos-out-of-range",
        "after-year-9999",
    ],
)
def test_usage_validates_its_request(alice: Client, kwargs: dict[str, Any], field: str) -> None:
    request_fields = _range(int(kwargs.pop("days", 7)))
    request_fields.update({k: v for k, v in kwargs.items() if v is not None})
    for k in [k for k, v in kwargs.items() if v is None]:
        request_fields.pop(k)

    with pytest.raises(grpc.RpcError) as caught:
        alice.usage.GetUsage(
            usage_service_pb2.GetUsageRequest(**request_fields),
            metadata=alice.metadata,
        )

    got = failure(caught.value)
    assert got.code == grpc.StatusCode.INVALID_ARGUMENT
    assert field in got.fields


def test_capabilities_describe_the_embedded_default(alice: Client) -> None:
    caps = alice.capabilities.GetCapabilities(
        capabilities_service_pb2.GetCapabilitiesRequest(), metadata=alice.metadata
    )

    assert caps.asr_providers[0].name == "local"
    assert "en" in caps.asr_providers[0].language_codes
    assert caps.llm_providers[0].extractive
    assert caps.limits.max_upload_bytes > 0
    assert not caps.presigned_upload
