"""PromptTemplateService and HotwordSetService."""

from __future__ import annotations

from datetime import UTC, datetime

from meeting_agent.api import mappers
from meeting_agent.api.context import Context
from meeting_agent.api.interceptors import current_principal
from meeting_agent.api.validation import (
    CALLER_ID,
    Violations,
    check_language,
    check_mask,
    check_text,
    parse_name,
)
from meeting_agent.domain.models import Hotword, HotwordSet, PromptTemplate
from meeting_agent.service.common import next_page_token, page_request
from meeting_agent.service.library import (
    HOTWORD_SET_MUTABLE_FIELDS,
    TEMPLATE_MUTABLE_FIELDS,
    HotwordSetService,
    PromptTemplateService,
)
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

MAX_HOTWORDS = 1000


def _check_caller_id(v: Violations, value: str, field: str) -> None:
    v.check(
        not value or CALLER_ID.fullmatch(value) is not None,
        field,
        "must match [a-z][a-z0-9-]{0,62}",
    )


def _template(
    msg: prompt_template_pb2.PromptTemplate, template_id: str, fields: set[str]
) -> PromptTemplate:
    v = Violations()
    if "display_name" in fields:
        check_text(
            v, msg.display_name, "prompt_template.display_name", max_length=200, required=True
        )
    if "description" in fields:
        check_text(v, msg.description, "prompt_template.description", max_length=2000)
    if "system_prompt" in fields:
        check_text(v, msg.system_prompt, "prompt_template.system_prompt", max_length=20000)
    if "body" in fields:
        check_text(v, msg.body, "prompt_template.body", max_length=100000, required=True)
    if "language_code" in fields:
        check_language(v, msg.language_code, "prompt_template.language_code")
    v.raise_if_any()
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


def _hotword_set(msg: hotword_set_pb2.HotwordSet, set_id: str, fields: set[str]) -> HotwordSet:
    v = Violations()
    if "display_name" in fields:
        check_text(v, msg.display_name, "hotword_set.display_name", max_length=200, required=True)
    if "language_code" in fields:
        check_language(v, msg.language_code, "hotword_set.language_code")
    if "hotwords" in fields:
        if not 1 <= len(msg.hotwords) <= MAX_HOTWORDS:
            v.add("hotword_set.hotwords", f"must hold 1 to {MAX_HOTWORDS} hotwords")
        seen: set[str] = set()
        for i, h in enumerate(msg.hotwords):
            field = f"hotword_set.hotwords[{i}]"
            check_text(v, h.phrase, f"{field}.phrase", max_length=100, required=True)
            v.check(0 <= h.weight <= 10, f"{field}.weight", "must be between 0 and 10")
            key = h.phrase.strip().casefold()
            v.check(key not in seen, f"{field}.phrase", f"duplicates {h.phrase!r}")
            seen.add(key)
    v.raise_if_any()
    return HotwordSet(
        id=set_id,
        tenant_id="",
        display_name=msg.display_name,
        hotwords=[Hotword(h.phrase.strip(), h.weight) for h in msg.hotwords],
        language_code=msg.language_code,
        etag=msg.etag,
        create_time=_EPOCH,
        update_time=_EPOCH,
    )


class PromptTemplateServicer(prompt_template_service_pb2_grpc.PromptTemplateServiceServicer):
    def __init__(self, templates: PromptTemplateService, offload: Offload) -> None:
        self._templates = templates
        self._offload = offload

    async def CreatePromptTemplate(
        self, request: prompt_template_service_pb2.CreatePromptTemplateRequest, context: Context
    ) -> prompt_template_service_pb2.CreatePromptTemplateResponse:
        v = Violations()
        _check_caller_id(v, request.prompt_template_id, "prompt_template_id")
        v.raise_if_any()
        template = _template(request.prompt_template, "", set(TEMPLATE_MUTABLE_FIELDS))
        created = await self._offload.call(
            self._templates.create, current_principal(), template, request.prompt_template_id
        )
        return prompt_template_service_pb2.CreatePromptTemplateResponse(
            prompt_template=mappers.prompt_template(created)
        )

    async def GetPromptTemplate(
        self, request: prompt_template_service_pb2.GetPromptTemplateRequest, context: Context
    ) -> prompt_template_service_pb2.GetPromptTemplateResponse:
        (template_id,) = parse_name(request.name, "name", "promptTemplates")
        template = await self._offload.read(self._templates.get, current_principal(), template_id)
        return prompt_template_service_pb2.GetPromptTemplateResponse(
            prompt_template=mappers.prompt_template(template)
        )

    async def ListPromptTemplates(
        self, request: prompt_template_service_pb2.ListPromptTemplatesRequest, context: Context
    ) -> prompt_template_service_pb2.ListPromptTemplatesResponse:
        scope = ("promptTemplates",)
        page = page_request(request.page_size, request.page_token, scope=scope)
        result = await self._offload.read(
            self._templates.list, current_principal(), limit=page.size, cursor=page.cursor
        )
        return prompt_template_service_pb2.ListPromptTemplatesResponse(
            prompt_templates=[mappers.prompt_template(t) for t in result.items],
            next_page_token=next_page_token(result.next_cursor, scope=scope),
        )

    async def UpdatePromptTemplate(
        self, request: prompt_template_service_pb2.UpdatePromptTemplateRequest, context: Context
    ) -> prompt_template_service_pb2.UpdatePromptTemplateResponse:
        (template_id,) = parse_name(
            request.prompt_template.name, "prompt_template.name", "promptTemplates"
        )
        paths = check_mask(request.update_mask.paths, TEMPLATE_MUTABLE_FIELDS)
        template = _template(request.prompt_template, template_id, set(paths))
        updated = await self._offload.call(
            self._templates.update, current_principal(), template, paths
        )
        return prompt_template_service_pb2.UpdatePromptTemplateResponse(
            prompt_template=mappers.prompt_template(updated)
        )

    async def DeletePromptTemplate(
        self, request: prompt_template_service_pb2.DeletePromptTemplateRequest, context: Context
    ) -> prompt_template_service_pb2.DeletePromptTemplateResponse:
        (template_id,) = parse_name(request.name, "name", "promptTemplates")
        await self._offload.call(
            self._templates.delete, current_principal(), template_id, request.etag
        )
        return prompt_template_service_pb2.DeletePromptTemplateResponse()


