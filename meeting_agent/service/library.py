"""Tenant libraries: prompt templates and hotword sets, with etag-checked updates."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import replace
from datetime import datetime
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from meeting_agent.domain.checks import check_caller_id, check_mask
from meeting_agent.domain.library import (
    HOTWORD_SET_MUTABLE_FIELDS,
    TEMPLATE_MUTABLE_FIELDS,
    check_hotword_set,
    check_prompt_template,
    stripped,
)
from meeting_agent.domain.models import HotwordSet, Principal, PromptTemplate
from meeting_agent.errors import Aborted, FailedPrecondition, InvalidArgument, NotFound
from meeting_agent.ports import Clock, Page, UnitOfWork, UnitOfWorkFactory
from meeting_agent.service.builtin_templates import BUILTIN_TEMPLATES
from meeting_agent.service.common import etag_of, new_id
from meeting_agent.service.templating import check_template_syntax

_BUILTIN = "builtin:"
_STORED = "stored:"


class _Resource(Protocol):
    __dataclass_fields__: ClassVar[dict[str, Any]]
    id: str
    etag: str
    update_time: datetime


R = TypeVar("R", bound=_Resource)


class _Repository(Protocol[R]):
    def add(self, resource: R, /) -> None: ...

    def get(self, tenant_id: str, resource_id: str, /) -> R | None: ...

    def list(self, tenant_id: str, *, limit: int, cursor: str | None) -> Page[R]: ...

    def save(self, resource: R, /) -> None: ...

    def delete(self, tenant_id: str, resource_id: str, /) -> None: ...


class _TenantCollection(Generic[R]):
    """One kind of a tenant's stored resources (`promptTemplates/{id}`, ...): created
    with a fresh etag, updated field by field, and changed only by a caller whose etag,
    when given, is still current."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        collection: str,
        repository: Callable[[UnitOfWork], _Repository[R]],
        etag: Callable[[R], str],
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._collection = collection
        self._repository = repository
        self._etag = etag

    def _name(self, resource_id: str) -> str:
        return f"{self._collection}/{resource_id}"

    def create(self, principal: Principal, resource: R, resource_id: str) -> R:
        now = self._clock.now()
        created = replace(
            resource,
            id=resource_id,
            tenant_id=principal.tenant_id,
            create_time=now,
            update_time=now,
        )
        created.etag = self._etag(created)
        with self._uow_factory() as uow:
            self._repository(uow).add(created)
            uow.commit()
        return created

    def get(self, principal: Principal, resource_id: str) -> R:
        with self._uow_factory(read_only=True) as uow:
            stored = self._repository(uow).get(principal.tenant_id, resource_id)
        if stored is None:
            raise NotFound(self._name(resource_id))
        return stored

    def list(self, principal: Principal, *, limit: int, cursor: str | None) -> Page[R]:
        with self._uow_factory(read_only=True) as uow:
            return self._repository(uow).list(principal.tenant_id, limit=limit, cursor=cursor)

    def update(self, principal: Principal, resource: R, fields: Collection[str]) -> R:
        """The stored resource with `fields` taken from `resource`."""
        with self._uow_factory() as uow:
            repository = self._repository(uow)
            stored = self._stored(repository, principal, resource.id, resource.etag)
            updated = replace(stored, update_time=self._clock.now())
            for name in fields:
                setattr(updated, name, getattr(resource, name))
            updated.etag = self._etag(updated)
            repository.save(updated)
            uow.commit()
        return updated

    def delete(self, principal: Principal, resource_id: str, etag: str) -> None:
        with self._uow_factory() as uow:
            repository = self._repository(uow)
            self._stored(repository, principal, resource_id, etag)
            repository.delete(principal.tenant_id, resource_id)
            uow.commit()

    def _stored(
        self, repository: _Repository[R], principal: Principal, resource_id: str, etag: str
    ) -> R:
        stored = repository.get(principal.tenant_id, resource_id)
        name = self._name(resource_id)
        if stored is None:
            raise NotFound(name)
        if etag and etag != stored.etag:
            raise Aborted(
                f"{name} changed since it was read; read it again and retry",
                reason="ETAG_MISMATCH",
                metadata={"resource": name, "etag": stored.etag},
            )
        return stored


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
        self._stored = _TenantCollection(
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
        self._stored = _TenantCollection(
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
