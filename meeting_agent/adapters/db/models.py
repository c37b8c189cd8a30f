"""SQLAlchemy 2 ORM models: the database schema (SPEC §4).

These rows never leave `meeting_agent.adapters.db`; repositories turn them into the
dataclasses of `meeting_agent.domain.models`. Types are portable (JSON, not JSONB) so the
same metadata creates the embedded SQLite schema and the production PostgreSQL one.

Rows that hang off a task reference it by `(task_id, tenant_id)`, so the database itself
refuses a child row whose tenant differs from its task's, and deleting a task cascades to
them (and on to their own children: mapping rows, transcript segments). `audit_logs`
deliberately has no foreign key: it is the billing record and outlives the task.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from meeting_agent.adapters.db.types import Money, UtcDateTime

# Stable constraint names, so migrations can drop and alter them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Column shapes used across tables.
TenantId = Annotated[str, mapped_column(String(128))]
UserId = Annotated[str, mapped_column(String(255))]
ResourceId = Annotated[str, mapped_column(String(64))]
Code = Annotated[str, mapped_column(String(64))]  # enum values, provider and model names
LanguageCode = Annotated[str, mapped_column(String(35))]
ObjectKey = Annotated[str, mapped_column(String(1024))]
Json = Annotated[Any, mapped_column(JSON)]
# SQL NULL rather than the JSON literal `null`, so `IS NULL` finds absent documents.
NullableJson = Annotated[Any, mapped_column(JSON(none_as_null=True), nullable=True)]

# SQLite only auto-increments an INTEGER PRIMARY KEY.
_BIGINT_ID = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime(),
        Decimal: Money(),
        str: Text(),
    }


def _task_foreign_key() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["task_id", "tenant_id"], ["tasks.id", "tasks.tenant_id"], ondelete="CASCADE"
    )


class UserRow(Base):
    __tablename__ = "users"

    tenant_id: Mapped[TenantId] = mapped_column(primary_key=True)
    # The JWT subject.
    user_id: Mapped[UserId] = mapped_column(primary_key=True)
    email: Mapped[str | None] = mapped_column(String(320))
    display_name: Mapped[str | None]
    create_time: Mapped[datetime]
    last_seen_time: Mapped[datetime]


class TaskRow(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        # The target of the children's (task_id, tenant_id) foreign keys.
        UniqueConstraint("id", "tenant_id"),
        Index("ix_tasks_tenant_id_create_time_id", "tenant_id", "create_time", "id"),
        # The reconciler's orphan scan reads the few queued and running tasks, every few
        # seconds, out of a table that is mostly finished ones.
        Index("ix_tasks_state_create_time", "state", "create_time"),
    )

    id: Mapped[ResourceId] = mapped_column(primary_key=True)
    tenant_id: Mapped[TenantId]
    creator_id: Mapped[UserId]
    display_name: Mapped[str]
    audio_sources: Mapped[Json]
    options: Mapped[Json]
    labels: Mapped[Json]
    state: Mapped[Code]
    stage: Mapped[Code]
    progress_percent: Mapped[int]
    error: Mapped[NullableJson]
    cancel_requested: Mapped[bool]
    audio_duration_seconds: Mapped[float | None]
    last_event_sequence: Mapped[int]
    has_transcript: Mapped[bool]
    cost_amount: Mapped[Decimal]
    cost_currency: Mapped[str] = mapped_column(String(8))
    create_time: Mapped[datetime]
    update_time: Mapped[datetime]
    start_time: Mapped[datetime | None]
    end_time: Mapped[datetime | None]
    # The running job's lease (see `SqlTaskRepository.claim`).
    heartbeat_time: Mapped[datetime | None]
    # The server default fills rows that predate the column.
    attempts: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    # A W3C traceparent is 55 characters; the slack admits a future version's fields.
    trace_parent: Mapped[str] = mapped_column(String(128), default="", server_default="")
    # [ProviderFallback]: outputs a later provider of the order made, and why.
    fallbacks: Mapped[NullableJson]


class TaskEventRow(Base):
    """One progress event; `(task_id, sequence)` is the resume point of WatchTask."""

    __tablename__ = "task_events"
    __table_args__ = (_task_foreign_key(),)

    task_id: Mapped[ResourceId] = mapped_column(primary_key=True)
    sequence: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    tenant_id: Mapped[TenantId]
    type: Mapped[Code]
    state: Mapped[Code]
    stage: Mapped[Code]
    progress_percent: Mapped[int]
    message: Mapped[str]
    error: Mapped[NullableJson]
    event_time: Mapped[datetime]
    # The stable reason of a warning event.
    reason: Mapped[str] = mapped_column(String(64), default="", server_default="")


class UploadRow(Base):
    __tablename__ = "uploads"

    id: Mapped[ResourceId] = mapped_column(primary_key=True)
    tenant_id: Mapped[TenantId]
    creator_id: Mapped[UserId]
    filename: Mapped[str]
    content_type: Mapped[str] = mapped_column(String(255))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    object_key: Mapped[ObjectKey]
    state: Mapped[Code]
    create_time: Mapped[datetime]
    # The task that owns the bytes. No foreign key: the task's deletion deletes the
    # upload explicitly, after its bytes, so the row outlives the task only on a crash.
    task_id: Mapped[ResourceId | None]


class HotwordSetRow(Base):
    __tablename__ = "hotword_sets"

    tenant_id: Mapped[TenantId] = mapped_column(primary_key=True)
    id: Mapped[ResourceId] = mapped_column(primary_key=True)
    display_name: Mapped[str]
    hotwords: Mapped[Json]
    language_code: Mapped[LanguageCode]
    etag: Mapped[Code]
    create_time: Mapped[datetime]
    update_time: Mapped[datetime]


class PromptTemplateRow(Base):
    __tablename__ = "prompt_templates"

    tenant_id: Mapped[TenantId] = mapped_column(primary_key=True)
    id: Mapped[ResourceId] = mapped_column(primary_key=True)
    display_name: Mapped[str]
    description: Mapped[str]
    system_prompt: Mapped[str]
    body: Mapped[str]
    language_code: Mapped[LanguageCode]
    etag: Mapped[Code]
    create_time: Mapped[datetime]
    update_time: Mapped[datetime]


class SpeakerMappingSetRow(Base):
    """The version of a task's speaker mappings, present once they were first written.

    Its own row, so an emptied mapping keeps the etag and time of the change that emptied it.
    """

    __tablename__ = "speaker_mapping_sets"
    __table_args__ = (_task_foreign_key(),)

    task_id: Mapped[ResourceId] = mapped_column(primary_key=True)
    tenant_id: Mapped[TenantId]
    etag: Mapped[Code]
    update_time: Mapped[datetime]


class SpeakerMappingRow(Base):
    """One speaker label of a task mapped to a person."""

    __tablename__ = "speaker_mappings"
    __table_args__ = (
        ForeignKeyConstraint(["task_id"], ["speaker_mapping_sets.task_id"], ondelete="CASCADE"),
    )

    task_id: Mapped[ResourceId] = mapped_column(primary_key=True)
    label: Mapped[Code] = mapped_column(primary_key=True)
    tenant_id: Mapped[TenantId]
    display_name: Mapped[str]
    user_id: Mapped[UserId]


class TranscriptRow(Base):
    __tablename__ = "transcripts"
    __table_args__ = (_task_foreign_key(),)

    task_id: Mapped[ResourceId] = mapped_column(primary_key=True)
    tenant_id: Mapped[TenantId]
    language_code: Mapped[LanguageCode]
    duration_seconds: Mapped[float]
    asr_provider: Mapped[Code]
    asr_model: Mapped[str] = mapped_column(String(255))
    create_time: Mapped[datetime]
    update_time: Mapped[datetime]


class TranscriptSegmentRow(Base):
    __tablename__ = "transcript_segments"
    __table_args__ = (
        ForeignKeyConstraint(["task_id"], ["transcripts.task_id"], ondelete="CASCADE"),
    )

    task_id: Mapped[ResourceId] = mapped_column(primary_key=True)
    idx: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    tenant_id: Mapped[TenantId]
    speaker_label: Mapped[Code]
    # `start`/`end` would need quoting in hand-written SQL (END is reserved).
    start_seconds: Mapped[float]
    end_seconds: Mapped[float]
    text: Mapped[str]
    words: Mapped[Json]
    source_index: Mapped[int]


class ArtifactRow(Base):
    __tablename__ = "generated_artifacts"
    __table_args__ = (
        _task_foreign_key(),
        Index("ix_generated_artifacts_task_id_create_time_id", "task_id", "create_time", "id"),
    )

    task_id: Mapped[ResourceId] = mapped_column(primary_key=True)
    id: Mapped[ResourceId] = mapped_column(primary_key=True)
    tenant_id: Mapped[TenantId]
    prompt_template_id: Mapped[ResourceId]
    state: Mapped[Code]
    llm_provider: Mapped[Code]
    llm_model: Mapped[str] = mapped_column(String(255))
    extractive: Mapped[bool]
    minutes: Mapped[NullableJson]
    json_object_key: Mapped[ObjectKey]
    markdown_object_key: Mapped[ObjectKey]
    error: Mapped[NullableJson]
    create_time: Mapped[datetime]
    update_time: Mapped[datetime]
    # [{"provider": ..., "model": ...}] as requested; the job reads it back.
    requested_providers: Mapped[NullableJson]
    # ProviderFallback, when a later provider of the order wrote the minutes.
    fallback: Mapped[NullableJson]


class AuditLogRow(Base):
    """One attempt of a provider call. Kept when its task is deleted: it is the billing
    record. Its quantities per price class and `unit_prices` give its cost exactly."""

    __tablename__ = "audit_logs"
    __table_args__ = (
        # A retried job reports the same call again; the key makes the write idempotent.
        UniqueConstraint("tenant_id", "call_key"),
        Index("ix_audit_logs_tenant_id_create_time", "tenant_id", "create_time"),
    )

    id: Mapped[int] = mapped_column(_BIGINT_ID, primary_key=True, autoincrement=True)
    tenant_id: Mapped[TenantId]
    call_key: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[UserId]
    task_id: Mapped[str | None] = mapped_column(String(64))
    provider: Mapped[Code]
    model: Mapped[str] = mapped_column(String(255))
    operation: Mapped[Code]
    labels: Mapped[Json]
    audio_seconds: Mapped[float]
    input_tokens: Mapped[int] = mapped_column(BigInteger)
    output_tokens: Mapped[int] = mapped_column(BigInteger)
    cost_amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(8))
    # "succeeded" or "failed"; a string leaves room for finer outcomes such as "timeout".
    outcome: Mapped[Code]
    latency_ms: Mapped[int | None]
    # Unit prices the cost was computed with, as decimal strings.
    unit_prices: Mapped[NullableJson]
    create_time: Mapped[datetime]
    # Server defaults fill rows that predate the columns: one final attempt each.
    audio_input_tokens: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    thinking_tokens: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    failure: Mapped[str] = mapped_column(String(32), default="", server_default="")
    http_status: Mapped[int | None]
    vendor_code: Mapped[str] = mapped_column(String(64), default="", server_default="")
    key_fingerprint: Mapped[str] = mapped_column(String(32), default="", server_default="")
    final: Mapped[bool] = mapped_column(default=True, server_default=text("true"))


class IdempotencyKeyRow(Base):
    """The resource a `request_id` created, so a retried create returns it again."""

    __tablename__ = "idempotency_keys"

    tenant_id: Mapped[TenantId] = mapped_column(primary_key=True)
    user_id: Mapped[UserId] = mapped_column(primary_key=True)
    method: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    resource_id: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(128))
    create_time: Mapped[datetime]
