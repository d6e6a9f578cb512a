"""the rule that decided each source's and article's character encoding (issue 16)

Revision ID: 0007
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sources", sa.Column("charset", sa.String(length=500), nullable=True))
    op.add_column("articles", sa.Column("charset", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("charset")
    with op.batch_alter_table("sources") as batch:
        batch.drop_column("charset")
