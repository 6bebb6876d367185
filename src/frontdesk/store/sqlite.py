"""The embedded store: SQLite in WAL mode with one writer thread doing group commit.

One connection writes (SQLite allows one writer anyway); it drains a queue of write intents and
commits up to ``batch_max`` of them per transaction, each inside its own savepoint so that one bad
intent fails alone. Readers use their own connection. Measured on this class of machine, batching is
what turns ~0.14 ms per transaction into a few microseconds per message.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from frontdesk.domain.events import Event
from frontdesk.domain.model import AgentRuntime, Chat, FileRecord, SurveyRecord
from frontdesk.store import codec, migrate
from frontdesk.store.protocol import DeliveryAttempt, OutboxRow, Purge, WriteIntent

_SQL_CHAT = (
    "INSERT INTO chats (id, tenant_id, number, state, identity, created_at, ended_at, last_seq, snapshot) "
    "VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET state=excluded.state, "
    "identity=excluded.identity, ended_at=excluded.ended_at, last_seq=excluded.last_seq, "
    "snapshot=excluded.snapshot"
)
_SQL_EVENT = "INSERT INTO events (chat_id, seq, kind, at, author, data, dedupe_key) VALUES (?,?,?,?,?,?,?)"
_SQL_AGENT = (
    "INSERT INTO agents (tenant_id, login, snapshot) VALUES (?,?,?) "
    "ON CONFLICT(tenant_id, login) DO UPDATE SET snapshot=excluded.snapshot"
)
_SQL_COUNTER = (
    "INSERT INTO counters (tenant_id, name, value) VALUES (?,?,?) "
    "ON CONFLICT(tenant_id, name) DO UPDATE SET value=excluded.value"
)
_SQL_KV_PUT = (
    "INSERT INTO kv (namespace, key, value, expires_at) VALUES (?,?,?,?) "
    "ON CONFLICT(namespace, key) DO UPDATE SET value=excluded.value, expires_at=excluded.expires_at"
)
_SQL_KV_DEL = "DELETE FROM kv WHERE namespace=? AND key=?"
_SQL_FILE = (
    "INSERT INTO files (id, tenant_id, owner, chat_id, name, content_type, size, created_at, path) "
    "VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET chat_id=excluded.chat_id"
)
_SQL_SURVEY = "INSERT INTO surveys (id, tenant_id, chat_id, submitted_at, data) VALUES (?,?,?,?,?)"
_SQL_CRM_PUT = (
    "INSERT INTO crm_records (tenant_id, id, collection, data) VALUES (?,?,?,?) "
    "ON CONFLICT(tenant_id, id) DO UPDATE SET collection=excluded.collection, data=excluded.data"
)
_OUTBOX_COLS = (
    "id, tenant_id, webhook_id, event, payload, created_at, chat_id, attempts, next_at, status, "
    "last_status, last_error, delivered_at"
)
_SQL_OUTBOX = (
    f"INSERT INTO webhook_outbox ({_OUTBOX_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) "
    "ON CONFLICT(id) DO UPDATE SET attempts=excluded.attempts, next_at=excluded.next_at, "
    "status=excluded.status, last_status=excluded.last_status, last_error=excluded.last_error, "
    "delivered_at=excluded.delivered_at"
)
_SQL_ATTEMPT = (
    "INSERT OR REPLACE INTO webhook_attempts (delivery_id, attempt, at, status_code, error, duration_ms) "
    "VALUES (?,?,?,?,?,?)"
)


def _outbox_row(r: OutboxRow) -> tuple[Any, ...]:
    return (
        r.id,
        r.tenant_id,
        r.webhook_id,
        r.event,
        r.payload,
        r.created_at,
        r.chat_id,
        r.attempts,
        r.next_at,
        r.status,
        r.last_status,
        r.last_error,
        r.delivered_at,
    )


def _purge(cur: sqlite3.Cursor, purge: Purge) -> None:
    for chat_id in purge.chat_ids:
        cur.execute(
            "DELETE FROM webhook_attempts WHERE delivery_id IN "
            "(SELECT id FROM webhook_outbox WHERE chat_id=?)",
            (chat_id,),
        )
        for table in ("events", "files", "surveys", "webhook_outbox"):
            cur.execute(f"DELETE FROM {table} WHERE chat_id=?", (chat_id,))
        cur.execute("DELETE FROM chats WHERE id=?", (chat_id,))
    for file_id in purge.file_ids:
        cur.execute("DELETE FROM files WHERE id=?", (file_id,))


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=5000")
    return conn


def _apply(cur: sqlite3.Cursor, intent: WriteIntent) -> None:
    for chat in intent.chats:
        cur.execute(
            _SQL_CHAT,
            (
                chat.id,
                chat.tenant_id,
                chat.number,
                chat.state,
                chat.identity,
                chat.created_at,
                chat.ended_at,
                chat.last_seq,
                codec.chat_snapshot(chat),
            ),
        )
    if intent.events:
        cur.executemany(_SQL_EVENT, [codec.event_row(cid, ev, key) for cid, ev, key in intent.events])
    for agent in intent.agents:
        cur.execute(_SQL_AGENT, (agent.tenant_id, agent.login, codec.agent_snapshot(agent)))
    if intent.counters:
        cur.executemany(_SQL_COUNTER, intent.counters)
    if intent.kv_put:
        cur.executemany(_SQL_KV_PUT, intent.kv_put)
    if intent.kv_delete:
        cur.executemany(_SQL_KV_DEL, intent.kv_delete)
    for f in intent.files:
        cur.execute(
            _SQL_FILE,
            (f.id, f.tenant_id, f.owner, f.chat_id, f.name, f.content_type, f.size, f.created_at, f.path),
        )
    for s in intent.surveys:
        cur.execute(_SQL_SURVEY, (s.id, s.tenant_id, s.chat_id, s.submitted_at, codec.encode(s)))
    for tenant_id in intent.crm_clear:
        cur.execute("DELETE FROM crm_records WHERE tenant_id=?", (tenant_id,))
    if intent.crm_delete:
        cur.executemany("DELETE FROM crm_records WHERE tenant_id=? AND id=?", intent.crm_delete)
    if intent.crm_put:
        cur.executemany(_SQL_CRM_PUT, intent.crm_put)
    if intent.outbox:
        cur.executemany(_SQL_OUTBOX, [_outbox_row(r) for r in intent.outbox])
    if intent.attempts:
        cur.executemany(
            _SQL_ATTEMPT,
            [
                (a.delivery_id, a.attempt, a.at, a.status_code, a.error, a.duration_ms)
                for a in intent.attempts
            ],
        )
    for purge in intent.purges:
        _purge(cur, purge)


class SqliteStore:
    """Store implementation over one SQLite file."""

    def __init__(self, path: Path, *, batch_max: int = 64, auto_migrate: bool = True) -> None:
        self.path = path
        self.batch_max = batch_max
        self.auto_migrate = auto_migrate
        self._queue: queue.SimpleQueue[tuple[WriteIntent, asyncio.Future[None]] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._reader: sqlite3.Connection | None = None
        self._reader_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.commits = 0
        self.intents = 0
        self.commit_seconds = 0.0
        # Called from the writer thread after each group commit with (seconds, intents in the batch).
        self.on_commit: Callable[[float, int], None] | None = None

    @property
    def url(self) -> str:
        return f"sqlite:///{self.path}"

    async def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.auto_migrate:
            await asyncio.to_thread(migrate.upgrade, self.url)
        elif not await asyncio.to_thread(migrate.is_current, self.url):
            raise RuntimeError("the database schema is out of date: run `frontdesk migrate`")
        self._loop = asyncio.get_running_loop()
        self._reader = _connect(str(self.path))
        self._thread = threading.Thread(target=self._writer, name="frontdesk-sqlite-writer", daemon=True)
        self._thread.start()

    async def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            await asyncio.to_thread(self._thread.join)
            self._thread = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    async def write(self, intent: WriteIntent) -> None:
        if self._loop is None:
            raise RuntimeError("store not started")
        fut: asyncio.Future[None] = self._loop.create_future()
        self._queue.put((intent, fut))
        await fut

    # -- the writer thread -------------------------------------------------------------------
    def _writer(self) -> None:
        conn = _connect(str(self.path))
        cur = conn.cursor()
        stop = False
        while not stop:
            item = self._queue.get()
            if item is None:
                break
            batch = [item]
            while len(batch) < self.batch_max:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                batch.append(nxt)
            started = time.perf_counter()
            results: list[tuple[asyncio.Future[None], BaseException | None]] = []
            try:
                cur.execute("BEGIN IMMEDIATE")
                for intent, fut in batch:
                    if len(batch) == 1:
                        _apply(cur, intent)
                        results.append((fut, None))
                        continue
                    cur.execute("SAVEPOINT i")
                    try:
                        _apply(cur, intent)
                        cur.execute("RELEASE i")
                        results.append((fut, None))
                    except sqlite3.Error as exc:
                        cur.execute("ROLLBACK TO i")
                        cur.execute("RELEASE i")
                        results.append((fut, exc))
                cur.execute("COMMIT")
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.rollback()
                results = [(fut, exc) for _, fut in batch]
            elapsed = time.perf_counter() - started
            self.commit_seconds += elapsed
            self.commits += 1
            self.intents += len(batch)
            if self.on_commit is not None:
                self.on_commit(elapsed, len(batch))
            assert self._loop is not None
            self._loop.call_soon_threadsafe(_resolve, results)
        conn.close()

    # -- reads -------------------------------------------------------------------------------
    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        assert self._reader is not None
        with self._reader_lock:
            return self._reader.execute(sql, params).fetchall()

    async def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return await asyncio.to_thread(self._read, sql, params)

    async def load_chats(self, *, live_only: bool) -> list[Chat]:
        sql = "SELECT snapshot FROM chats"
        if live_only:
            sql += " WHERE state != 'ended' OR ended_at > ?"
            rows = await self._query(sql + " ORDER BY created_at", (time.time() - 86400,))
        else:
            rows = await self._query(sql + " ORDER BY created_at")
        return [codec.chat_from_snapshot(r[0]) for r in rows]

    async def load_chat(self, chat_id: str) -> Chat | None:
        rows = await self._query("SELECT snapshot FROM chats WHERE id=?", (chat_id,))
        return codec.chat_from_snapshot(rows[0][0]) if rows else None

    async def read_events(self, chat_id: str, since: int, limit: int) -> list[Event]:
        rows = await self._query(
            "SELECT seq, kind, at, author, data FROM events WHERE chat_id=? AND seq>? ORDER BY seq LIMIT ?",
            (chat_id, since, limit),
        )
        return [codec.event_from_row(*r) for r in rows]

    async def dedupe_keys(self, chat_id: str) -> dict[str, int]:
        rows = await self._query(
            "SELECT dedupe_key, seq FROM events WHERE chat_id=? AND dedupe_key IS NOT NULL", (chat_id,)
        )
        return {r[0]: r[1] for r in rows}

    async def load_agents(self) -> list[AgentRuntime]:
        rows = await self._query("SELECT snapshot FROM agents")
        return [codec.agent_from_snapshot(r[0]) for r in rows]

    async def load_counters(self) -> dict[tuple[str, str], int]:
        rows = await self._query("SELECT tenant_id, name, value FROM counters")
        return {(r[0], r[1]): r[2] for r in rows}

    async def kv_get(self, namespace: str, key: str) -> str | None:
        rows = await self._query(
            "SELECT value FROM kv WHERE namespace=? AND key=? AND (expires_at IS NULL OR expires_at>?)",
            (namespace, key, time.time()),
        )
        return str(rows[0][0]) if rows else None

    async def kv_list(self, namespace: str) -> dict[str, str]:
        rows = await self._query(
            "SELECT key, value FROM kv WHERE namespace=? AND (expires_at IS NULL OR expires_at>?)",
            (namespace, time.time()),
        )
        return {r[0]: r[1] for r in rows}

    async def get_file(self, file_id: str) -> FileRecord | None:
        rows = await self._query(
            "SELECT id, tenant_id, owner, chat_id, name, content_type, size, created_at, path "
            "FROM files WHERE id=?",
            (file_id,),
        )
        return codec.file_from_row(rows[0]) if rows else None

    async def list_surveys(self, tenant_id: str, since: float, until: float) -> list[SurveyRecord]:
        rows = await self._query(
            "SELECT data FROM surveys WHERE tenant_id=? AND submitted_at>=? AND submitted_at<? "
            "ORDER BY submitted_at DESC",
            (tenant_id, since, until),
        )
        return [codec.survey_from_row(r[0]) for r in rows]

    # -- operations ----------------------------------------------------------------------------
    async def outbox_due(self, now: float, limit: int) -> list[OutboxRow]:
        rows = await self._query(
            f"SELECT {_OUTBOX_COLS} FROM webhook_outbox WHERE status='pending' AND next_at<=? "
            "ORDER BY next_at, created_at LIMIT ?",
            (now, limit),
        )
        return [OutboxRow(*r) for r in rows]

    async def outbox_list(
        self, tenant_id: str, webhook_id: str | None, limit: int, offset: int
    ) -> tuple[list[OutboxRow], int]:
        where = "tenant_id=?" + (" AND webhook_id=?" if webhook_id is not None else "")
        params: tuple[Any, ...] = (tenant_id, webhook_id) if webhook_id is not None else (tenant_id,)
        total = (await self._query(f"SELECT COUNT(*) FROM webhook_outbox WHERE {where}", params))[0][0]
        rows = await self._query(
            f"SELECT {_OUTBOX_COLS} FROM webhook_outbox WHERE {where} "
            "ORDER BY created_at DESC, id LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return [OutboxRow(*r) for r in rows], int(total)

    async def outbox_get(self, delivery_id: str) -> OutboxRow | None:
        rows = await self._query(f"SELECT {_OUTBOX_COLS} FROM webhook_outbox WHERE id=?", (delivery_id,))
        return OutboxRow(*rows[0]) if rows else None

    async def delivery_attempts(self, delivery_id: str) -> list[DeliveryAttempt]:
        rows = await self._query(
            "SELECT delivery_id, attempt, at, status_code, error, duration_ms FROM webhook_attempts "
            "WHERE delivery_id=? ORDER BY attempt",
            (delivery_id,),
        )
        return [DeliveryAttempt(*r) for r in rows]

    async def ended_chats_before(self, tenant_id: str, before: float, limit: int) -> list[str]:
        rows = await self._query(
            "SELECT id FROM chats WHERE tenant_id=? AND state='ended' AND ended_at<? "
            "ORDER BY ended_at LIMIT ?",
            (tenant_id, before, limit),
        )
        return [str(r[0]) for r in rows]

    async def files_before(self, tenant_id: str, before: float, limit: int) -> list[FileRecord]:
        rows = await self._query(
            "SELECT id, tenant_id, owner, chat_id, name, content_type, size, created_at, path "
            "FROM files WHERE tenant_id=? AND created_at<? ORDER BY created_at LIMIT ?",
            (tenant_id, before, limit),
        )
        return [codec.file_from_row(r) for r in rows]

    async def chat_files(self, chat_ids: list[str]) -> list[FileRecord]:
        out: list[FileRecord] = []
        for chat_id in chat_ids:
            rows = await self._query(
                "SELECT id, tenant_id, owner, chat_id, name, content_type, size, created_at, path "
                "FROM files WHERE chat_id=?",
                (chat_id,),
            )
            out += [codec.file_from_row(r) for r in rows]
        return out

    async def customer_chats(self, tenant_id: str, email: str) -> list[str]:
        rows = await self._query(
            "SELECT id FROM chats WHERE tenant_id=? "
            "AND lower(json_extract(snapshot, '$.customer.email'))=lower(?) ORDER BY created_at",
            (tenant_id, email),
        )
        return [str(r[0]) for r in rows]

    async def chats_between(self, since: float, until: float, after_id: str, limit: int) -> list[Chat]:
        rows = await self._query(
            "SELECT snapshot FROM chats WHERE created_at>=? AND created_at<? AND id>? ORDER BY id LIMIT ?",
            (since, until, after_id, limit),
        )
        return [codec.chat_from_snapshot(r[0]) for r in rows]

    async def count_chats_between(self, since: float, until: float) -> int:
        rows = await self._query(
            "SELECT COUNT(*) FROM chats WHERE created_at>=? AND created_at<?", (since, until)
        )
        return int(rows[0][0])

    async def ping(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            raise RuntimeError("the writer is not running")
        await self._query("SELECT 1")

    async def crm_rows(self, tenant_id: str) -> list[tuple[str, str, str]]:
        rows = await self._query(
            "SELECT id, collection, data FROM crm_records WHERE tenant_id=?", (tenant_id,)
        )
        return [(str(r[0]), str(r[1]), str(r[2])) for r in rows]

    async def stats(self) -> dict[str, Any]:
        return {
            "commits": self.commits,
            "intents": self.intents,
            "commit_seconds": self.commit_seconds,
            "mean_batch": (self.intents / self.commits) if self.commits else 0.0,
        }


def _resolve(results: list[tuple[asyncio.Future[None], BaseException | None]]) -> None:
    for fut, exc in results:
        if fut.done():
            continue
        if exc is None:
            fut.set_result(None)
        else:
            fut.set_exception(exc)
