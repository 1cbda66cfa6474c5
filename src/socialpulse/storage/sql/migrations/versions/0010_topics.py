"""Topics: each post's topic, the topic models' topics and daily sentiment per topic.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None

_DOC = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    """Add the posts' topic columns, ``topics`` and ``topic_trends``."""
    with op.batch_alter_table("posts") as batch:
        batch.add_column(sa.Column("topic_id", sa.Integer, nullable=True))
        batch.add_column(sa.Column("topic_weight", sa.Float, nullable=True))
        batch.add_column(sa.Column("topic_model_version", sa.String(64), nullable=True))
    op.create_index("ix_posts_topic", "posts", ["topic_model_version", "topic_id"])
    op.create_table(
        "topics",
        sa.Column("topic_model_version", sa.String(64), primary_key=True),
        sa.Column("topic_id", sa.Integer, primary_key=True),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("words", _DOC, nullable=False),
        sa.Column("word_weights", _DOC, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "topic_trends",
        sa.Column("topic_model_version", sa.String(64), primary_key=True),
        sa.Column("topic_id", sa.Integer, primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("n_posts", sa.Integer, nullable=False),
        sa.Column("n_negative", sa.Integer, nullable=False),
        sa.Column("n_neutral", sa.Integer, nullable=False),
        sa.Column("n_positive", sa.Integer, nullable=False),
        sa.Column("mean_score", sa.Float, nullable=False),
    )
    op.create_index("ix_topic_trends_day", "topic_trends", ["day"])


def downgrade() -> None:
    """Drop what this revision created."""
    op.drop_index("ix_topic_trends_day", table_name="topic_trends")
    op.drop_table("topic_trends")
    op.drop_table("topics")
    op.drop_index("ix_posts_topic", table_name="posts")
    with op.batch_alter_table("posts") as batch:
        batch.drop_column("topic_model_version")
        batch.drop_column("topic_weight")
        batch.drop_column("topic_id")
