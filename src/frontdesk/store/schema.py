"""One schema for every store implementation (SQLAlchemy Core), migrated by alembic."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

chats = Table(
    "chats",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("number", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("identity", String(400), nullable=True),
    Column("created_at", Float, nullable=False),
    Column("ended_at", Float, nullable=True),
    Column("last_seq", Integer, nullable=False),
    Column("snapshot", Text, nullable=False),
    UniqueConstraint("tenant_id", "number", name="uq_chats_tenant_number"),
    Index("ix_chats_state", "state"),
    Index("ix_chats_identity", "tenant_id", "identity"),
    Index("ix_chats_tenant_ended", "tenant_id", "ended_at"),
    Index("ix_chats_created", "created_at"),
)

events = Table(
    "events",
    metadata,
    Column("chat_id", String(36), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("at", Float, nullable=False),
    Column("author", Text, nullable=True),
    Column("data", Text, nullable=False),
    Column("dedupe_key", String(200), nullable=True),
    PrimaryKeyConstraint("chat_id", "seq", name="pk_events"),
    UniqueConstraint("chat_id", "dedupe_key", name="uq_events_dedupe"),
)

agents = Table(
    "agents",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("login", String(64), nullable=False),
    Column("snapshot", Text, nullable=False),
    PrimaryKeyConstraint("tenant_id", "login", name="pk_agents"),
)

counters = Table(
    "counters",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("name", String(64), nullable=False),
    Column("value", Integer, nullable=False),
    PrimaryKeyConstraint("tenant_id", "name", name="pk_counters"),
)

kv = Table(
    "kv",
    metadata,
    Column("namespace", String(64), nullable=False),
    Column("key", String(400), nullable=False),
    Column("value", Text, nullable=False),
    Column("expires_at", Float, nullable=True),
    PrimaryKeyConstraint("namespace", "key", name="pk_kv"),
)

files = Table(
    "files",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("owner", String(400), nullable=False),
    Column("chat_id", String(36), nullable=True),
    Column("name", String(400), nullable=False),
    Column("content_type", String(200), nullable=False),
    Column("size", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("path", String(400), nullable=False),
    Index("ix_files_tenant_created", "tenant_id", "created_at"),
)

surveys = Table(
    "surveys",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("chat_id", String(36), nullable=True),
    Column("submitted_at", Float, nullable=False),
    Column("data", Text, nullable=False),
    Index("ix_surveys_tenant_time", "tenant_id", "submitted_at"),
)

webhook_outbox = Table(
    "webhook_outbox",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("webhook_id", String(64), nullable=False),
    Column("event", String(32), nullable=False),
    Column("chat_id", String(36), nullable=True),
    Column("payload", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_at", Float, nullable=False),
    Column("status", String(16), nullable=False),
    Column("last_status", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("delivered_at", Float, nullable=True),
    Index("ix_outbox_due", "status", "next_at"),
    Index("ix_outbox_tenant_hook", "tenant_id", "webhook_id", "created_at"),
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("delivery_id", String(36), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("at", Float, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("error", Text, nullable=True),
    Column("duration_ms", Integer, nullable=False),
    PrimaryKeyConstraint("delivery_id", "attempt", name="pk_webhook_attempts"),
)

crm_records = Table(
    "crm_records",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("id", String(120), nullable=False),
    Column("collection", String(32), nullable=False),
    Column("data", Text, nullable=False),
    PrimaryKeyConstraint("tenant_id", "id", name="pk_crm_records"),
    Index("ix_crm_records_collection", "tenant_id", "collection"),
)

leases = Table(
    "leases",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(200), nullable=False),
    Column("url", String(400), nullable=False),
    Column("epoch", Integer, nullable=False),
    Column("expires_at", Float, nullable=False),
)

file_blobs = Table(
    "file_blobs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("data", LargeBinary, nullable=False),
)
