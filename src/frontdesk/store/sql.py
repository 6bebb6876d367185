"""SQL shared by every store implementation, written once with ``?`` placeholders.

SQLite and PostgreSQL accept the same text for almost everything the store does (``ON CONFLICT ...
DO UPDATE``, ``excluded.``, ``LIMIT ? OFFSET ?``), so the statements live here and the two stores
cannot drift apart. asyncpg wants ``$1..$n`` instead of ``?``: ``numbered`` converts a statement
once (cached), and postgres.py converts its statements at import, so neither store pays per call.
Statements that differ between dialects (transactions, leases, fencing, JSON) stay in their store.

Column orders here and the row builders in ``codec`` belong together: change both or neither.
"""

from __future__ import annotations

import functools

CHAT = (
    "INSERT INTO chats (id, tenant_id, number, state, identity, created_at, ended_at, last_seq, snapshot) "
    "VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET state=excluded.state, "
    "identity=excluded.identity, ended_at=excluded.ended_at, last_seq=excluded.last_seq, "
    "snapshot=excluded.snapshot"
)
EVENT = "INSERT INTO events (chat_id, seq, kind, at, author, data, dedupe_key) VALUES (?,?,?,?,?,?,?)"
AGENT = (
    "INSERT INTO agents (tenant_id, login, snapshot) VALUES (?,?,?) "
    "ON CONFLICT(tenant_id, login) DO UPDATE SET snapshot=excluded.snapshot"
)
COUNTER = (
    "INSERT INTO counters (tenant_id, name, value) VALUES (?,?,?) "
    "ON CONFLICT(tenant_id, name) DO UPDATE SET value=excluded.value"
)
KV_PUT = (
    "INSERT INTO kv (namespace, key, value, expires_at) VALUES (?,?,?,?) "
    "ON CONFLICT(namespace, key) DO UPDATE SET value=excluded.value, expires_at=excluded.expires_at"
)
KV_DEL = "DELETE FROM kv WHERE namespace=? AND key=?"
FILE_COLS = "id, tenant_id, owner, chat_id, name, content_type, size, created_at, path"
FILE = (
    f"INSERT INTO files ({FILE_COLS}) "
    "VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET chat_id=excluded.chat_id"
)
SURVEY = "INSERT INTO surveys (id, tenant_id, chat_id, submitted_at, data) VALUES (?,?,?,?,?)"
CRM_CLEAR = "DELETE FROM crm_records WHERE tenant_id=?"
CRM_DELETE = "DELETE FROM crm_records WHERE tenant_id=? AND id=?"
CRM_PUT = (
    "INSERT INTO crm_records (tenant_id, id, collection, data) VALUES (?,?,?,?) "
    "ON CONFLICT(tenant_id, id) DO UPDATE SET collection=excluded.collection, data=excluded.data"
)
OUTBOX_COLS = (
    "id, tenant_id, webhook_id, event, payload, created_at, chat_id, attempts, next_at, status, "
    "last_status, last_error, delivered_at"
)
OUTBOX = (
    f"INSERT INTO webhook_outbox ({OUTBOX_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) "
    "ON CONFLICT(id) DO UPDATE SET attempts=excluded.attempts, next_at=excluded.next_at, "
    "status=excluded.status, last_status=excluded.last_status, last_error=excluded.last_error, "
    "delivered_at=excluded.delivered_at"
)
ATTEMPT_COLS = "delivery_id, attempt, at, status_code, error, duration_ms"
ATTEMPT = (
    f"INSERT INTO webhook_attempts ({ATTEMPT_COLS}) "
    "VALUES (?,?,?,?,?,?) ON CONFLICT(delivery_id, attempt) DO UPDATE SET at=excluded.at, "
    "status_code=excluded.status_code, error=excluded.error, duration_ms=excluded.duration_ms"
)
# A purged chat takes its attempts (through its outbox rows, so before them), events, files,
# surveys and outbox rows with it; each statement takes the chat id as its only parameter.
PURGE_CHAT = (
    "DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM webhook_outbox WHERE chat_id=?)",
    "DELETE FROM events WHERE chat_id=?",
    "DELETE FROM file_blobs WHERE id IN (SELECT id FROM files WHERE chat_id=?)",
    "DELETE FROM files WHERE chat_id=?",
    "DELETE FROM surveys WHERE chat_id=?",
    "DELETE FROM webhook_outbox WHERE chat_id=?",
    "DELETE FROM chats WHERE id=?",
)
PURGE_FILE = "DELETE FROM files WHERE id=?"
PURGE_BLOB = "DELETE FROM file_blobs WHERE id=?"
# File bytes kept in the database (server.files.kind: store); written once, never changed.
BLOB_PUT = "INSERT INTO file_blobs (id, data) VALUES (?,?) ON CONFLICT(id) DO NOTHING"
BLOB_GET = "SELECT data FROM file_blobs WHERE id=?"

