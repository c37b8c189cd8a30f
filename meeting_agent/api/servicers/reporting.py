"""UsageService and CapabilitiesService."""

from __future__ import annotations

from meeting_agent import __version__
from meeting_agent.api import mappers
from meeting_agent.api.context import Context
from meeting_agent.api.interceptors import current_principal
from meeting_agent.api.validation import LABEL_KEY, check_timestamp
from meeting_agent.config import Settings
from meeting_agent.domain.checks import Violations
from meeting_agent.service.catalog import ProviderCatalog
from meeting_agent.service.offload import Offload
from meeting_agent.service.usage import UsageQuery, UsageService
from meeting_agent.v1 import (
    capabilities_service_pb2,
    capabilities_service_pb2_grpc,
    usage_service_pb2,
    usage_service_pb2_grpc,
)

_DIMENSIONS = {
    usage_service_pb2.USAGE_DIMENSION_PROVIDER: "provider",
    usage_service_pb2.USAGE_DIMENSION_USER: "user",
    usage_service_pb2.USAGE_DIMENSION_LABEL: "label",
    usage_service_pb2.USAGE_DIMENSION_DAY: "day",
}


class UsageServicer(usage_service_pb2_grpc.UsageServiceServicer):
    def __init__(self, usage: UsageService, offload: Offload) -> None:
        self._usage = usage
        self._offload = offload

    async def GetUsage(
        self, request: usage_service_pb2.GetUsageRequest, context: Context
    ) -> usage_service_pb2.GetUsageResponse:
        v = Violations()
        v.check(request.HasField("start_time"), "start_time", "is required")
        v.check(request.HasField("end_time"), "end_time", "is required")
        start = check_timestamp(v, request.start_time, "start_time")
        end = check_timestamp(v, request.end_time, "end_time")
        group_by = []
        for i, dimension in enumerate(request.group_by):
            if dimension not in _DIMENSIONS:
                v.add(f"group_by[{i}]", f"unknown dimension {dimension}")
            elif _DIMENSIONS[dimension] in group_by:
                v.add(f"group_by[{i}]", "is repeated")
            else:
                group_by.append(_DIMENSIONS[dimension])
        v.check(
            not request.label_key or LABEL_KEY.fullmatch(request.label_key) is not None,
            "label_key",
            "must match [a-z][a-z0-9_-]{0,62}",
        )
        user_id = request.user.removeprefix("users/")
        v.check(
            not request.user or (request.user.startswith("users/") and bool(user_id)),
            "user",
            "must have the form users/{user}",
        )
        v.raise_if_any()
        assert start is not None and end is not None
        query = UsageQuery(
            start=start,
            end=end,
            group_by=group_by,
            label_key=request.label_key,
            provider=request.provider,
            user_id=user_id if request.user else "",
        )
        rows, total = await self._offload.call(self._usage.get_usage, current_principal(), query)
        return usage_service_pb2.GetUsageResponse(
            rows=[mappers.usage_row(r) for r in rows], total=mappers.usage_row(total)
        )


class CapabilitiesServicer(capabilities_service_pb2_grpc.CapabilitiesServiceServicer):
    def __init__(
        self, catalog: ProviderCatalog, settings: Settings, *, presigned_upload: bool
    ) -> None:
        limits = settings.limits
        self._response = capabilities_service_pb2.GetCapabilitiesResponse(
            asr_providers=[
                capabilities_service_pb2.AsrProviderInfo(
                    name=p.name,
                    models=p.models,
                    language_codes=p.language_codes,
                    diarization=p.diarization,
                    hotwords=p.hotwords,
                    word_timestamps=p.word_timestamps,
                    native_hotwords=p.native_hotwords,
                )
                for p in catalog.asr
            ],
            llm_providers=[
                capabilities_service_pb2.LlmProviderInfo(
                    name=p.name, models=p.models, extractive=p.extractive
                )
                for p in catalog.llm
            ],
            limits=capabilities_service_pb2.Limits(
                max_upload_bytes=settings.storage.max_upload_bytes,
                max_audio_duration=mappers.duration(limits.max_audio_seconds),
                max_audio_sources=limits.max_audio_sources,
                max_chunk_bytes=limits.max_chunk_bytes,
            ),
            presigned_upload=presigned_upload,
            diarization=catalog.diarization,
            server_version=__version__,
        )

    async def GetCapabilities(
        self, request: capabilities_service_pb2.GetCapabilitiesRequest, context: Context
    ) -> capabilities_service_pb2.GetCapabilitiesResponse:
        return self._response
