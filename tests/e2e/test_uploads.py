"""AudioService over a real socket: streamed uploads, checksums, limits."""

from __future__ import annotations

import hashlib

import grpc
import pytest

from meeting_agent.v1 import audio_pb2, audio_service_pb2
from tests.e2e.conftest import MAX_UPLOAD_BYTES, Client, failure


def test_upload_stores_the_file_and_reports_it(alice: Client, jfk: bytes) -> None:
    upload = alice.upload(jfk, filename="jfk.flac")

    assert upload.name.startswith("uploads/")
    assert upload.size_bytes == len(jfk)
    assert upload.sha256 == hashlib.sha256(jfk).hexdigest()
    assert upload.state == audio_pb2.UPLOAD_STATE_READY
    fetched = alice.audio.GetUpload(
        audio_service_pb2.GetUploadRequest(name=upload.name), metadata=alice.metadata
    ).upload
    assert fetched == upload


@pytest.mark.parametrize(
    ("kwargs", "reason", "field"),
    [
        ({"sha256": "0" * 64}, "UPLOAD_CHECKSUM_MISMATCH", "metadata.sha256"),
        ({"size": 10}, "UPLOAD_SIZE_MISMATCH", "metadata.size_bytes"),
        ({"size": 10**6}, "UPLOAD_SIZE_MISMATCH", "metadata.size_bytes"),
        ({"sha256": "XYZ"}, "INVALID_ARGUMENT", "metadata.sha256"),
        ({"filename": "../etc/passwd"}, "INVALID_ARGUMENT", "metadata.filename"),
        ({"filename": "minutes\r\nX-Injected: 1.flac"}, "INVALID_ARGUMENT", "metadata.filename"),
        ({"filename": "meeting\0.flac"}, "INVALID_ARGUMENT", "metadata.filename"),
        (
            {"content_type": "audio/flac\r\nX-Injected: 1"},
            "INVALID_ARGUMENT",
            "metadata.content_type",
        ),
        ({"content_type": "audio/flac\0"}, "INVALID_ARGUMENT", "metadata.content_type"),
        ({"content_type": "not a type"}, "INVALID_ARGUMENT", "metadata.content_type"),
    ],
    ids=[
        "wrong-checksum",
        "more-bytes-than-declared",
        "fewer-bytes-than-declared",
        "malformed-checksum",
        "path-in-filename",
        "crlf-in-filename",
        "nul-in-filename",
        "crlf-in-content-type",
        "nul-in-content-type",
        "not-a-mime-type",
    ],
)
def test_bad_uploads_are_refused(
    alice: Client, jfk: bytes, kwargs: dict[str, object], reason: str, field: str
) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        alice.upload(jfk[:200_000], **kwargs)  # type: ignore[arg-type]

    got = failure(caught.value)
    assert (got.code, got.reason) == (grpc.StatusCode.INVALID_ARGUMENT, reason)
    assert field in got.fields


def test_upload_over_the_size_limit_is_refused_before_any_byte(alice: Client) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        alice.upload(b"x", size=MAX_UPLOAD_BYTES + 1)

    got = failure(caught.value)
    assert (got.code, got.reason) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "UPLOAD_TOO_LARGE")


def test_metadata_must_come_first(alice: Client) -> None:
    requests = iter([audio_service_pb2.UploadAudioRequest(chunk=b"abc")])

    with pytest.raises(grpc.RpcError) as caught:
        alice.audio.UploadAudio(requests, metadata=alice.metadata)

    got = failure(caught.value)
    assert (got.code, got.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "UPLOAD_METADATA_FIRST")


def test_oversized_chunk_is_refused(alice: Client) -> None:
    content = b"a" * (1024 * 1024 + 1)

    with pytest.raises(grpc.RpcError) as caught:
        alice.upload(content, chunk=len(content))

    got = failure(caught.value)
    assert (got.code, got.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "UPLOAD_CHUNK_TOO_LARGE")


def test_presigned_urls_are_refused_by_the_local_store(alice: Client) -> None:
    meta = audio_pb2.UploadMetadata(
        filename="a.flac", content_type="audio/flac", size_bytes=10, sha256="a" * 64
    )

    with pytest.raises(grpc.RpcError) as caught:
        alice.audio.CreateUploadUrl(
            audio_service_pb2.CreateUploadUrlRequest(metadata=meta), metadata=alice.metadata
        )

    got = failure(caught.value)
    assert (got.code, got.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "PRESIGN_UNSUPPORTED")
