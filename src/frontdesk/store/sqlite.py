"""The embedded store: SQLite in WAL mode with one writer task doing group commit.

One connection writes (SQLite allows one writer anyway). The writer task wakes once per event-loop
turn, takes every write intent queued meanwhile and commits up to ``batch_max`` of them per
transaction, each inside its own savepoint so that one bad intent fails alone. Batching is what
turns ~0.14 ms per transaction into a few microseconds per message.

The commit runs on the event loop itself (decision 39): a WAL commit without fsync takes tens of
microseconds, less than handing the batch to a thread and back. What could stall the loop runs
elsewhere: batches carrying file bytes or purges go to a worker thread, and WAL checkpoints (the
only fsyncs at ``synchronous=NORMAL``) run in a checkpointer thread with its own connection.
Readers use their own connection too.

The WAL starts over from its beginning only when a write begins with every frame already copied
back. Under steady load a passive checkpoint never catches up with the writer, and the WAL would
grow by every page ever written (about 100 MB a second at full ping-pong load). So when the WAL
holds more than ``restart_frames`` frames after a passive checkpoint, the checkpointer restarts it,
holding writes for the few milliseconds that takes; the next commit starts the WAL over and cuts
the file back to ``WAL_SIZE_LIMIT``. The writer task waits for a held write lock itself, a
millisecond at a time, so the event loop goes on meanwhile (SQLite's busy handler would sleep on
it in steps of 1, 2, 5, 10 ms: about 20 ms for a lock held 6).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from frontdesk.store import codec, migrate, sql
from frontdesk.store.protocol import Lease, LeaseLost, Purge, WriteIntent
from frontdesk.store.reads import SqlReads

log = logging.getLogger("frontdesk.store")
CHECKPOINT_SECONDS = 1.0
BUSY_MS = 5000  # every connection's busy_timeout; the writer's own wait before it fails a batch
BUSY_RETRY_SECONDS = 0.001
RESTART_FRAMES = 16384  # 64 MB of 4 KB pages: the WAL restarts past the size it is cut back to
WAL_SIZE_LIMIT = 64 * 1024 * 1024


def _purge(cur: sqlite3.Cursor, purge: Purge) -> None:
    for chat_id in purge.chat_ids:
        for statement in sql.PURGE_CHAT:
            cur.execute(statement, (chat_id,))
    for file_id in purge.file_ids:
        cur.execute(sql.PURGE_FILE, (file_id,))
        cur.execute(sql.PURGE_BLOB, (file_id,))


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute(f"PRAGMA busy_timeout={BUSY_MS}")
    return conn


# SQLite rewrites the index entries of every column an UPDATE sets, changed or not (PostgreSQL's HOT
# updates do not), and three of the chat row's columns are indexed. So the indexed columns are set
# only when they change: a chat write that changes neither (a poll cursor, a read mark) dirties one
# page of the WAL instead of four.
_CHAT_BODY = "UPDATE chats SET last_seq=?, snapshot=? WHERE id=?"
_CHAT_KEYS = (
    "UPDATE chats SET state=?1, identity=?2, ended_at=?3 "
    "WHERE id=?4 AND (state IS NOT ?1 OR identity IS NOT ?2 OR ended_at IS NOT ?3)"
)


def _save_chat(cur: sqlite3.Cursor, row: tuple[Any, ...]) -> None:
    chat_id, _, _, state, identity, _, ended_at, last_seq, snapshot = row
    cur.execute(_CHAT_BODY, (last_seq, snapshot, chat_id))
    if cur.rowcount == 0:
        cur.execute(sql.CHAT, row)
    else:
        cur.execute(_CHAT_KEYS, (state, identity, ended_at, chat_id))


def _apply(cur: sqlite3.Cursor, intent: WriteIntent) -> None:
    for chat in intent.chats:
        _save_chat(cur, codec.chat_row(chat))
    if intent.events:
        cur.executemany(sql.EVENT, [codec.event_row(cid, ev, key) for cid, ev, key in intent.events])
    for agent in intent.agents:
        cur.execute(sql.AGENT, codec.agent_row(agent))
    if intent.counters:
        cur.executemany(sql.COUNTER, intent.counters)
    if intent.kv_put:
        cur.executemany(sql.KV_PUT, intent.kv_put)
    if intent.kv_delete:
        cur.executemany(sql.KV_DEL, intent.kv_delete)
    for f in intent.files:
        cur.execute(sql.FILE, codec.file_row(f))
    if intent.blobs:
        cur.executemany(sql.BLOB_PUT, intent.blobs)
    for survey in intent.surveys:
        cur.execute(sql.SURVEY, codec.survey_row(survey))
    for tenant_id in intent.crm_clear:
        cur.execute(sql.CRM_CLEAR, (tenant_id,))
    if intent.crm_delete:
        cur.executemany(sql.CRM_DELETE, intent.crm_delete)
    if intent.crm_put:
        cur.executemany(sql.CRM_PUT, intent.crm_put)
    if intent.outbox:
        cur.executemany(sql.OUTBOX, [codec.outbox_row(r) for r in intent.outbox])
    if intent.attempts:
        cur.executemany(sql.ATTEMPT, [codec.attempt_row(a) for a in intent.attempts])
    for purge in intent.purges:
        _purge(cur, purge)


class SqliteStore(SqlReads):
    """Store implementation over one SQLite file."""

    CUSTOMER_CHATS = (
        "SELECT id FROM chats WHERE tenant_id=? "
        "AND lower(json_extract(snapshot, '$.customer.email'))=lower(?) ORDER BY created_at"
    )

    def __init__(self, path: Path, *, batch_max: int = 64, auto_migrate: bool = True) -> None:
        self.path = path
        self.batch_max = batch_max
        self.auto_migrate = auto_migrate
        self._pending: list[tuple[WriteIntent, asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._writer_task: asyncio.Task[None] | None = None
        self._closing = False
        self._conn: sqlite3.Connection | None = None
        self._checkpointer: threading.Thread | None = None
        self._stop_checkpoints = threading.Event()
        self._reader: sqlite3.Connection | None = None
        self._reader_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.commits = 0
        self.intents = 0
        self.commit_seconds = 0.0
        self.wal_restarts = 0
        self.checkpoint_seconds = CHECKPOINT_SECONDS
        self.restart_frames = RESTART_FRAMES
        # Called after each group commit with (seconds, intents in the batch).
        self.on_commit: Callable[[float, int], None] | None = None
        self._fence: tuple[str, str, int] | None = None

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
        self._conn = _connect(str(self.path))
        self._conn.execute("PRAGMA wal_autocheckpoint=0")  # the checkpointer thread does it
        self._conn.execute("PRAGMA busy_timeout=0")  # the writer task waits for the lock itself
        self._conn.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")  # applied when the WAL restarts
        self._stop_checkpoints.clear()
        self._closing = False
        self._checkpointer = threading.Thread(
            target=self._checkpoints, name="frontdesk-sqlite-checkpoint", daemon=True
        )
        self._checkpointer.start()
        self._writer_task = self._loop.create_task(self._writer())

    async def close(self) -> None:
        if self._writer_task is not None:
            self._closing = True  # the writer commits what is queued, then ends
            self._wake.set()
            await self._writer_task
            self._writer_task = None
        if self._checkpointer is not None:
            self._stop_checkpoints.set()
            await asyncio.to_thread(self._checkpointer.join)
            self._checkpointer = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    async def write(self, intent: WriteIntent) -> None:
        if self._loop is None or self._writer_task is None:
            raise RuntimeError("store not started")
        fut: asyncio.Future[None] = self._loop.create_future()
        self._pending.append((intent, fut))
        self._wake.set()
        await fut

    # -- the writer task ---------------------------------------------------------------------
    async def _writer(self) -> None:
        while not self._closing or self._pending:
            await self._wake.wait()
            self._wake.clear()
            busy_since: float | None = None
            while self._pending:
                batch = self._pending[: self.batch_max]
                del self._pending[: self.batch_max]
                # Megabytes of file bytes, or thousands of rows: not on the event loop.
                away = any(intent.blobs or intent.purges for intent, _ in batch)
                wait = busy_since is not None and time.monotonic() - busy_since > BUSY_MS / 1000
                results = (
                    await asyncio.to_thread(self._commit, batch, wait) if away else self._commit(batch, wait)
                )
                if results is None:
                    # The write lock is taken (a WAL restart holds it for a few milliseconds): wait
                    # for it here, where the event loop goes on, not in SQLite's busy handler.
                    busy_since = time.monotonic() if busy_since is None else busy_since
                    self._pending[:0] = batch
                    await asyncio.sleep(BUSY_RETRY_SECONDS)
                    continue
                busy_since = None
                _resolve(results)

    def _commit(
        self, batch: list[tuple[WriteIntent, asyncio.Future[None]]], wait: bool = False
    ) -> list[tuple[asyncio.Future[None], BaseException | None]] | None:
        """The batch's results, or None when the write lock is taken. ``wait`` (after BUSY_MS
        of None) lets SQLite wait as long again, then fails the batch."""
        conn = self._conn
        assert conn is not None
        cur = conn.cursor()
        started = time.perf_counter()
        results: list[tuple[asyncio.Future[None], BaseException | None]] = []
        try:
            if wait:
                cur.execute(f"PRAGMA busy_timeout={BUSY_MS}")
            try:
                cur.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode == sqlite3.SQLITE_BUSY and not wait:
                    return None
                raise
            finally:
                if wait:
                    cur.execute("PRAGMA busy_timeout=0")
            self._check_fence(cur)
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
        except Exception as exc:  # the batch fails; the writer goes on with the next one
            if conn.in_transaction:
                conn.rollback()
            results = [(fut, exc) for _, fut in batch]
        elapsed = time.perf_counter() - started
        self.commit_seconds += elapsed
        self.commits += 1
        self.intents += len(batch)
        if self.on_commit is not None:
            self.on_commit(elapsed, len(batch))
        return results

    def _checkpoints(self) -> None:
        """Copy the WAL into the database file once a second (PASSIVE: never blocks the writer);
        restart the WAL when the writer keeps it from ever being copied whole."""
        conn = _connect(str(self.path))
        try:
            while not self._stop_checkpoints.wait(self.checkpoint_seconds):
                try:
                    _, frames, _ = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    if frames > self.restart_frames:
                        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
                        if not busy:  # busy: a reader outlasted the wait; the next round tries again
                            self.wal_restarts += 1
                except sqlite3.Error as exc:
                    log.warning("WAL checkpoint failed: %s", exc)
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            conn.close()

    def _check_fence(self, cur: sqlite3.Cursor) -> None:
        if self._fence is None:
            return
        name, holder, epoch = self._fence
        row = cur.execute("SELECT holder, epoch FROM leases WHERE name=?", (name,)).fetchone()
        if row is None or (row[0], row[1]) != (holder, epoch):
            raise LeaseLost(f"lease {name!r} is no longer held by {holder} at epoch {epoch}")

    # -- leases (one node at a time owns the engine) --------------------------------------------
    def fence(self, name: str, holder: str, epoch: int) -> None:
        self._fence = (name, holder, epoch)

    def _lease_claim(self, name: str, holder: str, url: str, ttl: float) -> Lease:
        conn = _connect(str(self.path))
        try:
            conn.execute("BEGIN IMMEDIATE")
            now = time.time()
            row = conn.execute(
                "SELECT holder, url, epoch, expires_at FROM leases WHERE name=?", (name,)
            ).fetchone()
            if row is None:
                lease = Lease(name, holder, url, 1, now + ttl)
            elif row[0] == holder:
                lease = Lease(name, holder, url, row[2], now + ttl)
            elif row[3] <= now:
                lease = Lease(name, holder, url, row[2] + 1, now + ttl)
            else:
                conn.execute("COMMIT")
                return Lease(name, row[0], row[1], row[2], row[3])
            conn.execute(
                "INSERT INTO leases (name, holder, url, epoch, expires_at) VALUES (?,?,?,?,?) "
                "ON CONFLICT(name) DO UPDATE SET holder=excluded.holder, url=excluded.url, "
                "epoch=excluded.epoch, expires_at=excluded.expires_at",
                (lease.name, lease.holder, lease.url, lease.epoch, lease.expires_at),
            )
            conn.execute("COMMIT")
            return lease
        finally:
            conn.close()

    async def lease_claim(self, name: str, holder: str, url: str, ttl: float) -> Lease:
        return await asyncio.to_thread(self._lease_claim, name, holder, url, ttl)

    def _lease_release(self, name: str, holder: str) -> None:
        conn = _connect(str(self.path))
        try:
            conn.execute(
                "UPDATE leases SET expires_at=? WHERE name=? AND holder=?", (time.time(), name, holder)
            )
        finally:
            conn.close()

    async def lease_release(self, name: str, holder: str) -> None:
        await asyncio.to_thread(self._lease_release, name, holder)

    # -- reads -------------------------------------------------------------------------------
    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        assert self._reader is not None
        with self._reader_lock:
            return self._reader.execute(sql, params).fetchall()

    async def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return await asyncio.to_thread(self._read, sql, params)

    async def _rows(self, statement: str, *params: Any) -> list[tuple[Any, ...]]:
        return await self._query(statement, params)

    # -- operations ----------------------------------------------------------------------------
    async def ping(self) -> None:
        if self._writer_task is None or self._writer_task.done():
            raise RuntimeError("the writer is not running")
        await self._query(sql.PING)

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
