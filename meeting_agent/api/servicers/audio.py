"""AudioService: streamed uploads and presigned upload URLs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from meeting_agent.api import mappers
from meeting_agent.api.context import Context
from meeting_agent.api.interceptors import current_principal
from meeting_agent.api.validation import MIME_TYPE, SHA256_HEX, parse_name
from meeting_agent.domain.checks import Violations, check_plain_text
from meeting_agent.errors import InvalidArgument
from meeting_agent.service.offload import Offload
from meeting_agent.service.uploads import UploadMetadata, UploadService
from meeting_agent.v1 import audio_pb2, audio_service_pb2, audio_service_pb2_grpc


def _metadata(meta: audio_pb2.UploadMetadata, field: str) -> UploadMetadata:
    v = Violations()
    check_plain_text(v, meta.filename, f"{field}.filename", max_length=255, required=True)
    v.check(
        not any(c in meta.filename for c in "/\\"),
        f"{field}.filename",
        "must not contain path separators",
    )
    check_plain_text(v, meta.content_type, f"{field}.content_type", max_length=255, required=True)
    v.check(
        not meta.content_type or MIME_TYPE.fullmatch(meta.content_type) is not None,
        f"{field}.content_type",
        "must be a MIME type such as audio/flac",
    )
    v.check(meta.size_bytes > 0, f"{field}.size_bytes", "must be positive")
    v.check(
        SHA256_HEX.fullmatch(meta.sha256) is not None,
        f"{field}.sha256",
        "must be 64 lowercase hex digits",
    )
    v.raise_if_any()
    return UploadMetadata(
        filename=meta.filename,
        content_type=meta.content_type,
        size_bytes=meta.size_bytes,
        sha256=meta.sha256,
    )


class AudioServicer(audio_service_pb2_grpc.AudioServiceServicer):
    def __init__(self, uploads: UploadService, offload: Offload, *, max_chunk_bytes: int) -> None:
        self._uploads = uploads
        self._offload = offload
        self._max_chunk_bytes = max_chunk_bytes

    async def UploadAudio(
        self,
        request_iterator: AsyncIterator[audio_service_pb2.UploadAudioRequest],
        context: Context,
    ) -> audio_service_pb2.UploadAudioResponse:
        stream = aiter(request_iterator)
        first = await anext(stream, None)
        if first is None or first.WhichOneof("payload") != "metadata":
            raise InvalidArgument.field(
                "metadata",
                "the first message must carry the metadata",
                reason="UPLOAD_METADATA_FIRST",
            )
        metadata = _metadata(first.metadata, "metadata")
        session = await self._offload.call(self._uploads.begin, current_principal(), metadata)
        # One chunk is written (hashed, stored) on a thread while the next one arrives:
        # the two overlap, and at most two chunks are held at a time.
        writing: asyncio.Task[None] | None = None
        try:
            async for message in stream:
                if message.WhichOneof("payload") != "chunk":
                    raise InvalidArgument.field(
                        "metadata",
                        "only the first message may carry metadata",
                        reason="UPLOAD_METADATA_FIRST",
                    )
                if len(message.chunk) > self._max_chunk_bytes:
                    raise InvalidArgument.field(
                        "chunk",
                        f"chunks must be at most {self._max_chunk_bytes} bytes",
                        reason="UPLOAD_CHUNK_TOO_LARGE",
                    )
                if writing is not None:
                    await writing
                writing = asyncio.ensure_future(self._offload.call(session.write, message.chunk))
            if writing is not None:
                await writing
                writing = None
            upload = await self._offload.call(session.finish)
        except BaseException:
            if writing is not None:
                # Let the write in flight end before the partial object is removed.
                await asyncio.gather(writing, return_exceptions=True)
            # Covers client cancellation too: the partial object must not linger.
            await self._offload.call(session.abort)
            raise
        return audio_service_pb2.UploadAudioResponse(upload=mappers.upload(upload))

    async def CreateUploadUrl(
        self, request: audio_service_pb2.CreateUploadUrlRequest, context: Context
    ) -> audio_service_pb2.CreateUploadUrlResponse:
        if not request.HasField("metadata"):
            raise InvalidArgument.field("metadata", "is required")
        metadata = _metadata(request.metadata, "metadata")
        upload, presigned = await self._offload.call(
            self._uploads.create_upload_url, current_principal(), metadata
        )
        return audio_service_pb2.CreateUploadUrlResponse(
            upload=mappers.upload(upload),
            url=presigned.url,
            method=presigned.method,
            headers=presigned.headers,
            expire_time=mappers.timestamp(presigned.expire_time),
        )

    async def GetUpload(
        self, request: audio_service_pb2.GetUploadRequest, context: Context
    ) -> audio_service_pb2.GetUploadResponse:
        (upload_id,) = parse_name(request.name, "name", "uploads")
        upload = await self._offload.read(self._uploads.get, current_principal(), upload_id)
        return audio_service_pb2.GetUploadResponse(upload=mappers.upload(upload))
