"""In-memory fakes of the ports in `meeting_agent.ports`, for the tests.

The fakes model the contracts the services rely on, not just their happy path:

* `FakeDatabase` holds the committed rows. Each `FakeUnitOfWork` sees them through its
  own transaction: writes are staged per row and reach the database only on `commit()`;
  leaving the `with` block without committing (or calling `rollback()`) discards them.
  Reads return copies, so a service that mutates an entity and forgets `save` or
  `commit` is caught. Repositories refuse to work outside the `with` block.
* Repositories raise what the SQL adapters raise: `AlreadyExists` for a taken key,
  `NotFound` for a child row whose task is not the tenant's, and page cursors that are
  opaque strings (`INVALID_PAGE_TOKEN` when tampered with).
* `FakeObjectStore` keeps bytes in a dict, publishes a write only on `commit`, computes
  its SHA-256, and presigns only when `supports_presign` is on.
* `FakeClock` is a settable, timezone-aware UTC clock.
* `MemoryCheckpoints` keeps a task's checkpoints in a dict; `Progress` records reports.

Each fake is checked against its port by the type checker (see the end of the file).
"""

from __future__ import annotations

import base64
import binascii
import builtins
import copy
import hashlib
import io
import json
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import TracebackType
from typing import TYPE_CHECKING, Any, BinaryIO, Generic, Literal, Self, TypeVar

from meeting_agent.domain.models import (
    Artifact,
    ArtifactState,
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
from meeting_agent.domain.object_keys import normalize_prefix, validate_key
from meeting_agent.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    Unavailable,
)
from meeting_agent.ports import (
    ArtifactRepository,
    AuditLogRepository,
    HotwordSetRepository,
    IdempotencyRepository,
    ObjectInfo,
    Page,
    PresignedRequest,
    PromptTemplateRepository,
    SpeakerMappingRepository,
    TaskEventRepository,
    TaskFilter,
    TaskRepository,
    TranscriptRepository,
    UploadRepository,
    UserRepository,
)

__all__ = [
    "EMPTY_MAPPINGS_ETAG",
    "FakeClock",
    "FakeDatabase",
    "FakeObjectStore",
    "FakeObjectWriter",
    "FakeUnitOfWork",
    "FakeUnitOfWorkFactory",
    "IdempotencyRow",
    "MemoryCheckpoints",
    "Progress",
    "UserRow",
]

K = TypeVar("K")
V = TypeVar("V")

DEFAULT_START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


# ---------------------------------------------------------------- clock


class FakeClock:
    """A clock that stands still until a test moves it. Always timezone-aware UTC."""

    def __init__(self, start: datetime = DEFAULT_START) -> None:
        self._now = _utc(start)

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = _utc(moment)

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        """Move forward by `delta` or by `timedelta(**kwargs)`; returns the new time."""
        self._now += delta if delta is not None else timedelta(**kwargs)
        return self._now


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("FakeClock needs a timezone-aware datetime")
    return moment.astimezone(UTC)


# ---------------------------------------------------------------- checkpoints and progress


