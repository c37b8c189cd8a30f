"""Tenant libraries: prompt templates and hotword sets, with etag-checked updates."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace

from meeting_agent.domain.models import Hotword, HotwordSet, Principal, PromptTemplate
from meeting_agent.errors import Aborted, FailedPrecondition, InvalidArgument, NotFound
from meeting_agent.ports import Clock, Page, UnitOfWorkFactory
from meeting_agent.service.builtin_templates import BUILTIN_TEMPLATES
from meeting_agent.service.common import etag_of, new_id
from meeting_agent.text.templates import check_template_syntax

TEMPLATE_MUTABLE_FIELDS = frozenset(
    {"display_name", "description", "system_prompt", "body", "language_code"}
)
HOTWORD_SET_MUTABLE_FIELDS = frozenset({"display_name", "hotwords", "language_code"})

_BUILTIN = "builtin:"
_STORED = "stored:"


def _check_etag(stored: str, given: str, name: str) -> None:
    if given and given != stored:
        raise Aborted(
            f"{name} changed since it was read; read it again and retry",
            reason="ETAG_MISMATCH",
            metadata={"resource": name, "etag": stored},
        )


def _template_etag(t: PromptTemplate) -> str:
    return etag_of(
        t.display_name, t.description, t.system_prompt, t.body, t.language_code, t.update_time
    )


def _hotword_set_etag(s: HotwordSet) -> str:
    return etag_of(
        s.display_name, [(h.phrase, h.weight) for h in s.hotwords], s.language_code, s.update_time
    )


class PromptTemplateService:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow_factory = uow_factory
        self._clock = clock

    def create(
        self, principal: Principal, template: PromptTemplate, template_id: str
    ) -> PromptTemplate:
        check_template_syntax(template.body, "prompt_template.body")
        template_id = template_id or new_id()
        if template_id in BUILTIN_TEMPLATES:
            raise FailedPrecondition(
                f"promptTemplates/{template_id} is a built-in template name",
                reason="BUILT_IN_TEMPLATE",
            )
        now = self._clock.now()
        created = replace(
            template,
            id=template_id,
            tenant_id=principal.tenant_id,
            create_time=now,
            update_time=now,
        )
        created.etag = _template_etag(created)
        with self._uow_factory() as uow:
            uow.prompt_templates.add(created)
            uow.commit()
        return created

    def get(self, principal: Principal, template_id: str) -> PromptTemplate:
        if template_id in BUILTIN_TEMPLATES:
            return replace(BUILTIN_TEMPLATES[template_id])
        with self._uow_factory(read_only=True) as uow:
            template = uow.prompt_templates.get(principal.tenant_id, template_id)
        if template is None:
            raise NotFound(f"promptTemplates/{template_id}")
        return template

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
        with self._uow_factory(read_only=True) as uow:
            page = uow.prompt_templates.list(principal.tenant_id, limit=limit, cursor=cursor)
        return Page(page.items, None if page.next_cursor is None else _STORED + page.next_cursor)

    def update(
        self, principal: Principal, template: PromptTemplate, fields: Collection[str]
    ) -> PromptTemplate:
        self._refuse_builtin(template.id)
        if "body" in fields:
            check_template_syntax(template.body, "prompt_template.body")
        with self._uow_factory() as uow:
            stored = uow.prompt_templates.get(principal.tenant_id, template.id)
            if stored is None:
                raise NotFound(f"promptTemplates/{template.id}")
            _check_etag(stored.etag, template.etag, f"promptTemplates/{template.id}")
            updated = replace(stored, update_time=self._clock.now())
            for name in fields:
                setattr(updated, name, getattr(template, name))
            updated.etag = _template_etag(updated)
            uow.prompt_templates.save(updated)
            uow.commit()
        return updated

    def delete(self, principal: Principal, template_id: str, etag: str) -> None:
        self._refuse_builtin(template_id)
        with self._uow_factory() as uow:
            stored = uow.prompt_templates.get(principal.tenant_id, template_id)
            if stored is None:
                raise NotFound(f"promptTemplates/{template_id}")
            _check_etag(stored.etag, etag, f"promptTemplates/{template_id}")
            uow.prompt_templates.delete(principal.tenant_id, template_id)
            uow.commit()

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
        self._uow_factory = uow_factory
        self._clock = clock

    def create(self, principal: Principal, hotword_set: HotwordSet, set_id: str) -> HotwordSet:
        now = self._clock.now()
        created = replace(
            hotword_set,
            id=set_id or new_id(),
            tenant_id=principal.tenant_id,
            create_time=now,
            update_time=now,
        )
        created.etag = _hotword_set_etag(created)
        with self._uow_factory() as uow:
            uow.hotword_sets.add(created)
            uow.commit()
        return created

    def get(self, principal: Principal, set_id: str) -> HotwordSet:
        with self._uow_factory(read_only=True) as uow:
            stored = uow.hotword_sets.get(principal.tenant_id, set_id)
        if stored is None:
            raise NotFound(f"hotwordSets/{set_id}")
        return stored

    def list(self, principal: Principal, *, limit: int, cursor: str | None) -> Page[HotwordSet]:
        with self._uow_factory(read_only=True) as uow:
            return uow.hotword_sets.list(principal.tenant_id, limit=limit, cursor=cursor)

    def update(
        self, principal: Principal, hotword_set: HotwordSet, fields: Collection[str]
    ) -> HotwordSet:
        with self._uow_factory() as uow:
            stored = uow.hotword_sets.get(principal.tenant_id, hotword_set.id)
            if stored is None:
                raise NotFound(f"hotwordSets/{hotword_set.id}")
            _check_etag(stored.etag, hotword_set.etag, f"hotwordSets/{hotword_set.id}")
            updated = replace(stored, update_time=self._clock.now())
            for name in fields:
                setattr(updated, name, getattr(hotword_set, name))
            updated.hotwords = [Hotword(h.phrase, h.weight) for h in updated.hotwords]
            updated.etag = _hotword_set_etag(updated)
            uow.hotword_sets.save(updated)
            uow.commit()
        return updated

    def delete(self, principal: Principal, set_id: str, etag: str) -> None:
        with self._uow_factory() as uow:
            stored = uow.hotword_sets.get(principal.tenant_id, set_id)
            if stored is None:
                raise NotFound(f"hotwordSets/{set_id}")
            _check_etag(stored.etag, etag, f"hotwordSets/{set_id}")
            uow.hotword_sets.delete(principal.tenant_id, set_id)
            uow.commit()
