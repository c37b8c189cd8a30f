"""A tenant's collection of one kind of resource, kept with etags.

The library services (prompt templates, hotword sets) share it; each adds its own rules
around these calls.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import replace
from datetime import datetime
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from meeting_agent.domain.models import Principal
from meeting_agent.errors import Aborted, NotFound
from meeting_agent.ports import Clock, Page, UnitOfWork, UnitOfWorkFactory


class _Resource(Protocol):
    __dataclass_fields__: ClassVar[dict[str, Any]]  # a dataclass, for `replace`
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


class TenantCollection(Generic[R]):
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
