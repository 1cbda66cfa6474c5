"""The walking skeleton's schema (what ``metadata.create_all`` made before migrations existed).

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the five tables and their indexes."""
    op.create_table(
        "posts",
        sa.Column("post_id", sa.String(64), primary_key=True),
        sa.Column("author_id", sa.String(64), nullable=False),
        sa.Column("author_handle", sa.String(64)),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("text_clean", sa.Text, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("lang", sa.String(16)),
        sa.Column("hashtags", sa.JSON, nullable=False),
        sa.Column("mentions", sa.JSON, nullable=False),
        sa.Column("urls", sa.JSON, nullable=False),
        sa.Column("emojis", sa.JSON, nullable=False),
        sa.Column("reply_to_id", sa.String(64)),
        sa.Column("quote_of_id", sa.String(64)),
        sa.Column("retweet_of_id", sa.String(64)),
        sa.Column("like_count", sa.BigInteger, nullable=False),
        sa.Column("retweet_count", sa.BigInteger, nullable=False),
        sa.Column("reply_count", sa.BigInteger, nullable=False),
        sa.Column("quote_count", sa.BigInteger, nullable=False),
        sa.Column("source", sa.String(64)),
        sa.Column("sentiment_label", sa.String(16), nullable=False),
        sa.Column("sentiment_score", sa.Float, nullable=False),
        sa.Column("prob_negative", sa.Float, nullable=False),
        sa.Column("prob_neutral", sa.Float, nullable=False),
        sa.Column("prob_positive", sa.Float, nullable=False),
        sa.Column("sentiment_model", sa.String(128), nullable=False),
        sa.Column("sentiment_model_version", sa.String(64), nullable=False),
    )
    op.create_index("ix_posts_author_created", "posts", ["author_id", "created_at"])
    op.create_index("ix_posts_day_label", "posts", ["day", "sentiment_label"])
    op.create_table(
        "quarantine",
        sa.Column("quarantine_id", sa.String(64), primary_key=True),
        sa.Column("source_file", sa.Text),
        sa.Column("raw", sa.Text),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("occurrences", sa.Integer, nullable=False),
    )
    op.create_table(
        "hashtag_trends",
        sa.Column("hashtag", sa.String(140), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("n_posts", sa.Integer, nullable=False),
        sa.Column("n_negative", sa.Integer, nullable=False),
        sa.Column("n_neutral", sa.Integer, nullable=False),
        sa.Column("n_positive", sa.Integer, nullable=False),
        sa.Column("mean_score", sa.Float, nullable=False),
    )
    op.create_index("ix_trends_day", "hashtag_trends", ["day"])
    op.create_table(
        "user_profiles",
        sa.Column("author_id", sa.String(64), primary_key=True),
        sa.Column("author_handle", sa.String(64)),
        sa.Column("n_posts", sa.Integer, nullable=False),
        sa.Column("n_negative", sa.Integer, nullable=False),
        sa.Column("n_neutral", sa.Integer, nullable=False),
        sa.Column("n_positive", sa.Integer, nullable=False),
        sa.Column("mean_score", sa.Float, nullable=False),
        sa.Column("first_post_at", _TS, nullable=False),
        sa.Column("last_post_at", _TS, nullable=False),
    )
    op.create_table(
        "recommendations",
        sa.Column("user_id", sa.String(64), primary_key=True),
        sa.Column("rank", sa.Integer, primary_key=True),
        sa.Column("post_id", sa.String(64), nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("algorithm", sa.String(32), nullable=False),
        sa.Column("reason_text", sa.Text),
        sa.Column("generated_at", _TS, nullable=False),
    )


def downgrade() -> None:
    """Drop everything revision 0001 created."""
    for name in ("recommendations", "user_profiles", "hashtag_trends", "quarantine", "posts"):
        op.drop_table(name)
