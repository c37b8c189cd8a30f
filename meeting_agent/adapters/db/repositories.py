"""SQLAlchemy implementations of the repository ports in `meeting_agent.ports`.

This module is the one import point for all of them; the library, task-output and audit
repositories live in `library`, `outputs` and `audit`.

Each repository takes the unit of work's `Session` and never commits: the transaction
boundary belongs to the service layer. Every query is scoped by `tenant_id`, and every
method returns domain dataclasses, never ORM rows. Lists page by keyset: the cursor is the
sort key of the last row returned, so pages stay stable while rows are added.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, bindparam, delete, func, or_, select, update
from sqlalchemy.orm import Session

from meeting_agent.adapters.db import codec
from meeting_agent.adapters.db._sql import (
    check_limit,
    constraint_errors,
    insert_on_conflict,
    newest_first,
    page_of,
    task_name,
)
from meeting_agent.adapters.db.audit import SqlAuditLogRepository
from meeting_agent.adapters.db.library import SqlHotwordSetRepository, SqlPromptTemplateRepository
from meeting_agent.adapters.db.models import (
    IdempotencyKeyRow,
    TaskEventRow,
    TaskRow,
    UploadRow,
    UserRow,
)
from meeting_agent.adapters.db.outputs import (
    SqlArtifactRepository,
    SqlSpeakerMappingRepository,
    SqlTranscriptRepository,
    speaker_mappings_etag,
)
from meeting_agent.domain.models import (
    CLAIM,
    LEASED_STATES,
    Principal,
    Task,
    TaskEvent,
    TaskEventType,
    TaskStage,
    TaskState,
    Upload,
    UploadState,
)
from meeting_agent.errors import NotFound
from meeting_agent.ports import Page, TaskFilter

__all__ = [
    "SqlArtifactRepository",
    "SqlAuditLogRepository",
    "SqlHotwordSetRepository",
    "SqlIdempotencyRepository",
    "SqlPromptTemplateRepository",
    "SqlSpeakerMappingRepository",
    "SqlTaskEventRepository",
    "SqlTaskRepository",
    "SqlTranscriptRepository",
    "SqlUploadRepository",
    "SqlUserRepository",
    "speaker_mappings_etag",
]


# ---------------------------------------------------------------- users


class SqlUserRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def upsert(self, principal: Principal, now: datetime) -> None:
        stmt = insert_on_conflict(self._session, UserRow).values(
            tenant_id=principal.tenant_id,
            user_id=principal.user_id,
            email=principal.email,
            display_name=principal.display_name,
            create_time=now,
            last_seen_time=now,
        )
        # A token without profile claims must not erase a profile seen earlier.
        stmt = stmt.on_conflict_do_update(
            index_elements=[UserRow.tenant_id, UserRow.user_id],
            set_={
                "last_seen_time": stmt.excluded.last_seen_time,
                "email": func.coalesce(stmt.excluded.email, UserRow.email),
                "display_name": func.coalesce(stmt.excluded.display_name, UserRow.display_name),
            },
        )
        self._session.execute(stmt)


# ---------------------------------------------------------------- tasks

# Hot reads select from the tables with Core; `_task_from_row` and `_event_from_row` read
# columns by name, so they take Core rows and ORM instances alike.
_TASKS = TaskRow.__table__
_TASK_EVENTS = TaskEventRow.__table__
# Built once: constructing a statement (and its cache key) costs more than running it.
_GET_TASK = select(_TASKS).where(
    _TASKS.c.id == bindparam("task_id"), _TASKS.c.tenant_id == bindparam("tenant_id")
)
_CLAIM_READ = select(_TASKS).where(_TASKS.c.id == bindparam("task_id"))


# How a `Task` field is stored, where its column does not hold the value as it is:
# (load, dump). Every other field is the column of the same name, so a plain new field
# needs no mapping here.
_Codec = tuple[Callable[[Any], Any], Callable[[Any], Any]]
_TASK_CODECS: dict[str, _Codec] = {
    "audio_sources": (
        codec.AUDIO_SOURCES.validate_python,
        lambda sources: codec.AUDIO_SOURCES.dump_python(sources, mode="json"),
    ),
    "options": (
        codec.TASK_OPTIONS.validate_python,
        lambda options: codec.TASK_OPTIONS.dump_python(options, mode="json"),
    ),
    "labels": (codec.LABELS.validate_python, dict),
    "state": (TaskState, lambda state: state.value),
    "stage": (TaskStage, lambda stage: stage.value),
    "error": (codec.load_error, codec.dump_error),
    "fallbacks": (
        lambda found: codec.FALLBACKS.validate_python(found or []),
        lambda fallbacks: codec.FALLBACKS.dump_python(fallbacks, mode="json") or None,
    ),
}
_TASK_FIELDS = [(f.name, _TASK_CODECS.get(f.name)) for f in fields(Task)]
# Not the key, which never changes, nor the lease (`heartbeat_time`, `attempts`): only
# `claim` and `heartbeat` write it, so saving a task read a while ago can never make a
# live lease look stale.
_TASK_WRITTEN = [
    (name, found)
    for name, found in _TASK_FIELDS
    if name not in ("id", "tenant_id", "heartbeat_time", "attempts")
]


def _task_from_row(row: TaskRow | Row[Any]) -> Task:
    return Task(
        **{
            name: getattr(row, name) if found is None else found[0](getattr(row, name))
            for name, found in _TASK_FIELDS
        }
    )


def _write_task(row: TaskRow, task: Task) -> None:
    for name, found in _TASK_WRITTEN:
        value = getattr(task, name)
        setattr(row, name, value if found is None else found[1](value))


class SqlTaskRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, task: Task) -> None:
        row = TaskRow(
            id=task.id,
            tenant_id=task.tenant_id,
            heartbeat_time=task.heartbeat_time,
            attempts=task.attempts,
        )
        _write_task(row, task)
        with constraint_errors(self._session, duplicate=task_name(task.id)):
            self._session.add(row)

    def _row(self, tenant_id: str, task_id: str, *, for_update: bool = False) -> TaskRow | None:
        stmt = select(TaskRow).where(TaskRow.id == task_id, TaskRow.tenant_id == tenant_id)
        if for_update:
            # The row may already sit in the identity map from an earlier read; the locked
            # read must refresh it, or a concurrent writer's change would be overwritten.
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        return self._session.scalars(stmt).one_or_none()

    def get(self, tenant_id: str, task_id: str, *, for_update: bool = False) -> Task | None:
        if for_update:
            row = self._row(tenant_id, task_id, for_update=True)
            return None if row is None else _task_from_row(row)
        # A plain read is the hottest query of the service (GetTask, every watcher): a
        # Core select on the session's connection skips the ORM's identity map and
        # per-row instance state, about half of its cost.
        found = (
            self._session.connection()
            .execute(_GET_TASK, {"task_id": task_id, "tenant_id": tenant_id})
            .one_or_none()
        )
        return None if found is None else _task_from_row(found)

    def list(
        self, tenant_id: str, flt: TaskFilter, *, limit: int, cursor: str | None
    ) -> Page[Task]:
        stmt = select(_TASKS).where(TaskRow.tenant_id == tenant_id)
        if flt.states:
            stmt = stmt.where(TaskRow.state.in_([state.value for state in flt.states]))
        if flt.create_time_start is not None:
            stmt = stmt.where(TaskRow.create_time >= flt.create_time_start)
        if flt.create_time_end is not None:
            stmt = stmt.where(TaskRow.create_time < flt.create_time_end)
        stmt = newest_first(stmt, TaskRow.create_time, TaskRow.id, cursor=cursor, limit=limit)
        rows = self._session.connection().execute(stmt).all()
        kept, next_cursor = page_of(rows, limit, lambda row: (row.create_time, row.id))
        return Page([_task_from_row(row) for row in kept], next_cursor)

    def save(self, task: Task) -> None:
        # Usually answered from the identity map: the task was read in this unit of work.
        row = self._session.get(TaskRow, task.id)
        if row is None or row.tenant_id != task.tenant_id:
            raise NotFound(task_name(task.id))
        _write_task(row, task)
        self._session.flush()

    def delete(self, tenant_id: str, task_id: str) -> None:
        # Events, mappings, the transcript (and its segments) and artifacts go with the
        # task through ON DELETE CASCADE; audit_logs has no foreign key and stays.
        self._session.execute(
            delete(TaskRow).where(TaskRow.id == task_id, TaskRow.tenant_id == tenant_id)
        )

    # -- leases. Jobs act for the system, not for a caller, so these three methods are
    # the only task queries that do not take a tenant: a job knows just the task id.

    def claim(self, task_id: str, *, now: datetime, stale_before: datetime) -> Task | None:
        found = self._session.connection().execute(_CLAIM_READ, {"task_id": task_id}).one_or_none()
        if found is None:
            return None
        task = _task_from_row(found)
        if not task.claimable(stale_before):
            return None
        read_attempts = task.attempts
        task.claim(now, stale_before=stale_before)
        # The task read may be stale by now: the UPDATE is the atomic guard. Every claim
        # counts an attempt, so an unchanged count means no claim came in between, and
        # the claimable condition catches any other change of state. PostgreSQL re-checks
        # the WHERE clause against a row a concurrent claim changed, after waiting for it
        # to commit, so the loser matches nothing; SQLite runs writers one at a time.
        stmt = (
            update(TaskRow)
            .where(
                TaskRow.id == task_id,
                TaskRow.attempts == read_attempts,
                _claimable(stale_before),
            )
            .values(
                state=task.state.value,
                heartbeat_time=task.heartbeat_time,
                attempts=task.attempts,
                start_time=task.start_time,
                update_time=task.update_time,
            )
            .returning(TaskRow.id)
            .execution_options(synchronize_session=False)
        )
        if self._session.execute(stmt).scalar_one_or_none() is None:
            return None
        row = self._session.scalars(
            select(TaskRow).where(TaskRow.id == task_id).execution_options(populate_existing=True)
        ).one()
        return _task_from_row(row)

    def heartbeat(self, task_id: str, now: datetime, *, attempt: int | None = None) -> bool:
        stmt = update(TaskRow).where(TaskRow.id == task_id, _in_states(LEASED_STATES))
        if attempt is not None:
            stmt = stmt.where(TaskRow.attempts == attempt)
        stmt = (
            stmt.values(heartbeat_time=now)
            .returning(TaskRow.id)
            .execution_options(synchronize_session=False)
        )
        return self._session.execute(stmt).scalar_one_or_none() is not None

    def find_orphans(
        self, *, stale_before: datetime, queued_before: datetime, limit: int
    ) -> builtins.list[Task]:  # `list` alone would name the method above
        stmt = (
            select(TaskRow)
            .where(
                or_(
                    and_(_in_states(_UNLEASED_CLAIMS), TaskRow.create_time < queued_before),
                    _stale_lease(stale_before),
                )
            )
            .order_by(TaskRow.create_time, TaskRow.id)
            .limit(check_limit(limit))
        )
        return [_task_from_row(row) for row in self._session.scalars(stmt)]


# The SQL form of `Task.lease_is_stale` and `Task.claimable`, from the same tables.
_UNLEASED_CLAIMS = CLAIM.sources - LEASED_STATES


def _in_states(states: frozenset[TaskState]) -> ColumnElement[bool]:
    return TaskRow.state.in_(sorted(state.value for state in states))


def _stale_lease(stale_before: datetime) -> ColumnElement[bool]:
    # A leased task without a lease cannot have a live job either (claim always sets one).
    return and_(
        _in_states(LEASED_STATES),
        or_(TaskRow.heartbeat_time.is_(None), TaskRow.heartbeat_time < stale_before),
    )


def _claimable(stale_before: datetime) -> ColumnElement[bool]:
    return or_(
        _in_states(_UNLEASED_CLAIMS),
        and_(_in_states(CLAIM.sources & LEASED_STATES), _stale_lease(stale_before)),
    )


# ---------------------------------------------------------------- task events


def _event_from_row(row: TaskEventRow | Row[Any]) -> TaskEvent:
    return TaskEvent(
        task_id=row.task_id,
        sequence=row.sequence,
        type=TaskEventType(row.type),
        state=TaskState(row.state),
        stage=TaskStage(row.stage),
        progress_percent=row.progress_percent,
        message=row.message,
        event_time=row.event_time,
        error=codec.load_error(row.error),
        reason=row.reason or "",
    )


class SqlTaskEventRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def append(self, event: TaskEvent, tenant_id: str) -> None:
        """Raises `AlreadyExists` when the sequence is taken, `NotFound` for no such task."""
        row = TaskEventRow(
            task_id=event.task_id,
            sequence=event.sequence,
            tenant_id=tenant_id,
            type=event.type.value,
            state=event.state.value,
            stage=event.stage.value,
            progress_percent=event.progress_percent,
            message=event.message,
            error=codec.dump_error(event.error),
            event_time=event.event_time,
            reason=event.reason,
        )
        with constraint_errors(
            self._session,
            duplicate=f"{task_name(event.task_id)}/events/{event.sequence}",
            parent=task_name(event.task_id),
        ):
            self._session.add(row)

    def list_after(self, task_id: str, after_sequence: int, *, limit: int) -> list[TaskEvent]:
        # The port takes no tenant here: callers reach events only through a task they
        # have already read with the caller's tenant.
        stmt = (
            select(_TASK_EVENTS)
            .where(TaskEventRow.task_id == task_id, TaskEventRow.sequence > after_sequence)
            .order_by(TaskEventRow.sequence)
            .limit(check_limit(limit))
        )
        return [_event_from_row(row) for row in self._session.connection().execute(stmt)]


# ---------------------------------------------------------------- uploads


def _upload_from_row(row: UploadRow) -> Upload:
    return Upload(
        id=row.id,
        tenant_id=row.tenant_id,
        creator_id=row.creator_id,
        filename=row.filename,
        content_type=row.content_type,
        size_bytes=row.size_bytes,
        sha256=row.sha256,
        object_key=row.object_key,
        state=UploadState(row.state),
        create_time=row.create_time,
        task_id=row.task_id,
    )


def _write_upload(row: UploadRow, upload: Upload) -> None:
    row.creator_id = upload.creator_id
    row.filename = upload.filename
    row.content_type = upload.content_type
    row.size_bytes = upload.size_bytes
    row.sha256 = upload.sha256
    row.object_key = upload.object_key
    row.state = upload.state.value
    row.create_time = upload.create_time
    row.task_id = upload.task_id


class SqlUploadRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, upload: Upload) -> None:
        row = UploadRow(id=upload.id, tenant_id=upload.tenant_id)
        _write_upload(row, upload)
        with constraint_errors(self._session, duplicate=f"uploads/{upload.id}"):
            self._session.add(row)

    def get(self, tenant_id: str, upload_id: str, *, for_update: bool = False) -> Upload | None:
        stmt = select(UploadRow).where(UploadRow.id == upload_id, UploadRow.tenant_id == tenant_id)
        if for_update:
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        row = self._session.scalars(stmt).one_or_none()
        if row is None:
            return None
        return _upload_from_row(row)

    def save(self, upload: Upload) -> None:
        row = self._session.get(UploadRow, upload.id)
        if row is None or row.tenant_id != upload.tenant_id:
            raise NotFound(f"uploads/{upload.id}")
        _write_upload(row, upload)
        self._session.flush()

    def delete(self, tenant_id: str, upload_id: str) -> None:
        self._session.execute(
            delete(UploadRow).where(UploadRow.id == upload_id, UploadRow.tenant_id == tenant_id)
        )


# ---------------------------------------------------------------- idempotency keys


class SqlIdempotencyRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def get(
        self, tenant_id: str, user_id: str, method: str, request_id: str
    ) -> tuple[str, str] | None:
        row = self._session.get(IdempotencyKeyRow, (tenant_id, user_id, method, request_id))
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
        row = IdempotencyKeyRow(
            tenant_id=tenant_id,
            user_id=user_id,
            method=method,
            request_id=request_id,
            resource_id=resource_id,
            fingerprint=fingerprint,
            create_time=now,
        )
        with constraint_errors(self._session, duplicate=f"requests/{request_id}"):
            self._session.add(row)
