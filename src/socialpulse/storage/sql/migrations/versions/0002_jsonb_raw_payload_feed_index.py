"""Raw post payloads, JSONB documents on PostgreSQL, and a feed index in the API's sort order.

- ``posts.raw``: the post as its source delivered it (JSONB on PostgreSQL, JSON on SQLite).
- PostgreSQL: the entity arrays become JSONB (binary, indexable, no re-parse on read).
- ``ix_posts_author_created`` becomes ``ix_posts_author_recent`` on
  ``(author_id, created_at DESC, post_id)``, the exact order of a user's feed, so a page is read
  in index order with no sort.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

_ARRAYS = ("hashtags", "mentions", "urls", "emojis")


def _is_postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    """Add the payload column, convert arrays to JSONB (PostgreSQL), swap the feed index."""
    doc = sa.JSON().with_variant(JSONB(), "postgresql")
    op.add_column("posts", sa.Column("raw", doc, nullable=True))
    if _is_postgres():
        for name in _ARRAYS:
            op.alter_column(
                "posts",
                name,
                type_=JSONB(),
                existing_nullable=False,
                postgresql_using=f"{name}::jsonb",
            )
    op.drop_index("ix_posts_author_created", table_name="posts")
    op.create_index(
        "ix_posts_author_recent",
        "posts",
        ["author_id", sa.text("created_at DESC"), "post_id"],
    )


def downgrade() -> None:
    """Back to revision 0001 (drops stored raw payloads)."""
    op.drop_index("ix_posts_author_recent", table_name="posts")
    op.create_index("ix_posts_author_created", "posts", ["author_id", "created_at"])
    if _is_postgres():
        for name in _ARRAYS:
            op.alter_column(
                "posts",
                name,
                type_=sa.JSON(),
                existing_nullable=False,
                postgresql_using=f"{name}::json",
            )
    with op.batch_alter_table("posts") as batch:
        batch.drop_column("raw")
