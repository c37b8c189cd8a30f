"""MinutesService: minutes artifacts of tasks."""

from __future__ import annotations

from meeting_agent.api import mappers
from meeting_agent.api.context import Context
from meeting_agent.api.interceptors import current_principal
from meeting_agent.api.validation import check_request_id, parse_name, provider_choices
from meeting_agent.domain.checks import Violations
from meeting_agent.errors import InvalidArgument
from meeting_agent.service.common import next_page_token, page_request
from meeting_agent.service.minutes import MinutesService
from meeting_agent.service.offload import Offload
from meeting_agent.v1 import artifact_pb2, minutes_service_pb2, minutes_service_pb2_grpc

_MINUTES_FORMATS = {
    artifact_pb2.MINUTES_FORMAT_MARKDOWN: "markdown",
    artifact_pb2.MINUTES_FORMAT_JSON: "json",
}


class MinutesServicer(minutes_service_pb2_grpc.MinutesServiceServicer):
    def __init__(self, minutes: MinutesService, offload: Offload) -> None:
        self._minutes = minutes
        self._offload = offload

    async def ListArtifacts(
        self, request: minutes_service_pb2.ListArtifactsRequest, context: Context
    ) -> minutes_service_pb2.ListArtifactsResponse:
        (task_id,) = parse_name(request.parent, "parent", "tasks")
        scope = ("artifacts", task_id)
        page = page_request(request.page_size, request.page_token, scope=scope)
        result = await self._offload.read(
            self._minutes.list, current_principal(), task_id, limit=page.size, cursor=page.cursor
        )
        return minutes_service_pb2.ListArtifactsResponse(
            artifacts=[mappers.artifact(a) for a in result.items],
            next_page_token=next_page_token(result.next_cursor, scope=scope),
        )

    async def GetArtifact(
        self, request: minutes_service_pb2.GetArtifactRequest, context: Context
    ) -> minutes_service_pb2.GetArtifactResponse:
        task_id, artifact_id = parse_name(request.name, "name", "tasks", "artifacts")
        artifact = await self._offload.read(
            self._minutes.get, current_principal(), task_id, artifact_id
        )
        return minutes_service_pb2.GetArtifactResponse(artifact=mappers.artifact(artifact))

    async def GenerateArtifact(
        self, request: minutes_service_pb2.GenerateArtifactRequest, context: Context
    ) -> minutes_service_pb2.GenerateArtifactResponse:
        (task_id,) = parse_name(request.parent, "parent", "tasks")
        v = Violations()
        template_id = ""
        if request.prompt_template:
            (template_id,) = parse_name(
                request.prompt_template, "prompt_template", "promptTemplates"
            )
        choices = provider_choices(v, request.llm_providers, "llm_providers")
        check_request_id(v, request.request_id)
        v.raise_if_any()
        artifact = await self._offload.call(
            self._minutes.generate,
            current_principal(),
            task_id,
            template_id,
            choices,
            request.request_id,
        )
        return minutes_service_pb2.GenerateArtifactResponse(artifact=mappers.artifact(artifact))

    async def ExportArtifact(
        self, request: minutes_service_pb2.ExportArtifactRequest, context: Context
    ) -> minutes_service_pb2.ExportArtifactResponse:
        task_id, artifact_id = parse_name(request.name, "name", "tasks", "artifacts")
        if request.format not in _MINUTES_FORMATS:
            raise InvalidArgument.field("format", "must be MARKDOWN or JSON")
        content, content_type, filename = await self._offload.call(
            self._minutes.export,
            current_principal(),
            task_id,
            artifact_id,
            _MINUTES_FORMATS[request.format],
        )
        return minutes_service_pb2.ExportArtifactResponse(
            content=content, content_type=content_type, filename=filename
        )