# -- reads ----------------------------------------------------------------------------------------
LEASE_GET = "SELECT name, holder, url, epoch, expires_at FROM leases WHERE name=?"
ALL_CHATS = "SELECT snapshot FROM chats ORDER BY created_at"
LIVE_CHATS = "SELECT snapshot FROM chats WHERE state != 'ended' OR ended_at > ? ORDER BY created_at"
CHAT_SNAPSHOT = "SELECT snapshot FROM chats WHERE id=?"
EVENTS_SINCE = "SELECT seq, kind, at, author, data FROM events WHERE chat_id=? AND seq>? ORDER BY seq LIMIT ?"
DEDUPE_KEYS = "SELECT dedupe_key, seq FROM events WHERE chat_id=? AND dedupe_key IS NOT NULL"
AGENTS = "SELECT snapshot FROM agents"
COUNTERS = "SELECT tenant_id, name, value FROM counters"
KV_GET = "SELECT value FROM kv WHERE namespace=? AND key=? AND (expires_at IS NULL OR expires_at>?)"
KV_LIST = "SELECT key, value FROM kv WHERE namespace=? AND (expires_at IS NULL OR expires_at>?)"
FILE_GET = f"SELECT {FILE_COLS} FROM files WHERE id=?"
SURVEYS = (
    "SELECT data FROM surveys WHERE tenant_id=? AND submitted_at>=? AND submitted_at<? "
    "ORDER BY submitted_at DESC"
)
OUTBOX_DUE = (
    f"SELECT {OUTBOX_COLS} FROM webhook_outbox WHERE status='pending' AND next_at<=? "
    "ORDER BY next_at, created_at LIMIT ?"
)
_TENANT = "tenant_id=?"
_TENANT_HOOK = "tenant_id=? AND webhook_id=?"
OUTBOX_COUNT = f"SELECT COUNT(*) FROM webhook_outbox WHERE {_TENANT}"
OUTBOX_COUNT_HOOK = f"SELECT COUNT(*) FROM webhook_outbox WHERE {_TENANT_HOOK}"
_PAGE = "ORDER BY created_at DESC, id LIMIT ? OFFSET ?"
OUTBOX_PAGE = f"SELECT {OUTBOX_COLS} FROM webhook_outbox WHERE {_TENANT} {_PAGE}"
OUTBOX_PAGE_HOOK = f"SELECT {OUTBOX_COLS} FROM webhook_outbox WHERE {_TENANT_HOOK} {_PAGE}"
OUTBOX_GET = f"SELECT {OUTBOX_COLS} FROM webhook_outbox WHERE id=?"
ATTEMPTS = f"SELECT {ATTEMPT_COLS} FROM webhook_attempts WHERE delivery_id=? ORDER BY attempt"
ENDED_CHATS_BEFORE = (
    "SELECT id FROM chats WHERE tenant_id=? AND state='ended' AND ended_at<? ORDER BY ended_at LIMIT ?"
)
FILES_BEFORE = f"SELECT {FILE_COLS} FROM files WHERE tenant_id=? AND created_at<? ORDER BY created_at LIMIT ?"
CHAT_FILES = f"SELECT {FILE_COLS} FROM files WHERE chat_id=?"
CHATS_BETWEEN = "SELECT snapshot FROM chats WHERE created_at>=? AND created_at<? AND id>? ORDER BY id LIMIT ?"
COUNT_CHATS_BETWEEN = "SELECT COUNT(*) FROM chats WHERE created_at>=? AND created_at<?"
CRM_ROWS = "SELECT id, collection, data FROM crm_records WHERE tenant_id=?"
PING = "SELECT 1"


@functools.cache
def numbered(statement: str) -> str:
    """``?`` placeholders as ``$1..$n`` (asyncpg's only style).

    Plain substitution is enough because no shared statement has a ``?`` inside a literal; a
    statement that needs one must not come through here."""
    parts = statement.split("?")
    out = [parts[0]]
    for n, part in enumerate(parts[1:], start=1):
        out.append(f"${n}{part}")
    return "".join(out)
