"""A machine-readable reason kind per recommended item (``recommendations.reason_code``).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add ``recommendations.reason_code``."""
    with op.batch_alter_table("recommendations") as batch:
        batch.add_column(sa.Column("reason_code", sa.String(32), nullable=True))


def downgrade() -> None:
    """Drop what this revision added."""
    with op.batch_alter_table("recommendations") as batch:
        batch.drop_column("reason_code")
