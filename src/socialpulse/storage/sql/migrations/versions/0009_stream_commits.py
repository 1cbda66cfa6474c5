"""``stream_commits``: the last micro-batch whose aggregate increments a stream has applied.

Revision ID: 0009
Revises: 0007
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create ``stream_commits``."""
    op.create_table(
        "stream_commits",
        sa.Column("stream_id", sa.String(64), primary_key=True),
        sa.Column("batch_id", sa.BigInteger, nullable=False),
        sa.Column("committed_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    """Drop what this revision created."""
    op.drop_table("stream_commits")
