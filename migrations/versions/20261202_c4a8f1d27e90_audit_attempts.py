"""The audit log keeps every attempt, and the quantities that price it.

Each failed attempt of a provider call (a 429, a 500, a timeout) is a row of its own,
with how it failed, the vendor's HTTP status and code, and the key's fingerprint;
`final` marks the row that ended its logical call. Input tokens billed as audio and
output tokens spent thinking are kept apart, so a row's cost can be recomputed from the
row alone. Existing rows read as final attempts with no audio tokens.

Revision ID: c4a8f1d27e90
Revises: b7d2e5a91c3f
Create Date: 2026-12-02 14:20:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "c4a8f1d27e90"
down_revision: str | Sequence[str] | None = "b7d2e5a91c3f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_logs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("audio_input_tokens", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("thinking_tokens", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("failure", sa.String(length=32), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("http_status", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("vendor_code", sa.String(length=64), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("key_fingerprint", sa.String(length=32), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("final", sa.Boolean(), server_default=sa.text("true"), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("audit_logs", schema=None) as batch_op:
        for column in (
            "final",
            "key_fingerprint",
            "vendor_code",
            "http_status",
            "failure",
            "thinking_tokens",
            "audio_input_tokens",
        ):
            batch_op.drop_column(column)
