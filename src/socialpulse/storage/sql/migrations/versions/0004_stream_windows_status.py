"""The streaming job's tables: ``hashtag_windows`` (minute/hour windows) and ``stream_status``.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create ``hashtag_windows`` and ``stream_status``."""
    op.create_table(
        "hashtag_windows",
        sa.Column("hashtag", sa.String(140), primary_key=True),
        sa.Column("window_start", _TS, primary_key=True),
        sa.Column("window_size", sa.Integer, primary_key=True),
        sa.Column("n_posts", sa.Integer, nullable=False),
        sa.Column("n_negative", sa.Integer, nullable=False),
        sa.Column("n_neutral", sa.Integer, nullable=False),
        sa.Column("n_positive", sa.Integer, nullable=False),
        sa.Column("mean_score", sa.Float, nullable=False),
    )
    op.create_index("ix_windows_size_start", "hashtag_windows", ["window_size", "window_start"])
    op.create_table(
        "stream_status",
        sa.Column("query_name", sa.String(64), primary_key=True),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("last_batch_id", sa.BigInteger),
        sa.Column("batches_run", sa.Integer, nullable=False),
        sa.Column("last_batch_rows", sa.BigInteger),
        sa.Column("input_rows_per_second", sa.Float),
        sa.Column("processed_rows_per_second", sa.Float),
        sa.Column("last_batch_ms", sa.BigInteger),
        sa.Column("posts_stored_run", sa.BigInteger, nullable=False),
        sa.Column("quarantined_run", sa.BigInteger, nullable=False),
        sa.Column("late_posts_run", sa.BigInteger, nullable=False),
        sa.Column("max_event_time", _TS),
        sa.Column("watermark", _TS),
        sa.Column("last_error", sa.Text),
    )


def downgrade() -> None:
    """Drop what this revision created."""
    op.drop_table("stream_status")
    op.drop_index("ix_windows_size_start", table_name="hashtag_windows")
    op.drop_table("hashtag_windows")