class MemoryCheckpoints:
    """The `Checkpoints` port in a dict, as one task's retries would see it."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}
        self.saved: list[str] = []

    def load(self, name: str) -> bytes | None:
        return self.data.get(name)

    def save(self, name: str, data: bytes) -> None:
        self.data[name] = data
        self.saved.append(name)


class Progress:
    """A `ProgressReporter` that records every report."""

    def __init__(self) -> None:
        self.events: list[tuple[float, str]] = []

    def __call__(self, fraction: float, message: str = "") -> None:
        self.events.append((fraction, message))


# ---------------------------------------------------------------- object store

PRESIGN_UNSUPPORTED = "PRESIGN_UNSUPPORTED"
INVALID_OBJECT_URI = "INVALID_OBJECT_URI"
OBJECT_NOT_FOUND = "OBJECT_NOT_FOUND"


@dataclass(frozen=True)
class StoredObject:
    data: bytes
    content_type: str
    sha256: str
    modify_time: datetime | None = None


class FakeObjectWriter:
    """A buffered write; nothing is visible under the key until `commit`."""

    def __init__(self, store: FakeObjectStore, key: str, content_type: str) -> None:
        self._store = store
        self.key = key
        self.content_type = content_type
        self._buffer = bytearray()
        self.state: Literal["open", "committed", "aborted"] = "open"
        self._info: ObjectInfo | None = None

    @property
    def size_bytes(self) -> int:
        return len(self._buffer)

    def write(self, data: bytes) -> None:
        if self.state != "open":
            raise ValueError(f"object writer is {self.state}")
        self._buffer.extend(data)

    def commit(self) -> ObjectInfo:
        if self._info is not None:
            return self._info
        if self.state != "open":
            raise ValueError(f"object writer is {self.state}")
        data = bytes(self._buffer)
        digest = hashlib.sha256(data).hexdigest()
        self._store.objects[self.key] = StoredObject(
            data, self.content_type, digest, self._store.now()
        )
        self.state = "committed"
        self._info = ObjectInfo(key=self.key, size_bytes=len(data), sha256=digest)
        return self._info

    def abort(self) -> None:
        if self.state == "committed":
            return
        self.state = "aborted"
        self._buffer.clear()


class FakeObjectStore:
    """Implements `ObjectStore` in memory. URIs look like `fake://bucket/<key>`.

    `writers` and `deleted` record what the service did, so tests can check that a
    failed upload was aborted or that a task's bytes were removed.
    """

    def __init__(
        self,
        *,
        supports_presign: bool = False,
        clock: FakeClock | None = None,
        bucket: str = "bucket",
    ) -> None:
        self._supports_presign = supports_presign
        self._clock = clock or FakeClock()
        self._uri_prefix = f"fake://{bucket}/"
        self.objects: dict[str, StoredObject] = {}
        self.writers: list[FakeObjectWriter] = []
        self.deleted: list[str] = []
        self.presigned: list[PresignedRequest] = []
        self.available = True

    # -- test helpers

    def put(self, key: str, data: bytes, *, content_type: str = "audio/wav") -> str:
        """Store an object directly (test setup); returns its URI."""
        validate_key(key)
        self.objects[key] = StoredObject(
            data, content_type, hashlib.sha256(data).hexdigest(), self.now()
        )
        return self.uri(key)

    def now(self) -> datetime:
        return self._clock.now()

    def data(self, key: str) -> bytes:
        return self.objects[key].data

    def keys(self) -> list[str]:
        return sorted(self.objects)

    # -- the port

    @property
    def scheme(self) -> str:
        return "fake"

    @property
    def supports_presign(self) -> bool:
        return self._supports_presign

    def open_writer(self, key: str, *, content_type: str = "") -> FakeObjectWriter:
        validate_key(key)
        writer = FakeObjectWriter(self, key, content_type)
        self.writers.append(writer)
        return writer

    def open_reader(self, key: str) -> BinaryIO:
        validate_key(key)
        stored = self.objects.get(key)
        if stored is None:
            raise NotFound(key, reason=OBJECT_NOT_FOUND)
        return io.BytesIO(stored.data)

    def head(self, key: str) -> ObjectInfo | None:
        validate_key(key)
        stored = self.objects.get(key)
        if stored is None:
            return None
        return ObjectInfo(key=key, size_bytes=len(stored.data), sha256=stored.sha256)

    def delete(self, key: str) -> None:
        validate_key(key)
        self.deleted.append(key)
        self.objects.pop(key, None)

    def delete_prefix(self, prefix: str) -> int:
        prefix = normalize_prefix(prefix)
        doomed = [key for key in self.objects if key.startswith(prefix)]
        for key in doomed:
            self.deleted.append(key)
            del self.objects[key]
        return len(doomed)

    def list_objects(self, prefix: str) -> Iterator[ObjectInfo]:
        prefix = normalize_prefix(prefix)
        for key in sorted(k for k in self.objects if k.startswith(prefix)):
            stored = self.objects[key]
            yield ObjectInfo(
                key=key,
                size_bytes=len(stored.data),
                sha256=stored.sha256,
                modify_time=stored.modify_time,
            )

    def presign_put(
        self, key: str, *, content_type: str, expires_in_seconds: int
    ) -> PresignedRequest:
        validate_key(key)
        if not self._supports_presign:
            raise FailedPrecondition(
                "this object store cannot issue upload URLs", reason=PRESIGN_UNSUPPORTED
            )
        request = PresignedRequest(
            url=f"https://fake-store.test/{key}?signature=fake&expires={expires_in_seconds}",
            method="PUT",
            headers={"content-type": content_type} if content_type else {},
            expire_time=self._clock.now() + timedelta(seconds=expires_in_seconds),
        )
        self.presigned.append(request)
        return request

    def presign_get(self, key: str, *, expires_in_seconds: int) -> str:
        validate_key(key)
        if not self._supports_presign:
            raise FailedPrecondition(
                "this object store cannot issue download URLs", reason=PRESIGN_UNSUPPORTED
            )
        return f"https://fake-store.test/{key}?signature=fake&expires={expires_in_seconds}"

    def uri(self, key: str) -> str:
        return self._uri_prefix + validate_key(key)

    def key_from_uri(self, uri: str) -> str:
        if not uri.startswith(self._uri_prefix):
            raise InvalidArgument(
                f"object URI must start with {self._uri_prefix!r}", reason=INVALID_OBJECT_URI
            )
        try:
            return validate_key(uri[len(self._uri_prefix) :])
        except InvalidArgument as exc:
            raise InvalidArgument("object URI is not valid", reason=INVALID_OBJECT_URI) from exc

    def check(self) -> None:
        if not self.available:
            raise Unavailable("fake object store is down", reason="OBJECT_STORE_UNAVAILABLE")


# ---------------------------------------------------------------- database


@dataclass
class UserRow:
    principal: Principal
    first_seen_time: datetime
    last_seen_time: datetime


@dataclass(frozen=True)
class IdempotencyRow:
    resource_id: str
    fingerprint: str
    create_time: datetime


@dataclass
class AuditRow:
    record: UsageRecord
    latency_ms: int | None = None
    unit_prices: dict[str, Decimal] | None = None


@dataclass
class FakeDatabase:
    """The committed rows, keyed like the SQL tables' primary keys.

    Tests may read and seed these dicts directly: what is here is what a new unit of
    work will see. `commits`, `rollbacks` and `discarded_writes` count what the units of
    work did; `fail_next_commit` makes the next `commit()` raise.
    """

    users: dict[tuple[str, str], UserRow] = field(default_factory=dict)
    tasks: dict[tuple[str, str], Task] = field(default_factory=dict)
    # (task_id, sequence) -> (tenant_id, event)
    task_events: dict[tuple[str, int], tuple[str, TaskEvent]] = field(default_factory=dict)
    uploads: dict[tuple[str, str], Upload] = field(default_factory=dict)
    hotword_sets: dict[tuple[str, str], HotwordSet] = field(default_factory=dict)
    prompt_templates: dict[tuple[str, str], PromptTemplate] = field(default_factory=dict)
    speaker_mappings: dict[tuple[str, str], SpeakerMappings] = field(default_factory=dict)
    transcripts: dict[tuple[str, str], Transcript] = field(default_factory=dict)
    artifacts: dict[tuple[str, str, str], Artifact] = field(default_factory=dict)
    audit_logs: dict[tuple[str, str], AuditRow] = field(default_factory=dict)
    idempotency: dict[tuple[str, str, str, str], IdempotencyRow] = field(default_factory=dict)
    commits: int = 0
    rollbacks: int = 0
    # Units of work that ended with staged writes nobody committed.
    discarded_writes: int = 0
    fail_next_commit: BaseException | None = None
    available: bool = True
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def check(self) -> None:
        """`Database.check`."""
        if not self.available:
            raise Unavailable("fake database is down", reason="DATABASE_UNAVAILABLE")

    def events_of(self, task_id: str) -> list[TaskEvent]:
        """The committed events of a task, in sequence order (test helper)."""
        return [
            event for (tid, _), (_, event) in sorted(self.task_events.items()) if tid == task_id
        ]


class _Table(Generic[K, V]):
    """One table as a transaction sees it: its own staged writes over committed rows."""

    def __init__(self, committed: dict[K, V]) -> None:
        self._committed = committed
        self._written: dict[K, V] = {}
        self._deleted: set[K] = set()

    @property
    def dirty(self) -> bool:
        return bool(self._written or self._deleted)

    def __contains__(self, key: K) -> bool:
        return key in self._written or (key in self._committed and key not in self._deleted)

    def get(self, key: K) -> V | None:
        if key in self._written:
            return copy.deepcopy(self._written[key])
        if key in self._deleted or key not in self._committed:
            return None
        return copy.deepcopy(self._committed[key])

    def put(self, key: K, value: V) -> None:
        self._deleted.discard(key)
        self._written[key] = copy.deepcopy(value)

    def remove(self, key: K) -> None:
        self._written.pop(key, None)
        self._deleted.add(key)

    def row_keys(self) -> list[K]:
        live = [key for key in self._committed if key not in self._deleted]
        return live + [key for key in self._written if key not in self._committed]

    def items(self) -> Iterator[tuple[K, V]]:
        for key in self.row_keys():
            value = self.get(key)
            if value is not None:
                yield key, value

    def apply(self) -> None:
        for key in self._deleted:
            self._committed.pop(key, None)
        self._committed.update(self._written)
        self.discard()

    def discard(self) -> None:
        self._written.clear()
        self._deleted.clear()


class _Tables:
    """Every table of one open transaction."""

    def __init__(self, db: FakeDatabase) -> None:
        self.users = _Table(db.users)
        self.tasks = _Table(db.tasks)
        self.task_events = _Table(db.task_events)
        self.uploads = _Table(db.uploads)
        self.hotword_sets = _Table(db.hotword_sets)
        self.prompt_templates = _Table(db.prompt_templates)
        self.speaker_mappings = _Table(db.speaker_mappings)
        self.transcripts = _Table(db.transcripts)
        self.artifacts = _Table(db.artifacts)
        self.audit_logs = _Table(db.audit_logs)
        self.idempotency = _Table(db.idempotency)

    def all(self) -> list[_Table[Any, Any]]:
        return [
            self.users,
            self.tasks,
            self.task_events,
            self.uploads,
            self.hotword_sets,
            self.prompt_templates,
            self.speaker_mappings,
            self.transcripts,
            self.artifacts,
            self.audit_logs,
            self.idempotency,
        ]

    def require_task(self, tenant_id: str, task_id: str) -> None:
        # The SQL schema's foreign keys: a child row needs the tenant's task.
        if (tenant_id, task_id) not in self.tasks:
            raise NotFound(f"tasks/{task_id}")


_Open = Callable[[], _Tables]


# -- cursors: opaque to callers, like the SQL adapter's


def _encode_cursor(*parts: str) -> str:
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, count: int) -> list[str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error):
        values = None
    if not (
        isinstance(values, list)
        and len(values) == count
        and all(isinstance(v, str) for v in values)
    ):
        raise InvalidArgument.field(
            "page_token", "is not a valid page token", reason="INVALID_PAGE_TOKEN"
        )
    return values


def _check_limit(limit: int) -> int:
    if limit < 1:
        raise ValueError(f"limit must be positive, got {limit}")
    return limit


def _page(items: list[V], limit: int, key: Callable[[V], Sequence[str]]) -> Page[V]:
    _check_limit(limit)
    if len(items) <= limit:
        return Page(items, None)
    kept = items[:limit]
    return Page(kept, _encode_cursor(*key(kept[-1])))


# -- repositories


class FakeUserRepository:
    def __init__(self, tables: _Open) -> None:
        self._tables = tables

    def upsert(self, principal: Principal, now: datetime) -> None:
        table = self._tables().users
        key = (principal.tenant_id, principal.user_id)
        row = table.get(key)
        if row is None:
            table.put(key, UserRow(principal, now, now))
            return
        # Like the SQL upsert: a token without profile claims keeps the profile seen earlier.
        row.principal = replace(
            principal,
            email=principal.email if principal.email is not None else row.principal.email,
            display_name=(
                principal.display_name
                if principal.display_name is not None
                else row.principal.display_name
            ),
        )
        row.last_seen_time = now
        table.put(key, row)


class FakeTaskRepository:
    def __init__(self, tables: _Open) -> None:
        self._tables = tables

    def add(self, task: Task) -> None:
        table = self._tables().tasks
        if any(task_id == task.id for _, task_id in table.row_keys()):
            raise AlreadyExists(f"tasks/{task.id} already exists")
        table.put((task.tenant_id, task.id), task)

    def get(self, tenant_id: str, task_id: str, *, for_update: bool = False) -> Task | None:
        return self._tables().tasks.get((tenant_id, task_id))

    def list(
        self, tenant_id: str, flt: TaskFilter, *, limit: int, cursor: str | None
    ) -> Page[Task]:
        tasks = [task for (tenant, _), task in self._tables().tasks.items() if tenant == tenant_id]
        if flt.states:
            tasks = [t for t in tasks if t.state in flt.states]
        if flt.create_time_start is not None:
            tasks = [t for t in tasks if t.create_time >= flt.create_time_start]
        if flt.create_time_end is not None:
            tasks = [t for t in tasks if t.create_time < flt.create_time_end]
        tasks.sort(key=lambda t: (t.create_time, t.id), reverse=True)
        if cursor:
            after_time, after_id = _decode_cursor(cursor, 2)
            after = (datetime.fromisoformat(after_time), after_id)
            tasks = [t for t in tasks if (t.create_time, t.id) < after]
        return _page(tasks, limit, lambda t: (t.create_time.isoformat(), t.id))

    def save(self, task: Task) -> None:
        table = self._tables().tasks
        key = (task.tenant_id, task.id)
        stored = table.get(key)
        if stored is None:
            raise NotFound(f"tasks/{task.id}")
        # Like the SQL adapter, `save` leaves the lease to `claim` and `heartbeat`.
        table.put(
            key, replace(task, heartbeat_time=stored.heartbeat_time, attempts=stored.attempts)
        )

    def delete(self, tenant_id: str, task_id: str) -> None:
        tables = self._tables()
        if (tenant_id, task_id) not in tables.tasks:
            return
        tables.tasks.remove((tenant_id, task_id))
        for event_key in tables.task_events.row_keys():
            if event_key[0] == task_id:
                tables.task_events.remove(event_key)
        tables.speaker_mappings.remove((tenant_id, task_id))
        tables.transcripts.remove((tenant_id, task_id))
        for artifact_key in tables.artifacts.row_keys():
            if artifact_key[:2] == (tenant_id, task_id):
                tables.artifacts.remove(artifact_key)
        # Like the SQL schema, uploads are not children of the task: their rows stay
        # unless the service deletes them.

    # -- leases: by task id alone, across tenants, like the SQL adapter's

    def _by_id(self, task_id: str) -> tuple[tuple[str, str], Task] | None:
        for key, task in self._tables().tasks.items():
            if key[1] == task_id:
                return key, task
        return None

    def claim(self, task_id: str, *, now: datetime, stale_before: datetime) -> Task | None:
        found = self._by_id(task_id)
        if found is None:
            return None
        key, task = found
        if not task.claimable(stale_before):
            return None
        task.claim(now, stale_before=stale_before)
        self._tables().tasks.put(key, task)
        return copy.deepcopy(task)

    def heartbeat(self, task_id: str, now: datetime, *, attempt: int | None = None) -> bool:
        found = self._by_id(task_id)
        if found is None:
            return False
        key, task = found
        if task.state is not TaskState.RUNNING or attempt not in (None, task.attempts):
            return False
        task.heartbeat_time = now
        self._tables().tasks.put(key, task)
        return True

    def find_orphans(
        self, *, stale_before: datetime, queued_before: datetime, limit: int
    ) -> builtins.list[Task]:  # `list` alone would name the method above
        orphans = [
            task
            for _, task in self._tables().tasks.items()
            if (task.state is TaskState.QUEUED and task.create_time < queued_before)
            or task.lease_is_stale(stale_before)
        ]
        orphans.sort(key=lambda t: (t.create_time, t.id))
        return orphans[: _check_limit(limit)]


class FakeTaskEventRepository:
    def __init__(self, tables: _Open) -> None:
        self._tables = tables

    def append(self, event: TaskEvent, tenant_id: str) -> None:
        tables = self._tables()
        tables.require_task(tenant_id, event.task_id)
        key = (event.task_id, event.sequence)
        if key in tables.task_events:
            raise AlreadyExists(f"tasks/{event.task_id}/events/{event.sequence} already exists")
        tables.task_events.put(key, (tenant_id, event))

    def list_after(self, task_id: str, after_sequence: int, *, limit: int) -> list[TaskEvent]:
        _check_limit(limit)
        events = [
            event
            for (tid, seq), (_, event) in self._tables().task_events.items()
            if tid == task_id and seq > after_sequence
        ]
        events.sort(key=lambda e: e.sequence)
        return events[:limit]


class FakeUploadRepository:
    def __init__(self, tables: _Open) -> None:
        self._tables = tables

    def add(self, upload: Upload) -> None:
        table = self._tables().uploads
        if any(upload_id == upload.id for _, upload_id in table.row_keys()):
            raise AlreadyExists(f"uploads/{upload.id} already exists")
        table.put((upload.tenant_id, upload.id), upload)

    def get(self, tenant_id: str, upload_id: str, *, for_update: bool = False) -> Upload | None:
        return self._tables().uploads.get((tenant_id, upload_id))

    def save(self, upload: Upload) -> None:
        table = self._tables().uploads
        key = (upload.tenant_id, upload.id)
        if key not in table:
            raise NotFound(f"uploads/{upload.id}")
        table.put(key, upload)

    def delete(self, tenant_id: str, upload_id: str) -> None:
        self._tables().uploads.remove((tenant_id, upload_id))


class FakeHotwordSetRepository:
    def __init__(self, tables: _Open) -> None:
        self._tables = tables

    def add(self, hotword_set: HotwordSet) -> None:
        table = self._tables().hotword_sets
        key = (hotword_set.tenant_id, hotword_set.id)
        if key in table:
            raise AlreadyExists(f"hotwordSets/{hotword_set.id} already exists")
        table.put(key, hotword_set)

    def get(self, tenant_id: str, set_id: str) -> HotwordSet | None:
        return self._tables().hotword_sets.get((tenant_id, set_id))

    def list(self, tenant_id: str, *, limit: int, cursor: str | None) -> Page[HotwordSet]:
        sets = sorted(
            (s for (tenant, _), s in self._tables().hotword_sets.items() if tenant == tenant_id),
            key=lambda s: s.id,
        )
        if cursor:
            (after_id,) = _decode_cursor(cursor, 1)
            sets = [s for s in sets if s.id > after_id]
        return _page(sets, limit, lambda s: (s.id,))

    def save(self, hotword_set: HotwordSet) -> None:
        table = self._tables().hotword_sets
        key = (hotword_set.tenant_id, hotword_set.id)
        if key not in table:
            raise NotFound(f"hotwordSets/{hotword_set.id}")
        table.put(key, hotword_set)

    def delete(self, tenant_id: str, set_id: str) -> None:
        self._tables().hotword_sets.remove((tenant_id, set_id))


class FakePromptTemplateRepository:
    def __init__(self, tables: _Open) -> None:
        self._tables = tables

    @staticmethod
    def _tenant(template: PromptTemplate) -> str:
        if template.tenant_id is None:
            raise ValueError(f"built-in template {template.id!r} is not stored in the database")
        return template.tenant_id

    def add(self, template: PromptTemplate) -> None:
        table = self._tables().prompt_templates
        key = (self._tenant(template), template.id)
        if key in table:
            raise AlreadyExists(f"promptTemplates/{template.id} already exists")
        table.put(key, template)

    def get(self, tenant_id: str, template_id: str) -> PromptTemplate | None:
        return self._tables().prompt_templates.get((tenant_id, template_id))

    def list(self, tenant_id: str, *, limit: int, cursor: str | None) -> Page[PromptTemplate]:
        templates = sorted(
            (
                t
                for (tenant, _), t in self._tables().prompt_templates.items()
                if tenant == tenant_id
            ),
            key=lambda t: t.id,
        )
        if cursor:
            (after_id,) = _decode_cursor(cursor, 1)
            templates = [t for t in templates if t.id > after_id]
        return _page(templates, limit, lambda t: (t.id,))

    def save(self, template: PromptTemplate) -> None:
        table = self._tables().prompt_templates
        key = (self._tenant(template), template.id)
        if key not in table:
            raise NotFound(f"promptTemplates/{template.id}")
        table.put(key, template)

    def delete(self, tenant_id: str, template_id: str) -> None:
        self._tables().prompt_templates.remove((tenant_id, template_id))


def _mappings_digest(mappings: SpeakerMappings) -> str:
    canonical = json.dumps(
        {label: [who.display_name, who.user_id] for label, who in mappings.mappings.items()},
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


EMPTY_MAPPINGS_ETAG = _mappings_digest(SpeakerMappings("", {}, "", None))


class FakeSpeakerMappingRepository:
    def __init__(self, tables: _Open) -> None:
        self._tables = tables

    def get(self, tenant_id: str, task_id: str) -> SpeakerMappings:
        stored = self._tables().speaker_mappings.get((tenant_id, task_id))
        if stored is None:
            return SpeakerMappings(task_id, {}, EMPTY_MAPPINGS_ETAG, None)
        return stored

    def replace(self, tenant_id: str, mappings: SpeakerMappings) -> None:
        tables = self._tables()
        tables.require_task(tenant_id, mappings.task_id)
        stored = replace(
            mappings,
            mappings=dict(mappings.mappings),
            etag=mappings.etag or _mappings_digest(mappings),
            update_time=mappings.update_time or datetime.now(UTC),
        )
        tables.speaker_mappings.put((tenant_id, mappings.task_id), stored)


class FakeTranscriptRepository:
    def __init__(self, tables: _Open) -> None:
        self._tables = tables

    def get(self, tenant_id: str, task_id: str, *, with_words: bool) -> Transcript | None:
        transcript = self._tables().transcripts.get((tenant_id, task_id))
        if transcript is not None and not with_words:
            for segment in transcript.segments:
                segment.words = []
        return transcript

    def put(self, transcript: Transcript) -> None:
        tables = self._tables()
        tables.require_task(transcript.tenant_id, transcript.task_id)
        tables.transcripts.put((transcript.tenant_id, transcript.task_id), transcript)


class FakeArtifactRepository:
    def __init__(self, tables: _Open) -> None:
        self._tables = tables

    def add(self, artifact: Artifact) -> None:
        tables = self._tables()
        tables.require_task(artifact.tenant_id, artifact.task_id)
        key = (artifact.tenant_id, artifact.task_id, artifact.id)
        if key in tables.artifacts:
            raise AlreadyExists(f"tasks/{artifact.task_id}/artifacts/{artifact.id} already exists")
        tables.artifacts.put(key, artifact)

    def get(self, tenant_id: str, task_id: str, artifact_id: str) -> Artifact | None:
        return self._tables().artifacts.get((tenant_id, task_id, artifact_id))

    def list(
        self, tenant_id: str, task_id: str, *, limit: int, cursor: str | None
    ) -> Page[Artifact]:
        artifacts = [
            a for key, a in self._tables().artifacts.items() if key[:2] == (tenant_id, task_id)
        ]
        artifacts.sort(key=lambda a: (a.create_time, a.id), reverse=True)
        if cursor:
            after_time, after_id = _decode_cursor(cursor, 2)
            after = (datetime.fromisoformat(after_time), after_id)
            artifacts = [a for a in artifacts if (a.create_time, a.id) < after]
        return _page(artifacts, limit, lambda a: (a.create_time.isoformat(), a.id))

    def save(self, artifact: Artifact) -> None:
        table = self._tables().artifacts
        key = (artifact.tenant_id, artifact.task_id, artifact.id)
        if key not in table:
            raise NotFound(f"tasks/{artifact.task_id}/artifacts/{artifact.id}")
        table.put(key, artifact)

    def pending(self, task_id: str) -> builtins.list[Artifact]:
        found = [
            a
            for key, a in self._tables().artifacts.items()
            if key[1] == task_id and a.state is ArtifactState.GENERATING
        ]
        return sorted(found, key=lambda a: (a.create_time, a.id))


GROUP_DIMENSIONS = ("provider", "user", "label", "day")


class FakeAuditLogRepository:
    def __init__(self, tables: _Open) -> None:
        self._tables = tables

    def add(
        self,
        record: UsageRecord,
        *,
        call_key: str,
        latency_ms: int | None = None,
        unit_prices: Mapping[str, Decimal] | None = None,
    ) -> bool:
        table = self._tables().audit_logs
        key = (record.tenant_id, call_key)
        if key in table:
            return False
        prices = None if unit_prices is None else dict(unit_prices)
        table.put(key, AuditRow(record, latency_ms, prices))
        return True

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
        unknown = [name for name in group_by if name not in GROUP_DIMENSIONS]
        if unknown:
            raise InvalidArgument.field("group_by", f"unknown dimension(s) {unknown}")
        if "label" in group_by and not label_key:
            raise InvalidArgument.field("label_key", "is required when grouping by label")
        dimensions = list(dict.fromkeys(group_by))
        groups: dict[tuple[str, ...], UsageGroup] = {}
        for (tenant, _), row in self._tables().audit_logs.items():
            r = row.record
            if tenant != tenant_id or not start <= r.create_time < end:
                continue
            if (provider and r.provider != provider) or (user_id and r.user_id != user_id):
                continue
            values = {
                "provider": r.provider,
                "user": r.user_id,
                "label": r.labels.get(label_key, ""),
                "day": r.create_time.astimezone(UTC).date().isoformat(),
            }
            key = tuple(values[name] for name in dimensions)
            group = groups.get(key)
            if group is None:
                chosen = {name: values[name] for name in dimensions}
                group = groups[key] = UsageGroup(
                    provider=chosen.get("provider", ""),
                    user_id=chosen.get("user", ""),
                    label_value=chosen.get("label", ""),
                    day=chosen.get("day", ""),
                )
            group.call_count += 1
            group.failed_call_count += 0 if r.succeeded else 1
            group.audio_seconds += r.audio_seconds
            group.input_tokens += r.input_tokens
            group.output_tokens += r.output_tokens
            if r.currency or r.cost_amount:
                group.costs[r.currency] = group.costs.get(r.currency, Decimal(0)) + r.cost_amount
        return [groups[key] for key in sorted(groups)]


class FakeIdempotencyRepository:
    def __init__(self, tables: _Open) -> None:
        self._tables = tables

    def get(
        self, tenant_id: str, user_id: str, method: str, request_id: str
    ) -> tuple[str, str] | None:
        row = self._tables().idempotency.get((tenant_id, user_id, method, request_id))
        return None if row is None else (row.resource_id, row.fingerprint)

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
        table = self._tables().idempotency
        key = (tenant_id, user_id, method, request_id)
        if key in table:
            raise AlreadyExists(f"requests/{request_id} already exists")
        table.put(key, IdempotencyRow(resource_id, fingerprint, now))


# ---------------------------------------------------------------- unit of work


class FakeUnitOfWork:
    """A `UnitOfWork` over a `FakeDatabase`, with row-level staged writes.

    Like the SQL one, it can be entered again after it exits, but not while open.
    `commits` counts this object's successful commits.
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

    def __init__(self, db: FakeDatabase) -> None:
        self.db = db
        self._tables: _Tables | None = None
        self.commits = 0
        self.rollbacks = 0
        opened = self._open_tables
        self.users = FakeUserRepository(opened)
        self.tasks = FakeTaskRepository(opened)
        self.task_events = FakeTaskEventRepository(opened)
        self.uploads = FakeUploadRepository(opened)
        self.hotword_sets = FakeHotwordSetRepository(opened)
        self.prompt_templates = FakePromptTemplateRepository(opened)
        self.speaker_mappings = FakeSpeakerMappingRepository(opened)
        self.transcripts = FakeTranscriptRepository(opened)
        self.artifacts = FakeArtifactRepository(opened)
        self.audit_logs = FakeAuditLogRepository(opened)
        self.idempotency = FakeIdempotencyRepository(opened)

    @property
    def committed(self) -> bool:
        return self.commits > 0

    def _open_tables(self) -> _Tables:
        if self._tables is None:
            raise RuntimeError("the unit of work is not open; use it in a `with` block")
        return self._tables

    def __enter__(self) -> Self:
        if self._tables is not None:
            raise RuntimeError("the unit of work is already open")
        self.db.check()
        self._tables = _Tables(self.db)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        tables, self._tables = self._open_tables(), None
        if any(table.dirty for table in tables.all()):
            with self.db.lock:
                self.db.discarded_writes += 1
        for table in tables.all():
            table.discard()

    def commit(self) -> None:
        tables = self._open_tables()
        with self.db.lock:
            failure, self.db.fail_next_commit = self.db.fail_next_commit, None
            if failure is not None:
                for table in tables.all():
                    table.discard()
                raise failure
            for table in tables.all():
                table.apply()
            self.db.commits += 1
        self.commits += 1

    def rollback(self) -> None:
        for table in self._open_tables().all():
            table.discard()
        with self.db.lock:
            self.db.rollbacks += 1
        self.rollbacks += 1


