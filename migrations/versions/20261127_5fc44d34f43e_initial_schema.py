"""Initial schema: every table of SPEC §4.

Generated with autogenerate and reviewed: column types render as their storage types
(see `_render_item` in env.py), constraint names follow the metadata's naming convention.

Revision ID: 5fc44d34f43e
Revises:
Create Date: 2026-11-27 20:26:15.361612+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "5fc44d34f43e"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_logs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("tenant_id", sa.String(length=128), nullable=False),
        sa.Column("call_key", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("task_id", sa.String(length=64), nullable=True),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=255), nullable=False),
        sa.Column("operation", sa.String(length=64), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("audio_seconds", sa.Float(), nullable=False),
        sa.Column("input_tokens", sa.BigInteger(), nullable=False),
        sa.Column("output_tokens", sa.BigInteger(), nullable=False),
        sa.Column(
            "cost_amount",
            sa.Numeric(precision=18, scale=6).with_variant(sa.BigInteger(), "sqlite"),
            nullable=False,
        ),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("outcome", sa.String(length=64), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("unit_prices", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_logs")),
        sa.UniqueConstraint("tenant_id", "call_key", name=op.f("uq_audit_logs_tenant_id_call_key")),
    )
    with op.batch_alter_table("audit_logs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_audit_logs_tenant_id_create_time", ["tenant_id", "create_time"], unique=False
        )

    op.create_table(
        "hotword_sets",
        sa.Column("tenant_id", sa.String(length=128), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("hotwords", sa.JSON(), nullable=False),
        sa.Column("language_code", sa.String(length=35), nullable=False),
        sa.Column("etag", sa.String(length=64), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_hotword_sets")),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("tenant_id", sa.String(length=128), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("method", sa.String(length=255), nullable=False),
        sa.Column("request_id", sa.String(length=255), nullable=False),
        sa.Column("resource_id", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=128), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant_id", "user_id", "method", "request_id", name=op.f("pk_idempotency_keys")
        ),
    )
    op.create_table(
        "prompt_templates",
        sa.Column("tenant_id", sa.String(length=128), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("system_prompt", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("language_code", sa.String(length=35), nullable=False),
        sa.Column("etag", sa.String(length=64), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_prompt_templates")),
    )
    op.create_table(
        "tasks",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=128), nullable=False),
        sa.Column("creator_id", sa.String(length=255), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("audio_sources", sa.JSON(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=64), nullable=False),
        sa.Column("stage", sa.String(length=64), nullable=False),
        sa.Column("progress_percent", sa.Integer(), nullable=False),
        sa.Column("error", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("audio_duration_seconds", sa.Float(), nullable=True),
        sa.Column("last_event_sequence", sa.Integer(), nullable=False),
        sa.Column("has_transcript", sa.Boolean(), nullable=False),
        sa.Column(
            "cost_amount",
            sa.Numeric(precision=18, scale=6).with_variant(sa.BigInteger(), "sqlite"),
            nullable=False,
        ),
        sa.Column("cost_currency", sa.String(length=8), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
        sa.UniqueConstraint("id", "tenant_id", name=op.f("uq_tasks_id_tenant_id")),
    )
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_tasks_tenant_id_create_time_id", ["tenant_id", "create_time", "id"], unique=False
        )

    op.create_table(
        "uploads",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=128), nullable=False),
        sa.Column("creator_id", sa.String(length=255), nullable=False),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("content_type", sa.String(length=255), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("object_key", sa.String(length=1024), nullable=False),
        sa.Column("state", sa.String(length=64), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("task_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_uploads")),
    )
    op.create_table(
        "users",
        sa.Column("tenant_id", sa.String(length=128), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("display_name", sa.Text(), nullable=True),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "user_id", name=op.f("pk_users")),
    )
    op.create_table(
        "generated_artifacts",
        sa.Column("task_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=128), nullable=False),
        sa.Column("prompt_template_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=64), nullable=False),
        sa.Column("llm_provider", sa.String(length=64), nullable=False),
        sa.Column("llm_model", sa.String(length=255), nullable=False),
        sa.Column("extractive", sa.Boolean(), nullable=False),
        sa.Column("minutes", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("json_object_key", sa.String(length=1024), nullable=False),
        sa.Column("markdown_object_key", sa.String(length=1024), nullable=False),
        sa.Column("error", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id", "tenant_id"],
            ["tasks.id", "tasks.tenant_id"],
            name=op.f("fk_generated_artifacts_task_id_tenant_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("task_id", "id", name=op.f("pk_generated_artifacts")),
    )
    with op.batch_alter_table("generated_artifacts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_generated_artifacts_task_id_create_time_id",
            ["task_id", "create_time", "id"],
            unique=False,
        )

    op.create_table(
        "speaker_mapping_sets",
        sa.Column("task_id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=128), nullable=False),
        sa.Column("etag", sa.String(length=64), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id", "tenant_id"],
            ["tasks.id", "tasks.tenant_id"],
            name=op.f("fk_speaker_mapping_sets_task_id_tenant_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("task_id", name=op.f("pk_speaker_mapping_sets")),
    )
    op.create_table(
        "task_events",
        sa.Column("task_id", sa.String(length=64), nullable=False),
        sa.Column("sequence", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tenant_id", sa.String(length=128), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=64), nullable=False),
        sa.Column("stage", sa.String(length=64), nullable=False),
        sa.Column("progress_percent", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("error", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("event_time", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id", "tenant_id"],
            ["tasks.id", "tasks.tenant_id"],
            name=op.f("fk_task_events_task_id_tenant_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("task_id", "sequence", name=op.f("pk_task_events")),
    )
    op.create_table(
        "transcripts",
        sa.Column("task_id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=128), nullable=False),
        sa.Column("language_code", sa.String(length=35), nullable=False),
        sa.Column("duration_seconds", sa.Float(), nullable=False),
        sa.Column("asr_provider", sa.String(length=64), nullable=False),
        sa.Column("asr_model", sa.String(length=255), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id", "tenant_id"],
            ["tasks.id", "tasks.tenant_id"],
            name=op.f("fk_transcripts_task_id_tenant_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("task_id", name=op.f("pk_transcripts")),
    )
    op.create_table(
        "speaker_mappings",
        sa.Column("task_id", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=128), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["speaker_mapping_sets.task_id"],
            name=op.f("fk_speaker_mappings_task_id_speaker_mapping_sets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("task_id", "label", name=op.f("pk_speaker_mappings")),
    )
    op.create_table(
        "transcript_segments",
        sa.Column("task_id", sa.String(length=64), nullable=False),
        sa.Column("idx", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tenant_id", sa.String(length=128), nullable=False),
        sa.Column("speaker_label", sa.String(length=64), nullable=False),
        sa.Column("start_seconds", sa.Float(), nullable=False),
        sa.Column("end_seconds", sa.Float(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("words", sa.JSON(), nullable=False),
        sa.Column("source_index", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["transcripts.task_id"],
            name=op.f("fk_transcript_segments_task_id_transcripts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("task_id", "idx", name=op.f("pk_transcript_segments")),
    )


def downgrade() -> None:
    op.drop_table("transcript_segments")
    op.drop_table("speaker_mappings")
    op.drop_table("transcripts")
    op.drop_table("task_events")
    op.drop_table("speaker_mapping_sets")
    with op.batch_alter_table("generated_artifacts", schema=None) as batch_op:
        batch_op.drop_index("ix_generated_artifacts_task_id_create_time_id")

    op.drop_table("generated_artifacts")
    op.drop_table("users")
    op.drop_table("uploads")
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_tasks_tenant_id_create_time_id")

    op.drop_table("tasks")
    op.drop_table("prompt_templates")
    op.drop_table("idempotency_keys")
    op.drop_table("hotword_sets")
    with op.batch_alter_table("audit_logs", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_logs_tenant_id_create_time")

    op.drop_table("audit_logs")
