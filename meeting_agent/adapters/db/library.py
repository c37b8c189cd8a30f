"""Repositories of the tenant's library: hotword sets and prompt templates.

Both are keyed by `(tenant_id, id)` with caller-chosen ids, and list in id order.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from meeting_agent.adapters.db import codec
from meeting_agent.adapters.db._sql import by_id, constraint_errors, page_of
from meeting_agent.adapters.db.models import HotwordSetRow, PromptTemplateRow
from meeting_agent.domain.models import HotwordSet, PromptTemplate
from meeting_agent.errors import NotFound
from meeting_agent.ports import Page

# ---------------------------------------------------------------- hotword sets


def _hotword_set_from_row(row: HotwordSetRow) -> HotwordSet:
    return HotwordSet(
        id=row.id,
        tenant_id=row.tenant_id,
        display_name=row.display_name,
        hotwords=codec.HOTWORDS.validate_python(row.hotwords),
        language_code=row.language_code,
        etag=row.etag,
        create_time=row.create_time,
        update_time=row.update_time,
    )


def _write_hotword_set(row: HotwordSetRow, hotword_set: HotwordSet) -> None:
    row.display_name = hotword_set.display_name
    row.hotwords = codec.HOTWORDS.dump_python(hotword_set.hotwords, mode="json")
    row.language_code = hotword_set.language_code
    row.etag = hotword_set.etag
    row.create_time = hotword_set.create_time
    row.update_time = hotword_set.update_time


class SqlHotwordSetRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, hotword_set: HotwordSet) -> None:
        row = HotwordSetRow(id=hotword_set.id, tenant_id=hotword_set.tenant_id)
        _write_hotword_set(row, hotword_set)
        with constraint_errors(self._session, duplicate=f"hotwordSets/{hotword_set.id}"):
            self._session.add(row)

    def _row(self, tenant_id: str, set_id: str) -> HotwordSetRow | None:
        return self._session.get(HotwordSetRow, (tenant_id, set_id))

    def get(self, tenant_id: str, set_id: str) -> HotwordSet | None:
        row = self._row(tenant_id, set_id)
        return None if row is None else _hotword_set_from_row(row)

    def list(self, tenant_id: str, *, limit: int, cursor: str | None) -> Page[HotwordSet]:
        stmt = select(HotwordSetRow).where(HotwordSetRow.tenant_id == tenant_id)
        stmt = by_id(stmt, HotwordSetRow.id, cursor=cursor, limit=limit)
        kept, next_cursor = page_of(self._session.scalars(stmt).all(), limit, lambda row: (row.id,))
        return Page([_hotword_set_from_row(row) for row in kept], next_cursor)

    def save(self, hotword_set: HotwordSet) -> None:
        row = self._row(hotword_set.tenant_id, hotword_set.id)
        if row is None:
            raise NotFound(f"hotwordSets/{hotword_set.id}")
        _write_hotword_set(row, hotword_set)
        self._session.flush()

    def delete(self, tenant_id: str, set_id: str) -> None:
        self._session.execute(
            delete(HotwordSetRow).where(
                HotwordSetRow.tenant_id == tenant_id, HotwordSetRow.id == set_id
            )
        )


# ---------------------------------------------------------------- prompt templates


def _template_from_row(row: PromptTemplateRow) -> PromptTemplate:
    return PromptTemplate(
        id=row.id,
        tenant_id=row.tenant_id,
        display_name=row.display_name,
        description=row.description,
        system_prompt=row.system_prompt,
        body=row.body,
        language_code=row.language_code,
        etag=row.etag,
        create_time=row.create_time,
        update_time=row.update_time,
    )


def _write_template(row: PromptTemplateRow, template: PromptTemplate) -> None:
    row.display_name = template.display_name
    row.description = template.description
    row.system_prompt = template.system_prompt
    row.body = template.body
    row.language_code = template.language_code
    row.etag = template.etag
    row.create_time = template.create_time
    row.update_time = template.update_time


def _stored_tenant(template: PromptTemplate) -> str:
    if template.tenant_id is None:
        # Built-in templates ship with the code; storing one would shadow it per tenant.
        raise ValueError(f"built-in template {template.id!r} is not stored in the database")
    return template.tenant_id


class SqlPromptTemplateRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, template: PromptTemplate) -> None:
        row = PromptTemplateRow(id=template.id, tenant_id=_stored_tenant(template))
        _write_template(row, template)
        with constraint_errors(self._session, duplicate=f"promptTemplates/{template.id}"):
            self._session.add(row)

    def _row(self, tenant_id: str, template_id: str) -> PromptTemplateRow | None:
        return self._session.get(PromptTemplateRow, (tenant_id, template_id))

    def get(self, tenant_id: str, template_id: str) -> PromptTemplate | None:
        row = self._row(tenant_id, template_id)
        return None if row is None else _template_from_row(row)

    def list(self, tenant_id: str, *, limit: int, cursor: str | None) -> Page[PromptTemplate]:
        stmt = select(PromptTemplateRow).where(PromptTemplateRow.tenant_id == tenant_id)
        stmt = by_id(stmt, PromptTemplateRow.id, cursor=cursor, limit=limit)
        kept, next_cursor = page_of(self._session.scalars(stmt).all(), limit, lambda row: (row.id,))
        return Page([_template_from_row(row) for row in kept], next_cursor)

    def save(self, template: PromptTemplate) -> None:
        row = self._row(_stored_tenant(template), template.id)
        if row is None:
            raise NotFound(f"promptTemplates/{template.id}")
        _write_template(row, template)
        self._session.flush()

    def delete(self, tenant_id: str, template_id: str) -> None:
        self._session.execute(
            delete(PromptTemplateRow).where(
                PromptTemplateRow.tenant_id == tenant_id, PromptTemplateRow.id == template_id
            )
        )
