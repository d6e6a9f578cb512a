"""sources remember how many entries their last read offered and how many FEED_MAX_ITEMS left out;
passages waiting for their vector are queued for the deferred embedding job

Revision ID: 0012
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0012"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.add_column(sa.Column("last_items", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("last_cut", sa.Integer(), server_default="0", nullable=False))
    op.create_table(
        "embed_queue",
        sa.Column("passage_id", sa.Integer(), nullable=False),
        sa.Column("queued_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["passage_id"], ["passages.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("passage_id"),
    )


def downgrade() -> None:
    op.drop_table("embed_queue")
    with op.batch_alter_table("sources") as batch:
        batch.drop_column("last_cut")
        batch.drop_column("last_items")
