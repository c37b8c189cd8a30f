"""Tenant libraries: prompt templates and hotword sets, with etag-checked updates."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace

from meeting_agent.domain.checks import check_caller_id, check_mask
from meeting_agent.domain.library import (
    HOTWORD_SET_MUTABLE_FIELDS,
    TEMPLATE_MUTABLE_FIELDS,
    check_hotword_set,
    check_prompt_template,
    stripped,
)
from meeting_agent.domain.models import HotwordSet, Principal, PromptTemplate
from meeting_agent.errors import FailedPrecondition, InvalidArgument
from meeting_agent.ports import Clock, Page, UnitOfWorkFactory
from meeting_agent.service.builtin_templates import BUILTIN_TEMPLATES
from meeting_agent.service.common import etag_of, new_id
from meeting_agent.service.tenant_resources import TenantCollection
from meeting_agent.text.templates import check_template_syntax

_BUILTIN = "builtin:"
_STORED = "stored:"


def _template_etag(t: PromptTemplate) -> str:
    return etag_of(
        t.display_name, t.description, t.system_prompt, t.body, t.language_code, t.update_time
    )


def _hotword_set_etag(s: HotwordSet) -> str:
    return etag_of(
        s.display_name, [(h.phrase, h.weight) for h in s.hotwords], s.language_code, s.update_time
    )


class PromptTemplateService:
    """The tenant's templates, behind the built-in ones every tenant reads and none
    may change or shadow."""

    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self._stored = TenantCollection(
            uow_factory, clock, "promptTemplates", lambda uow: uow.prompt_templates, _template_etag
        )

    def create(
        self, principal: Principal, template: PromptTemplate, template_id: str
    ) -> PromptTemplate:
        check_caller_id(template_id, "prompt_template_id")
        check_prompt_template(template, TEMPLATE_MUTABLE_FIELDS)
        check_template_syntax(template.body, "prompt_template.body")
        template_id = template_id or new_id()
        if template_id in BUILTIN_TEMPLATES:
            raise FailedPrecondition(
                f"promptTemplates/{template_id} is a built-in template name",
                reason="BUILT_IN_TEMPLATE",
            )
        return self._stored.create(principal, template, template_id)

    def get(self, principal: Principal, template_id: str) -> PromptTemplate:
        if template_id in BUILTIN_TEMPLATES:
            return replace(BUILTIN_TEMPLATES[template_id])
        return self._stored.get(principal, template_id)

    def list(self, principal: Principal, *, limit: int, cursor: str | None) -> Page[PromptTemplate]:
        """Built-in templates first, then the tenant's, by id.

        The cursor says which of the two lists it points into, so pages never exceed
        `limit` and never repeat or skip a template.
        """
        builtins = sorted(BUILTIN_TEMPLATES.values(), key=lambda t: t.id)
        if cursor is not None and cursor.startswith(_STORED):
            return self._stored_page(principal, limit, cursor.removeprefix(_STORED) or None)
        start = _builtin_offset(cursor, len(builtins)) if cursor else 0
        chunk = builtins[start : start + limit]
        if start + limit < len(builtins):
            return Page(chunk, f"{_BUILTIN}{start + limit}")
        stored = self._stored_page(principal, max(limit - len(chunk), 1), None)
        if len(chunk) == limit:
            # The page is full of built-ins; continue with stored ones only if any exist.
            return Page(chunk, _STORED if stored.items else None)
        return Page(chunk + stored.items, stored.next_cursor)

    def _stored_page(
        self, principal: Principal, limit: int, cursor: str | None
    ) -> Page[PromptTemplate]:
        page = self._stored.list(principal, limit=limit, cursor=cursor)
        return Page(page.items, None if page.next_cursor is None else _STORED + page.next_cursor)

    def update(
        self, principal: Principal, template: PromptTemplate, fields: Collection[str]
    ) -> PromptTemplate:
        fields = check_mask(fields, TEMPLATE_MUTABLE_FIELDS)
        check_prompt_template(template, fields)
        self._refuse_builtin(template.id)
        if "body" in fields:
            check_template_syntax(template.body, "prompt_template.body")
        return self._stored.update(principal, template, fields)

    def delete(self, principal: Principal, template_id: str, etag: str) -> None:
        self._refuse_builtin(template_id)
        self._stored.delete(principal, template_id, etag)

    @staticmethod
    def _refuse_builtin(template_id: str) -> None:
        if template_id in BUILTIN_TEMPLATES:
            raise FailedPrecondition(
                f"promptTemplates/{template_id} is built in and cannot be changed; "
                "create a copy instead",
                reason="BUILT_IN_TEMPLATE",
            )


def _builtin_offset(cursor: str, count: int) -> int:
    offset = cursor.removeprefix(_BUILTIN)
    if cursor.startswith(_BUILTIN) and offset.isdigit() and 0 < int(offset) < count:
        return int(offset)
    raise InvalidArgument.field(
        "page_token", "is not a token returned by this method", reason="INVALID_PAGE_TOKEN"
    )


class HotwordSetService:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self._stored = TenantCollection(
            uow_factory, clock, "hotwordSets", lambda uow: uow.hotword_sets, _hotword_set_etag
        )

    def create(self, principal: Principal, hotword_set: HotwordSet, set_id: str) -> HotwordSet:
        check_caller_id(set_id, "hotword_set_id")
        check_hotword_set(hotword_set, HOTWORD_SET_MUTABLE_FIELDS)
        hotword_set = replace(hotword_set, hotwords=stripped(hotword_set.hotwords))
        return self._stored.create(principal, hotword_set, set_id or new_id())

    def get(self, principal: Principal, set_id: str) -> HotwordSet:
        return self._stored.get(principal, set_id)

    def list(self, principal: Principal, *, limit: int, cursor: str | None) -> Page[HotwordSet]:
        return self._stored.list(principal, limit=limit, cursor=cursor)

    def update(
        self, principal: Principal, hotword_set: HotwordSet, fields: Collection[str]
    ) -> HotwordSet:
        fields = check_mask(fields, HOTWORD_SET_MUTABLE_FIELDS)
        check_hotword_set(hotword_set, fields)
        hotword_set = replace(hotword_set, hotwords=stripped(hotword_set.hotwords))
        return self._stored.update(principal, hotword_set, fields)

    def delete(self, principal: Principal, set_id: str, etag: str) -> None:
        self._stored.delete(principal, set_id, etag)
