"""TranscriptService: transcripts and speaker mappings."""

from __future__ import annotations

from meeting_agent.api import mappers
from meeting_agent.api.context import Context
from meeting_agent.api.interceptors import current_principal
from meeting_agent.api.validation import parse_singleton
from meeting_agent.domain.models import SpeakerIdentity
from meeting_agent.errors import InvalidArgument
from meeting_agent.service.offload import Offload
from meeting_agent.service.transcripts import TranscriptService
from meeting_agent.v1 import transcript_pb2, transcript_service_pb2, transcript_service_pb2_grpc

_TRANSCRIPT_FORMATS = {
    transcript_pb2.TRANSCRIPT_FORMAT_SRT: "srt",
    transcript_pb2.TRANSCRIPT_FORMAT_WEBVTT: "webvtt",
    transcript_pb2.TRANSCRIPT_FORMAT_TEXT: "text",
    transcript_pb2.TRANSCRIPT_FORMAT_JSON: "json",
}


class TranscriptServicer(transcript_service_pb2_grpc.TranscriptServiceServicer):
    def __init__(self, transcripts: TranscriptService, offload: Offload) -> None:
        self._transcripts = transcripts
        self._offload = offload

    async def GetTranscript(
        self, request: transcript_service_pb2.GetTranscriptRequest, context: Context
    ) -> transcript_service_pb2.GetTranscriptResponse:
        task_id = parse_singleton(request.name, "name", "tasks", "transcript")
        if request.view not in transcript_pb2.TranscriptView.values():
            raise InvalidArgument.field("view", f"unknown view {request.view}")
        with_words = request.view == transcript_pb2.TRANSCRIPT_VIEW_FULL
        transcript, mappings = await self._offload.call(
            self._transcripts.get, current_principal(), task_id, with_words=with_words
        )
        return transcript_service_pb2.GetTranscriptResponse(
            transcript=mappers.transcript(transcript, mappings, with_words=with_words)
        )

    async def ExportTranscript(
        self, request: transcript_service_pb2.ExportTranscriptRequest, context: Context
    ) -> transcript_service_pb2.ExportTranscriptResponse:
        task_id = parse_singleton(request.name, "name", "tasks", "transcript")
        if request.format not in _TRANSCRIPT_FORMATS:
            raise InvalidArgument.field("format", "must be SRT, WEBVTT, TEXT or JSON")
        content, content_type, filename = await self._offload.call(
            self._transcripts.export,
            current_principal(),
            task_id,
            _TRANSCRIPT_FORMATS[request.format],
        )
        return transcript_service_pb2.ExportTranscriptResponse(
            content=content, content_type=content_type, filename=filename
        )

    async def GetSpeakerMappings(
        self, request: transcript_service_pb2.GetSpeakerMappingsRequest, context: Context
    ) -> transcript_service_pb2.GetSpeakerMappingsResponse:
        task_id = parse_singleton(request.name, "name", "tasks", "speakerMappings")
        mappings = await self._offload.read(
            self._transcripts.get_mappings, current_principal(), task_id
        )
        return transcript_service_pb2.GetSpeakerMappingsResponse(
            speaker_mappings=mappers.speaker_mappings(mappings)
        )

    async def UpdateSpeakerMappings(
        self, request: transcript_service_pb2.UpdateSpeakerMappingsRequest, context: Context
    ) -> transcript_service_pb2.UpdateSpeakerMappingsResponse:
        given = request.speaker_mappings
        task_id = parse_singleton(given.name, "speaker_mappings.name", "tasks", "speakerMappings")
        mappings = {
            label: SpeakerIdentity(identity.display_name, identity.user_id)
            for label, identity in given.mappings.items()
        }
        result = await self._offload.call(
            self._transcripts.update_mappings,
            current_principal(),
            task_id,
            mappings,
            given.etag,
            list(request.update_mask.paths),
        )
        return transcript_service_pb2.UpdateSpeakerMappingsResponse(
            speaker_mappings=mappers.speaker_mappings(result)
        )
