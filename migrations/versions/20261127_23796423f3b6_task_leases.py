"""Task leases: `tasks.heartbeat_time` and `tasks.attempts`, and the orphan-scan index.

A job claims a task by setting `heartbeat_time` and refreshes it while it runs; a stale
lease marks a dead worker's task. Generated with autogenerate and reviewed: `attempts`
gets a server default so existing rows (none of which ever ran under a lease) read 0.

Revision ID: 23796423f3b6
Revises: 5fc44d34f43e
Create Date: 2026-11-27 20:37:45.166419+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "23796423f3b6"
down_revision: str | Sequence[str] | None = "5fc44d34f43e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("heartbeat_time", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch_op.create_index("ix_tasks_state_create_time", ["state", "create_time"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_tasks_state_create_time")
        batch_op.drop_column("attempts")
        batch_op.drop_column("heartbeat_time")
