"""Operations: the webhook outbox (delivery log) and its attempts; indexes for retention and export.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_outbox",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("webhook_id", sa.String(64), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("chat_id", sa.String(36), nullable=True),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_at", sa.Float, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("last_status", sa.Integer, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("delivered_at", sa.Float, nullable=True),
    )
    op.create_index("ix_outbox_due", "webhook_outbox", ["status", "next_at"])
    op.create_index("ix_outbox_tenant_hook", "webhook_outbox", ["tenant_id", "webhook_id", "created_at"])
    op.create_table(
        "webhook_attempts",
        sa.Column("delivery_id", sa.String(36), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("status_code", sa.Integer, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("duration_ms", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("delivery_id", "attempt", name="pk_webhook_attempts"),
    )
    op.create_index("ix_chats_tenant_ended", "chats", ["tenant_id", "ended_at"])
    op.create_index("ix_chats_created", "chats", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_chats_created", "chats")
    op.drop_index("ix_chats_tenant_ended", "chats")
    op.drop_table("webhook_attempts")
    op.drop_index("ix_outbox_tenant_hook", "webhook_outbox")
    op.drop_index("ix_outbox_due", "webhook_outbox")
    op.drop_table("webhook_outbox")
