"""Tasks keep the traceparent of the request that created them.

Jobs run later and often elsewhere (an RQ worker, a retry, a re-enqueue by the
reconciler); reading the W3C traceparent back from the row lets every job run join the
creating request's trace. Existing rows read "" (untraced).

Revision ID: 8c1f0e7a2b4d
Revises: 37ecef3d92d8
Create Date: 2026-11-28 10:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "8c1f0e7a2b4d"
down_revision: str | Sequence[str] | None = "37ecef3d92d8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("trace_parent", sa.String(length=128), server_default="", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_column("trace_parent")
