"""One schema for every store implementation (SQLAlchemy Core), migrated by alembic."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Float,
    Index,
    Integer,
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
