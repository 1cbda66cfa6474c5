"""The API's additions: the ``api_keys`` table and the newest-first post search index.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create ``api_keys`` and ``ix_posts_created_id``."""
    op.create_table(
        "api_keys",
        # The public half of a key ("sp_<key_id>_<secret>"): lookups never touch the secret.
        sa.Column("key_id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("key_hash", sa.String(128), nullable=False),
        sa.Column("scopes", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
    )
    # Serves the API's newest-first post search and its keyset cursor (created_at, post_id).
    op.create_index("ix_posts_created_id", "posts", ["created_at", "post_id"])


def downgrade() -> None:
    """Drop what this revision created."""
    op.drop_index("ix_posts_created_id", table_name="posts")
    op.drop_table("api_keys")
