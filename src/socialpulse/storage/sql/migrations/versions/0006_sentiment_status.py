"""How each post's sentiment came about (``posts.sentiment_status``).

``ok`` (the configured backend labelled it), ``fallback`` (a remote backend was down and the
fallback backend labelled it) or ``unsupported_language`` (no backend for the post's ``lang``;
the label is a neutral placeholder). Rows stored before this revision were labelled by the
configured backend, hence the ``ok`` default. Nullable because the PostgreSQL bulk upsert stages
rows in a ``LIKE posts`` table, which copies NOT NULL but not defaults: a writer whose frame
lacks the column must fall through to the default, not fail.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add ``posts.sentiment_status``."""
    with op.batch_alter_table("posts") as batch:
        batch.add_column(
            sa.Column("sentiment_status", sa.String(32), nullable=True, server_default="ok")
        )


def downgrade() -> None:
    """Drop ``posts.sentiment_status``."""
    with op.batch_alter_table("posts") as batch:
        batch.drop_column("sentiment_status")
