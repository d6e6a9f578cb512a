"""reader control: cadence, alerts, quiet hours and filters per subscription; alert bookkeeping

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(
            sa.Column("chat_kind", sa.String(length=16), server_default="private", nullable=False)
        )
        batch.add_column(sa.Column("cadence", sa.String(length=8), server_default="daily", nullable=False))
        batch.add_column(sa.Column("weekday", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("alerts", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column("quiet_start", sa.String(length=5), nullable=True))
        batch.add_column(sa.Column("quiet_end", sa.String(length=5), nullable=True))
        batch.add_column(sa.Column("include_terms", sa.JSON(), server_default="[]", nullable=False))
        batch.add_column(sa.Column("exclude_terms", sa.JSON(), server_default="[]", nullable=False))
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("kind", sa.String(length=16), server_default="brief", nullable=False))
    op.create_table(
        "story_alerts",
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.String(length=64), nullable=False),
        sa.Column("at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("briefs", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["story_id"], ["stories.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("story_id"),
    )
    op.create_index("ix_story_alerts_at", "story_alerts", ["at"])
    op.create_table(
        "subscription_alerts",
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("local_day", sa.String(length=10), nullable=False),
        sa.Column("release_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["subscription_id"], ["subscriptions.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["story_id"], ["stories.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("subscription_id", "story_id"),
    )
    op.create_index("ix_subscription_alerts_release_at", "subscription_alerts", ["release_at"])
    op.create_index("ix_subscription_alerts_day", "subscription_alerts", ["subscription_id", "local_day"])


def downgrade() -> None:
    op.drop_table("subscription_alerts")
    op.drop_index("ix_story_alerts_at", table_name="story_alerts")
    op.drop_table("story_alerts")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("kind")
    with op.batch_alter_table("subscriptions") as batch:
        for name in (
            "exclude_terms", "include_terms", "quiet_end", "quiet_start", "alerts", "weekday", "cadence",
            "chat_kind",
        ):  # fmt: skip
            batch.drop_column(name)
