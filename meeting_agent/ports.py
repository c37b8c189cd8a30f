"""Ports: what the service layer needs from the outside world.

Each port is a Protocol with one or more adapters in `meeting_agent.adapters` and a
fake in `tests/fakes.py`. Every method that reads by id takes the tenant, so no
adapter can serve a row across tenants.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import BinaryIO, Generic, Protocol, Self, TypeVar

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

# ---------------------------------------------------------------- object storage


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size_bytes: int
    sha256: str | None = None


@dataclass(frozen=True)
class PresignedRequest:
    url: str
    method: str
    headers: dict[str, str]
    expire_time: datetime


class ObjectWriter(Protocol):
    """A streaming write. Nothing is visible under the key until `commit`."""

    def write(self, data: bytes) -> None: ...

    def commit(self) -> ObjectInfo:
        """Publish the object atomically and return its size and SHA-256."""
        ...

    def abort(self) -> None:
        """Discard what was written; safe to call after a failed `commit` or twice."""
        ...


class ObjectStore(Protocol):
    """Bytes by key. Keys are relative paths such as `tenants/acme/uploads/abc`.

    Adapters reject keys that are absolute or contain `..` with `InvalidArgument`.
    """

    @property
    def scheme(self) -> str:
        """URI scheme of this store's objects, for example "local" or "tos"."""
        ...

    @property
    def supports_presign(self) -> bool: ...

    def open_writer(self, key: str, *, content_type: str = "") -> ObjectWriter: ...

    def open_reader(self, key: str) -> BinaryIO:
        """A file-like reader; raises `NotFound` when the key is absent."""
        ...

    def head(self, key: str) -> ObjectInfo | None: ...

    def delete(self, key: str) -> None:
        """Delete one object; absent keys are ignored."""
        ...

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under a prefix; returns how many were deleted."""
        ...

    def presign_put(
        self, key: str, *, content_type: str, expires_in_seconds: int
    ) -> PresignedRequest:
        """A URL to upload directly; raises `FailedPrecondition` where unsupported."""
        ...

    def uri(self, key: str) -> str:
        """The URI callers use to name an object, `<scheme>://<bucket>/<key>`."""
        ...

    def key_from_uri(self, uri: str) -> str:
        """The key named by a URI of this store; raises `InvalidArgument` otherwise."""
        ...

    def check(self) -> None:
        """Raise `Unavailable` when the store cannot serve requests."""
        ...


# ---------------------------------------------------------------- persistence

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
        """Write back every mutable field of a task loaded from this repository."""
        ...

    def delete(self, tenant_id: str, task_id: str) -> None:
        """Delete the task and every row that belongs to it."""
        ...


class TaskEventRepository(Protocol):
    def append(self, event: TaskEvent, tenant_id: str) -> None: ...

    def list_after(self, task_id: str, after_sequence: int, *, limit: int) -> list[TaskEvent]: ...


class UploadRepository(Protocol):
    def add(self, upload: Upload) -> None: ...

    def get(self, tenant_id: str, upload_id: str, *, for_update: bool = False
            ) -> Upload | None: ...

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


class AuditLogRepository(Protocol):
    def add(self, record: UsageRecord, *, call_key: str) -> bool:
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
    def __call__(self) -> UnitOfWork: ...


class Database(Protocol):
    """The database as a whole, for health checks."""

    def check(self) -> None:
        """Raise `Unavailable` when the database cannot serve queries."""
        ...


# ---------------------------------------------------------------- auth


class Authenticator(Protocol):
    """Turns call metadata into a principal."""

    def authenticate(self, metadata: Sequence[tuple[str, str | bytes]]) -> Principal:
        """Raises `Unauthenticated` with a stable reason when the call is not acceptable."""
        ...


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


def iter_chunks(reader: BinaryIO, size: int = 1024 * 1024) -> Iterator[bytes]:
    """Read a file-like object in chunks, so no caller holds a whole file in memory."""
    while chunk := reader.read(size):
        yield chunk