class FakeUnitOfWorkFactory:
    """A `UnitOfWorkFactory`: a fresh `FakeUnitOfWork` per call, all over one database.

    `on_open`, when set, is called with each new unit of work before it is returned;
    tests use it to slip a concurrent change in between two steps of a service.
    """

    def __init__(
        self,
        db: FakeDatabase | None = None,
        *,
        on_open: Callable[[FakeUnitOfWork], None] | None = None,
    ) -> None:
        self.db = db if db is not None else FakeDatabase()
        self.on_open = on_open
        self.opened: list[FakeUnitOfWork] = []

    def __call__(self, *, read_only: bool = False, snapshot: bool = False) -> FakeUnitOfWork:
        uow = FakeUnitOfWork(self.db)
        self.opened.append(uow)
        if self.on_open is not None:
            self.on_open(uow)
        return uow


if TYPE_CHECKING:
    # A fake that drifts from its port fails type checking here (the repositories are
    # checked where `FakeUnitOfWork` assigns them to its port-typed attributes).
    from meeting_agent.ports import (
        Checkpoints,
        Clock,
        Database,
        ObjectStore,
        ProgressReporter,
        UnitOfWork,
        UnitOfWorkFactory,
    )

    def _conforms(
        clock: FakeClock,
        store: FakeObjectStore,
        db: FakeDatabase,
        uow: FakeUnitOfWork,
        factory: FakeUnitOfWorkFactory,
        checkpoints: MemoryCheckpoints,
        progress: Progress,
    ) -> tuple[
        Clock, ObjectStore, Database, UnitOfWork, UnitOfWorkFactory, Checkpoints, ProgressReporter
    ]:
        return clock, store, db, uow, factory, checkpoints, progress
