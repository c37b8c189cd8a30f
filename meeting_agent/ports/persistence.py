"""Persistence: the repositories, the unit of work that binds them to one transaction,
and the filters and pages they take and return. Ports are what the services need from
infrastructure; `meeting_agent.adapters.db` implements these with SQLAlchemy. Every
method that reads by id takes the tenant, so no adapter can serve a row across
tenants.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from types import TracebackType
from typing import Generic, Protocol, Self, TypeVar

from meeting_agent.domain.models import (
    Artifact,
    HotwordSet,
    Principal,
    PromptTemplate,
    SpeakerMappings,
    Task,
    TaskEvent,
    TaskState,
    Transcript,
    Upload,
    UsageGroup,
    UsageRecord,
)

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


@dataclass(frozen=True)
class TaskFilter:
    states: Sequence[TaskState] = ()
    create_time_start: datetime | None = None
    create_time_end: datetime | None = None


class UserRepository(Protocol):
    def upsert(self, principal: Principal, now: datetime) -> None:
        """Create the user on first sight; refresh `last_seen_time` and profile otherwise."""
        ...


class TaskRepository(Protocol):
    def add(self, task: Task) -> None: ...

    def get(self, tenant_id: str, task_id: str, *, for_update: bool = False) -> Task | None: ...

    def list(
        self, tenant_id: str, flt: TaskFilter, *, limit: int, cursor: str | None
    ) -> Page[Task]:
        """Newest first; `cursor` is an opaque string from a previous page."""
        ...

    def save(self, task: Task) -> None:
        """Write back every mutable field of a task loaded from this repository.

        Except the lease (`heartbeat_time`, `attempts`), which only `claim` and
        `heartbeat` write.
        """
        ...

    def delete(self, tenant_id: str, task_id: str) -> None:
        """Delete the task and every row that belongs to it."""
        ...

    # Leases. Jobs act for the system, not for a caller: these methods take no tenant
    # (a job knows only the task id), and no RPC may reach them.

    def claim(self, task_id: str, *, now: datetime, stale_before: datetime) -> Task | None:
        """Atomically take the task for one job run.

        A QUEUED task, or a RUNNING one whose lease is older than `stale_before` (its
        worker died), becomes RUNNING with `heartbeat_time=now`, `attempts + 1` and
        `start_time` set if unset. Returns the claimed task, or None when it is anything
        else: running under a live lease elsewhere, finished, cancelled or missing. Of two
        concurrent claims, exactly one wins once both commit.
        """
        ...

    def heartbeat(self, task_id: str, now: datetime, *, attempt: int | None = None) -> bool:
        """Refresh a RUNNING task's lease; False when the task is no longer RUNNING.

        With `attempt` (the claimed task's `attempts`), also False when a later claim
        took the task over, so a worker that stalled past its lease learns to stop.
        """
        ...

    def find_orphans(
        self, *, stale_before: datetime, queued_before: datetime, limit: int
    ) -> builtins.list[Task]:
        """Tasks that may have no live job, oldest first.

        QUEUED tasks created before `queued_before` (their enqueue may have failed), and
        RUNNING tasks whose lease is older than `stale_before` or missing (their worker died).
        """
        ...


class TaskEventRepository(Protocol):
    def append(self, event: TaskEvent, tenant_id: str) -> None: ...

    def list_after(self, task_id: str, after_sequence: int, *, limit: int) -> list[TaskEvent]: ...


class UploadRepository(Protocol):
    def add(self, upload: Upload) -> None: ...

    def get(self, tenant_id: str, upload_id: str, *, for_update: bool = False) -> Upload | None: ...

    def save(self, upload: Upload) -> None: ...

    def delete(self, tenant_id: str, upload_id: str) -> None:
        """Delete the row; absent ids are ignored."""
        ...


class HotwordSetRepository(Protocol):
    def add(self, hotword_set: HotwordSet) -> None:
        """Raises `AlreadyExists` when the id is taken in the tenant."""
        ...

    def get(self, tenant_id: str, set_id: str) -> HotwordSet | None: ...

    def list(self, tenant_id: str, *, limit: int, cursor: str | None) -> Page[HotwordSet]: ...

    def save(self, hotword_set: HotwordSet) -> None: ...

    def delete(self, tenant_id: str, set_id: str) -> None: ...


class PromptTemplateRepository(Protocol):
    def add(self, template: PromptTemplate) -> None:
        """Raises `AlreadyExists` when the id is taken in the tenant."""
        ...

    def get(self, tenant_id: str, template_id: str) -> PromptTemplate | None:
        """The tenant's template of that id (built-in ones are not stored here)."""
        ...

    def list(self, tenant_id: str, *, limit: int, cursor: str | None) -> Page[PromptTemplate]: ...

    def save(self, template: PromptTemplate) -> None: ...

    def delete(self, tenant_id: str, template_id: str) -> None: ...


class SpeakerMappingRepository(Protocol):
    def get(self, tenant_id: str, task_id: str) -> SpeakerMappings:
        """The task's mappings; empty (etag of no mappings) when none were stored."""
        ...

    def replace(self, tenant_id: str, mappings: SpeakerMappings) -> None: ...


class TranscriptRepository(Protocol):
    def get(self, tenant_id: str, task_id: str, *, with_words: bool) -> Transcript | None: ...

    def put(self, transcript: Transcript) -> None:
        """Store the task's transcript, replacing an earlier one."""
        ...


class ArtifactRepository(Protocol):
    def add(self, artifact: Artifact) -> None: ...

    def get(self, tenant_id: str, task_id: str, artifact_id: str) -> Artifact | None: ...

    def list(
        self, tenant_id: str, task_id: str, *, limit: int, cursor: str | None
    ) -> Page[Artifact]: ...

    def save(self, artifact: Artifact) -> None: ...

    def pending(self, task_id: str) -> Sequence[Artifact]:
        """Artifacts of the task still GENERATING, oldest first.

        Not scoped to a tenant: jobs act for the system, knowing only the task id.
        """
        ...


class AuditLogRepository(Protocol):
    def add(
        self,
        record: UsageRecord,
        *,
        call_key: str,
        latency_ms: int | None = None,
        unit_prices: Mapping[str, Decimal] | None = None,
    ) -> bool:
        """Record a paid call once; a second call with the same key is ignored (False)."""
        ...

    def aggregate(
        self,
        tenant_id: str,
        *,
        start: datetime,
        end: datetime,
        group_by: Sequence[str],
        label_key: str = "",
        provider: str = "",
        user_id: str = "",
    ) -> list[UsageGroup]:
        """Sum usage per combination of `group_by` ("provider", "user", "label", "day")."""
        ...


class IdempotencyRepository(Protocol):
    def get(
        self, tenant_id: str, user_id: str, method: str, request_id: str
    ) -> tuple[str, str] | None:
        """The (resource id, request fingerprint) recorded for this key, if any."""
        ...

    def add(
        self,
        tenant_id: str,
        user_id: str,
        method: str,
        request_id: str,
        resource_id: str,
        fingerprint: str,
        now: datetime,
    ) -> None:
        """Raises `AlreadyExists` when a concurrent call recorded the key first."""
        ...


class UnitOfWork(Protocol):
    """One database transaction with the repositories bound to it.

    `with uow:` begins; leaving the block without `commit()` rolls back.
    """

    users: UserRepository
    tasks: TaskRepository
    task_events: TaskEventRepository
    uploads: UploadRepository
    hotword_sets: HotwordSetRepository
    prompt_templates: PromptTemplateRepository
    speaker_mappings: SpeakerMappingRepository
    transcripts: TranscriptRepository
    artifacts: ArtifactRepository
    audit_logs: AuditLogRepository
    idempotency: IdempotencyRepository

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, read_only: bool = False, snapshot: bool = False) -> UnitOfWork:
        """A unit of work.

        `read_only` promises it will not write, so an adapter may skip the write lock
        and the transaction: each statement then sees what was committed when it ran.
        `snapshot` (with `read_only`) asks that all its statements see one moment, for
        reads whose parts must agree (a task and its events, a transcript and its
        segments); it may cost a round trip or two more.
        """
        ...


class Database(Protocol):
    """The database as a whole, for health checks."""

    def check(self) -> None:
        """Raise `Unavailable` when the database cannot serve queries."""
        ...
