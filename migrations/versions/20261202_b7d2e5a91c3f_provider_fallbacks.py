"""Fallbacks are recorded: on the task, on the artifact, and as warning events.

A transcript or minutes made by a provider later in the failover order than the first
says so, with the reason each provider before it failed; warning events carry a stable
reason. Existing rows read as "no fallback" and events as reason "".

Revision ID: b7d2e5a91c3f
Revises: 8c1f0e7a2b4d
Create Date: 2026-12-02 13:30:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "b7d2e5a91c3f"
down_revision: str | Sequence[str] | None = "8c1f0e7a2b4d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fallbacks", sa.JSON(none_as_null=True), nullable=True))
    with op.batch_alter_table("generated_artifacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fallback", sa.JSON(none_as_null=True), nullable=True))
    with op.batch_alter_table("task_events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reason", sa.String(length=64), server_default="", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("task_events", schema=None) as batch_op:
        batch_op.drop_column("reason")
    with op.batch_alter_table("generated_artifacts", schema=None) as batch_op:
        batch_op.drop_column("fallback")
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_column("fallbacks")
