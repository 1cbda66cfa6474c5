"""Daily sentiment per mentioned account (``mention_trends``): how a brand is talked about.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create ``mention_trends``."""
    op.create_table(
        "mention_trends",
        sa.Column("mention", sa.String(64), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("n_posts", sa.Integer, nullable=False),
        sa.Column("n_negative", sa.Integer, nullable=False),
        sa.Column("n_neutral", sa.Integer, nullable=False),
        sa.Column("n_positive", sa.Integer, nullable=False),
        sa.Column("mean_score", sa.Float, nullable=False),
    )


def downgrade() -> None:
    """Drop what this revision created."""
    op.drop_table("mention_trends")
