"""sources record the implausible dates they gave (future or before 1990), set aside as unknown

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.add_column(sa.Column("date_issues", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("last_date_issue", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("last_date_issue_at", storage.models.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.drop_column("last_date_issue_at")
        batch.drop_column("last_date_issue")
        batch.drop_column("date_issues")
