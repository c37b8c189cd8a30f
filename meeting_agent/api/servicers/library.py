"""PromptTemplateService and HotwordSetService."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from datetime import UTC, datetime
from typing import Generic, Protocol, TypeVar

from google.protobuf.message import Message

from meeting_agent.api import mappers
from meeting_agent.api.context import Context
from meeting_agent.api.interceptors import current_principal
from meeting_agent.api.validation import parse_name
from meeting_agent.domain.models import Hotword, HotwordSet, Principal, PromptTemplate
from meeting_agent.ports import Page
from meeting_agent.service.common import next_page_token, page_request
from meeting_agent.service.library import HotwordSetService, PromptTemplateService
from meeting_agent.service.offload import Offload
from meeting_agent.v1 import (
    hotword_set_pb2,
    hotword_set_service_pb2,
    hotword_set_service_pb2_grpc,
    prompt_template_pb2,
    prompt_template_service_pb2,
    prompt_template_service_pb2_grpc,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # placeholder times; the service sets real ones

R = TypeVar("R")
M = TypeVar("M", bound=Message)


class _LibraryService(Protocol[R]):
    def create(self, principal: Principal, resource: R, resource_id: str, /) -> R: ...

    def get(self, principal: Principal, resource_id: str, /) -> R: ...

    def list(self, principal: Principal, *, limit: int, cursor: str | None) -> Page[R]: ...

    def update(self, principal: Principal, resource: R, fields: Collection[str], /) -> R: ...

    def delete(self, principal: Principal, resource_id: str, etag: str, /) -> None: ...


class _Library(Generic[R, M]):
    """The calls both library servicers make, from request fields to resource messages."""

    def __init__(
        self,
        service: _LibraryService[R],
        offload: Offload,
        collection: str,
        message: Callable[[R], M],
    ) -> None:
        self._service = service
        self._offload = offload
        self._collection = collection
        self._message = message

    def resource_id(self, name: str, field: str) -> str:
        (resource_id,) = parse_name(name, field, self._collection)
        return resource_id

    async def create(self, resource: R, resource_id: str) -> M:
        created = await self._offload.call(
            self._service.create, current_principal(), resource, resource_id
        )
        return self._message(created)

    async def get(self, name: str) -> M:
        resource_id = self.resource_id(name, "name")
        found = await self._offload.read(self._service.get, current_principal(), resource_id)
        return self._message(found)

    async def list(self, page_size: int, page_token: str) -> tuple[list[M], str]:
        """One page of messages, and the token of the next page."""
        scope = (self._collection,)
        page = page_request(page_size, page_token, scope=scope)
        result = await self._offload.read(
            self._service.list, current_principal(), limit=page.size, cursor=page.cursor
        )
        messages = [self._message(r) for r in result.items]
        return messages, next_page_token(result.next_cursor, scope=scope)

    async def update(self, resource: R, paths: Iterable[str]) -> M:
        updated = await self._offload.call(
            self._service.update, current_principal(), resource, list(paths)
        )
        return self._message(updated)

    async def delete(self, name: str, etag: str) -> None:
        resource_id = self.resource_id(name, "name")
        await self._offload.call(self._service.delete, current_principal(), resource_id, etag)


def _template(msg: prompt_template_pb2.PromptTemplate, template_id: str) -> PromptTemplate:
    return PromptTemplate(
        id=template_id,
        tenant_id="",
        display_name=msg.display_name,
        description=msg.description,
        system_prompt=msg.system_prompt,
        body=msg.body,
        language_code=msg.language_code,
        etag=msg.etag,
        create_time=_EPOCH,
        update_time=_EPOCH,
    )


def _hotword_set(msg: hotword_set_pb2.HotwordSet, set_id: str) -> HotwordSet:
    return HotwordSet(
        id=set_id,
        tenant_id="",
        display_name=msg.display_name,
        hotwords=[Hotword(h.phrase, h.weight) for h in msg.hotwords],
        language_code=msg.language_code,
        etag=msg.etag,
        create_time=_EPOCH,
        update_time=_EPOCH,
    )


class PromptTemplateServicer(prompt_template_service_pb2_grpc.PromptTemplateServiceServicer):
    def __init__(self, templates: PromptTemplateService, offload: Offload) -> None:
        self._templates = _Library(templates, offload, "promptTemplates", mappers.prompt_template)

    async def CreatePromptTemplate(
        self, request: prompt_template_service_pb2.CreatePromptTemplateRequest, context: Context
    ) -> prompt_template_service_pb2.CreatePromptTemplateResponse:
        created = await self._templates.create(
            _template(request.prompt_template, ""), request.prompt_template_id
        )
        return prompt_template_service_pb2.CreatePromptTemplateResponse(prompt_template=created)

    async def GetPromptTemplate(
        self, request: prompt_template_service_pb2.GetPromptTemplateRequest, context: Context
    ) -> prompt_template_service_pb2.GetPromptTemplateResponse:
        found = await self._templates.get(request.name)
        return prompt_template_service_pb2.GetPromptTemplateResponse(prompt_template=found)

    async def ListPromptTemplates(
        self, request: prompt_template_service_pb2.ListPromptTemplatesRequest, context: Context
    ) -> prompt_template_service_pb2.ListPromptTemplatesResponse:
        templates, token = await self._templates.list(request.page_size, request.page_token)
        return prompt_template_service_pb2.ListPromptTemplatesResponse(
            prompt_templates=templates, next_page_token=token
        )

    async def UpdatePromptTemplate(
        self, request: prompt_template_service_pb2.UpdatePromptTemplateRequest, context: Context
    ) -> prompt_template_service_pb2.UpdatePromptTemplateResponse:
        given = request.prompt_template
        template_id = self._templates.resource_id(given.name, "prompt_template.name")
        updated = await self._templates.update(
            _template(given, template_id), request.update_mask.paths
        )
        return prompt_template_service_pb2.UpdatePromptTemplateResponse(prompt_template=updated)

    async def DeletePromptTemplate(
        self, request: prompt_template_service_pb2.DeletePromptTemplateRequest, context: Context
    ) -> prompt_template_service_pb2.DeletePromptTemplateResponse:
        await self._templates.delete(request.name, request.etag)
        return prompt_template_service_pb2.DeletePromptTemplateResponse()


class HotwordSetServicer(hotword_set_service_pb2_grpc.HotwordSetServiceServicer):
    def __init__(self, hotword_sets: HotwordSetService, offload: Offload) -> None:
        self._sets = _Library(hotword_sets, offload, "hotwordSets", mappers.hotword_set)

    async def CreateHotwordSet(
        self, request: hotword_set_service_pb2.CreateHotwordSetRequest, context: Context
    ) -> hotword_set_service_pb2.CreateHotwordSetResponse:
        created = await self._sets.create(
            _hotword_set(request.hotword_set, ""), request.hotword_set_id
        )
        return hotword_set_service_pb2.CreateHotwordSetResponse(hotword_set=created)

    async def GetHotwordSet(
        self, request: hotword_set_service_pb2.GetHotwordSetRequest, context: Context
    ) -> hotword_set_service_pb2.GetHotwordSetResponse:
        found = await self._sets.get(request.name)
        return hotword_set_service_pb2.GetHotwordSetResponse(hotword_set=found)

    async def ListHotwordSets(
        self, request: hotword_set_service_pb2.ListHotwordSetsRequest, context: Context
    ) -> hotword_set_service_pb2.ListHotwordSetsResponse:
        sets, token = await self._sets.list(request.page_size, request.page_token)
        return hotword_set_service_pb2.ListHotwordSetsResponse(
            hotword_sets=sets, next_page_token=token
        )

    async def UpdateHotwordSet(
        self, request: hotword_set_service_pb2.UpdateHotwordSetRequest, context: Context
    ) -> hotword_set_service_pb2.UpdateHotwordSetResponse:
        given = request.hotword_set
        set_id = self._sets.resource_id(given.name, "hotword_set.name")
        updated = await self._sets.update(_hotword_set(given, set_id), request.update_mask.paths)
        return hotword_set_service_pb2.UpdateHotwordSetResponse(hotword_set=updated)

    async def DeleteHotwordSet(
        self, request: hotword_set_service_pb2.DeleteHotwordSetRequest, context: Context
    ) -> hotword_set_service_pb2.DeleteHotwordSetResponse:
        await self._sets.delete(request.name, request.etag)
        return hotword_set_service_pb2.DeleteHotwordSetResponse()