class HotwordSetServicer(hotword_set_service_pb2_grpc.HotwordSetServiceServicer):
    def __init__(self, hotword_sets: HotwordSetService, offload: Offload) -> None:
        self._sets = hotword_sets
        self._offload = offload

    async def CreateHotwordSet(
        self, request: hotword_set_service_pb2.CreateHotwordSetRequest, context: Context
    ) -> hotword_set_service_pb2.CreateHotwordSetResponse:
        v = Violations()
        _check_caller_id(v, request.hotword_set_id, "hotword_set_id")
        v.raise_if_any()
        hotword_set = _hotword_set(request.hotword_set, "", set(HOTWORD_SET_MUTABLE_FIELDS))
        created = await self._offload.call(
            self._sets.create, current_principal(), hotword_set, request.hotword_set_id
        )
        return hotword_set_service_pb2.CreateHotwordSetResponse(
            hotword_set=mappers.hotword_set(created)
        )

    async def GetHotwordSet(
        self, request: hotword_set_service_pb2.GetHotwordSetRequest, context: Context
    ) -> hotword_set_service_pb2.GetHotwordSetResponse:
        (set_id,) = parse_name(request.name, "name", "hotwordSets")
        found = await self._offload.read(self._sets.get, current_principal(), set_id)
        return hotword_set_service_pb2.GetHotwordSetResponse(hotword_set=mappers.hotword_set(found))

    async def ListHotwordSets(
        self, request: hotword_set_service_pb2.ListHotwordSetsRequest, context: Context
    ) -> hotword_set_service_pb2.ListHotwordSetsResponse:
        scope = ("hotwordSets",)
        page = page_request(request.page_size, request.page_token, scope=scope)
        result = await self._offload.read(
            self._sets.list, current_principal(), limit=page.size, cursor=page.cursor
        )
        return hotword_set_service_pb2.ListHotwordSetsResponse(
            hotword_sets=[mappers.hotword_set(s) for s in result.items],
            next_page_token=next_page_token(result.next_cursor, scope=scope),
        )

    async def UpdateHotwordSet(
        self, request: hotword_set_service_pb2.UpdateHotwordSetRequest, context: Context
    ) -> hotword_set_service_pb2.UpdateHotwordSetResponse:
        (set_id,) = parse_name(request.hotword_set.name, "hotword_set.name", "hotwordSets")
        paths = check_mask(request.update_mask.paths, HOTWORD_SET_MUTABLE_FIELDS)
        hotword_set = _hotword_set(request.hotword_set, set_id, set(paths))
        updated = await self._offload.call(
            self._sets.update, current_principal(), hotword_set, paths
        )
        return hotword_set_service_pb2.UpdateHotwordSetResponse(
            hotword_set=mappers.hotword_set(updated)
        )

    async def DeleteHotwordSet(
        self, request: hotword_set_service_pb2.DeleteHotwordSetRequest, context: Context
    ) -> hotword_set_service_pb2.DeleteHotwordSetResponse:
        (set_id,) = parse_name(request.name, "name", "hotwordSets")
        await self._offload.call(self._sets.delete, current_principal(), set_id, request.etag)
        return hotword_set_service_pb2.DeleteHotwordSetResponse()
