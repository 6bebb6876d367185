"""Initial schema: chats as event logs, agents, counters, key-value state, files, surveys.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chats",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("identity", sa.String(400), nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("ended_at", sa.Float, nullable=True),
        sa.Column("last_seq", sa.Integer, nullable=False),
        sa.Column("snapshot", sa.Text, nullable=False),
        sa.UniqueConstraint("tenant_id", "number", name="uq_chats_tenant_number"),
    )
    op.create_index("ix_chats_state", "chats", ["state"])
    op.create_index("ix_chats_identity", "chats", ["tenant_id", "identity"])
    op.create_table(
        "events",
        sa.Column("chat_id", sa.String(36), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("author", sa.Text, nullable=True),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("dedupe_key", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("chat_id", "seq", name="pk_events"),
        sa.UniqueConstraint("chat_id", "dedupe_key", name="uq_events_dedupe"),
    )
    op.create_table(
        "agents",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("login", sa.String(64), nullable=False),
        sa.Column("snapshot", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "login", name="pk_agents"),
    )
    op.create_table(
        "counters",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "name", name="pk_counters"),
    )
    op.create_table(
        "kv",
        sa.Column("namespace", sa.String(64), nullable=False),
        sa.Column("key", sa.String(400), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=True),
        sa.PrimaryKeyConstraint("namespace", "key", name="pk_kv"),
    )
    op.create_table(
        "files",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(400), nullable=False),
        sa.Column("chat_id", sa.String(36), nullable=True),
        sa.Column("name", sa.String(400), nullable=False),
        sa.Column("content_type", sa.String(200), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("path", sa.String(400), nullable=False),
    )
    op.create_index("ix_files_tenant_created", "files", ["tenant_id", "created_at"])
    op.create_table(
        "surveys",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("chat_id", sa.String(36), nullable=True),
        sa.Column("submitted_at", sa.Float, nullable=False),
        sa.Column("data", sa.Text, nullable=False),
    )
    op.create_index("ix_surveys_tenant_time", "surveys", ["tenant_id", "submitted_at"])


def downgrade() -> None:
    for name in ("surveys", "files", "kv", "counters", "agents", "events", "chats"):
        op.drop_table(name)
