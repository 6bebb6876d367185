"""The multi-node store: PostgreSQL through asyncpg, with the same group commit as the SQLite store.

One writer task owns one dedicated connection and drains a queue of write intents, up to
``batch_max`` per transaction; a caller's ``write`` returns only after COMMIT. Batching matters
more here than on SQLite: every statement is a network round trip, and the COMMIT (a WAL flush) is
paid once per batch instead of once per message.

Each intent stays all-or-nothing and a bad one fails alone: a batch of upserts runs merged (one
pipelined ``executemany`` per statement for the whole batch) inside a savepoint, and only if that
fails is it rolled back and replayed with one savepoint per intent. Measured on the development
machine (2 cores, loopback, ~0.16 ms per round trip), one savepoint per intent from the start gave
~1,300 messages/s at a batch of 64; the merged path gives ~9,000-11,000.

Reads go through a pool, so a slow export never queues behind the writer. Leases use the
database clock, so nodes with skewed clocks agree on who holds the engine.

The SQL shared with SQLite lives in ``sql`` (converted to ``$n`` placeholders once, at import);
what is PostgreSQL-only is here.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

import asyncpg  # type: ignore[import-untyped]

from frontdesk.store import codec, migrate, sql
from frontdesk.store.migrate import START_POSTGRES, connect_error
from frontdesk.store.protocol import Lease, LeaseLost, WriteIntent
from frontdesk.store.reads import SqlReads

__all__ = ["START_POSTGRES", "PostgresStore", "asyncpg_dsn"]

_CONNECT_TIMEOUT = 10.0
_log = logging.getLogger(__name__)

_n = sql.numbered
_CHAT, _EVENT, _AGENT, _COUNTER = _n(sql.CHAT), _n(sql.EVENT), _n(sql.AGENT), _n(sql.COUNTER)
_KV_PUT, _KV_DEL, _FILE, _SURVEY = _n(sql.KV_PUT), _n(sql.KV_DEL), _n(sql.FILE), _n(sql.SURVEY)
_CRM_CLEAR, _CRM_DELETE, _CRM_PUT = _n(sql.CRM_CLEAR), _n(sql.CRM_DELETE), _n(sql.CRM_PUT)
_OUTBOX, _ATTEMPT = _n(sql.OUTBOX), _n(sql.ATTEMPT)
_PURGE_CHAT = tuple(_n(s) for s in sql.PURGE_CHAT)
_PURGE_FILE = _n(sql.PURGE_FILE)
_PURGE_BLOB = _n(sql.PURGE_BLOB)
_BLOB_PUT = _n(sql.BLOB_PUT)

# FOR SHARE: a takeover (an UPDATE of this row) waits until this write transaction has committed,
# so no write of the old holder can land after the new holder's epoch exists.
_FENCE = "SELECT holder, epoch FROM leases WHERE name=$1 FOR SHARE"
# One statement, so concurrent claims serialise on the row: the first inserts (epoch 1); the others
# re-check the WHERE against the committed row and update nothing unless they hold it (renewal, the
# epoch stays) or it expired (takeover, epoch + 1). ``now`` is read once, from the database clock.
_LEASE_CLAIM = (
    "WITH c AS (SELECT extract(epoch FROM clock_timestamp())::float8 AS now) "
    "INSERT INTO leases AS l (name, holder, url, epoch, expires_at) "
    "SELECT $1, $2, $3, 1, c.now + $4::float8 FROM c "
    "ON CONFLICT (name) DO UPDATE SET holder=excluded.holder, url=excluded.url, "
    "epoch=CASE WHEN l.holder=excluded.holder THEN l.epoch ELSE l.epoch + 1 END, "
    "expires_at=excluded.expires_at "
    "WHERE l.holder=excluded.holder OR l.expires_at <= (SELECT now FROM c) "
    "RETURNING name, holder, url, epoch, expires_at"
)
_LEASE_RELEASE = (
    "UPDATE leases SET expires_at=extract(epoch FROM clock_timestamp())::float8 WHERE name=$1 AND holder=$2"
)
_LEASE_GET = _n(sql.LEASE_GET)
# The e-mail inside the JSON snapshot, compared case-insensitively like SQLite's json_extract.


class _Connection(Protocol):
    """The part of ``asyncpg.Connection`` this module uses (asyncpg ships no type information)."""

    async def execute(self, query: str, *args: Any) -> str: ...

    async def executemany(self, command: str, args: Iterable[Sequence[Any]]) -> None: ...

    async def fetch(self, query: str, *args: Any) -> list[Sequence[Any]]: ...

    async def fetchrow(self, query: str, *args: Any) -> Sequence[Any] | None: ...

    def transaction(self) -> AbstractAsyncContextManager[Any]: ...

    def is_closed(self) -> bool: ...

    async def close(self, *, timeout: float | None = None) -> None: ...

    def terminate(self) -> None: ...


class _Pool(Protocol):
    async def fetch(self, query: str, *args: Any) -> list[Sequence[Any]]: ...

    async def fetchrow(self, query: str, *args: Any) -> Sequence[Any] | None: ...

    async def execute(self, query: str, *args: Any) -> str: ...

    async def close(self) -> None: ...


def asyncpg_dsn(url: str) -> str:
    """The URL asyncpg understands: ``postgresql://`` whatever the configured spelling."""
    scheme, sep, rest = url.partition("://")
    if sep and scheme.split("+", 1)[0] in ("postgresql", "postgres"):
        return f"postgresql://{rest}"
    raise ValueError(f"not a PostgreSQL URL: {migrate.redacted(url)}")


def _payload(rows: Sequence[Sequence[Any]]) -> int:
    """Approximate bytes sent for ``rows``: text length, 8 per non-null number (a capacity figure)."""
    size = 0
    for row in rows:
        for value in row:
            if isinstance(value, str | bytes):
                size += len(value)
            elif value is not None:
                size += 8
    return size


# The statements of an intent in the order SQLite's ``_apply`` runs them (within one intent the
# order matters: a kv_put then a kv_delete of one key leaves nothing, crm_clear precedes crm_put).
_ORDER = (
    _CHAT,
    _EVENT,
    _AGENT,
    _COUNTER,
    _KV_PUT,
    _KV_DEL,
    _FILE,
    _BLOB_PUT,
    _SURVEY,
    _CRM_CLEAR,
    _CRM_DELETE,
    _CRM_PUT,
    _OUTBOX,
    _ATTEMPT,
)
_Rows = list[Sequence[Any]]


def _rows(intent: WriteIntent) -> list[_Rows]:
    """The intent's parameter rows per statement of ``_ORDER`` (encoded once per intent)."""
    return [
        [codec.chat_row(c) for c in intent.chats],
        [codec.event_row(cid, ev, key) for cid, ev, key in intent.events],
        [codec.agent_row(a) for a in intent.agents],
        list(intent.counters),
        list(intent.kv_put),
        list(intent.kv_delete),
        [codec.file_row(f) for f in intent.files],
        list(intent.blobs),
        [codec.survey_row(s) for s in intent.surveys],
        [(t,) for t in intent.crm_clear],
        list(intent.crm_delete),
        list(intent.crm_put),
        [codec.outbox_row(r) for r in intent.outbox],
        [codec.attempt_row(a) for a in intent.attempts],
    ]


def _upserts_only(intent: WriteIntent) -> bool:
    """Whether the intent only inserts or upserts (no deletes, no purges).

    Intents like that commute statement by statement: running every intent's chat upserts, then
    every intent's events, and so on (rows kept in intent order, so the last upsert of a key still
    wins) leaves the same rows as running the intents one after the other. The schema has no
    foreign keys or triggers, and no upsert changes a unique column, so no constraint can fail in one
    order and pass in the other. A delete would break that (a put in one intent and a delete of the
    same key in the next must not swap), hence the check.
    """
    return not (intent.kv_delete or intent.crm_clear or intent.crm_delete or intent.purges)


class _Batch:
    """One write transaction: runs statements and counts them for ``stats``."""

    __slots__ = ("bytes", "conn", "round_trips", "statements")

    def __init__(self, conn: _Connection) -> None:
        self.conn = conn
        self.statements = 0  # statement executions on the server (each executemany row counts)
        self.round_trips = 0
        self.bytes = 0

    async def run(self, statement: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        # executemany pipelines its rows in one round trip; a single row goes through the cached
        # prepared statement the same way.
        if len(rows) == 1:
            await self.conn.execute(statement, *rows[0])
        else:
            await self.conn.executemany(statement, rows)
        self.statements += len(rows)
        self.round_trips += 1
        self.bytes += _payload(rows)

    async def apply(self, intent: WriteIntent, rows: list[_Rows]) -> None:
        for statement, params in zip(_ORDER, rows, strict=True):
            await self.run(statement, params)
        for purge in intent.purges:
            chats = [(c,) for c in purge.chat_ids]
            for statement in _PURGE_CHAT:
                await self.run(statement, chats)
            await self.run(_PURGE_FILE, [(f,) for f in purge.file_ids])
            await self.run(_PURGE_BLOB, [(f,) for f in purge.file_ids])

    async def apply_merged(self, batch: list[list[_Rows]]) -> None:
        """Every intent of an upsert-only batch, one executemany per statement."""
        for index, statement in enumerate(_ORDER):
            await self.run(statement, [row for rows in batch for row in rows[index]])

    def savepoint(self) -> AbstractAsyncContextManager[Any]:
        self.statements += 2  # SAVEPOINT and RELEASE (or ROLLBACK TO)
        self.round_trips += 2
        return self.conn.transaction()


def _broken(conn: _Connection, exc: BaseException) -> bool:
    """Whether ``exc`` means the connection is gone (rather than one statement being refused)."""
    if conn.is_closed() or isinstance(exc, OSError | asyncpg.PostgresConnectionError):
        return True
    # Class 57: the server is shutting down or killed this backend; a cancelled query is not that.
    return isinstance(exc, asyncpg.OperatorInterventionError) and not isinstance(
        exc, asyncpg.QueryCanceledError
    )


_Item = tuple[WriteIntent, "asyncio.Future[None]"]


class PostgresStore(SqlReads):
    """Store implementation over one PostgreSQL database (many nodes may share it)."""

    CUSTOMER_CHATS = (
        "SELECT id FROM chats WHERE tenant_id=? "
        "AND lower(snapshot::json->'customer'->>'email')=lower(?) ORDER BY created_at"
    )

    def __init__(
        self, url: str, *, pool_size: int = 10, batch_max: int = 64, auto_migrate: bool = False
    ) -> None:
        self.url = url
        self._dsn = asyncpg_dsn(url)
        self.pool_size = pool_size
        self.batch_max = batch_max
        self.auto_migrate = auto_migrate
        self._queue: asyncio.Queue[_Item | None] = asyncio.Queue()
        self._writer_task: asyncio.Task[None] | None = None
        self._conn: _Connection | None = None
        self._pool: _Pool | None = None
        self._closing = False
        self._fence: tuple[str, str, int] | None = None
        self.commits = 0
        self.intents = 0
        self.commit_seconds = 0.0
        self.statements = 0
        self.round_trips = 0
        self.bytes_written = 0
        self.reconnects = 0
        self.replays = 0  # merged batches rolled back and replayed one savepoint per intent
        # Called from the writer task after each group commit with (seconds, intents in the batch).
        self.on_commit: Callable[[float, int], None] | None = None

    # -- life cycle ----------------------------------------------------------------------------
    async def start(self) -> None:
        # The pool first: an unreachable server is reported as such, not as a migration failure.
        try:
            self._pool = await asyncpg.create_pool(
                self._dsn, min_size=1, max_size=self.pool_size, timeout=_CONNECT_TIMEOUT
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise connect_error(self.url, exc) from exc
        try:
            if self.auto_migrate:
                await migrate.upgrade_async(self.url)
            elif not await migrate.is_current_async(self.url):
                raise RuntimeError("the database schema is out of date: run `frontdesk migrate`")
            self._conn = await self._connect()
        except BaseException:
            await self._close_pool()
            raise
        self._closing = False
        self._writer_task = asyncio.create_task(self._writer(), name="frontdesk-postgres-writer")

    async def close(self) -> None:
        """Commit what is queued, then close the writer connection and the pool."""
        self._closing = True
        if self._writer_task is not None:
            self._queue.put_nowait(None)
            await self._writer_task
            self._writer_task = None
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                await conn.close(timeout=5)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
                conn.terminate()
        await self._close_pool()

    async def _close_pool(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    async def _connect(self) -> _Connection:
        try:
            conn: _Connection = await asyncpg.connect(self._dsn, timeout=_CONNECT_TIMEOUT)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise connect_error(self.url, exc) from exc
        return conn

    async def write(self, intent: WriteIntent) -> None:
        if self._writer_task is None or self._closing:
            raise RuntimeError("store not started")
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((intent, fut))
        await fut

    # -- the writer task -----------------------------------------------------------------------
    async def _writer(self) -> None:
        stop = False
        while not stop:
            item = await self._queue.get()
            if item is None:
                break
            # Group commit: with the first intent, whatever else is already queued, up to the limit.
            batch = [item]
            while len(batch) < self.batch_max and not self._queue.empty():
                nxt = self._queue.get_nowait()
                if nxt is None:
                    stop = True
                    break
                batch.append(nxt)
            await self._commit(batch)

    async def _commit(self, batch: list[_Item]) -> None:
        """One transaction for the batch; every future is resolved only after COMMIT (or failure).

        Fast path: an upsert-only batch runs merged, one pipelined executemany per statement, inside
        one savepoint (a round trip per statement instead of four or more per intent). If anything in
        it fails, that savepoint is rolled back and the batch is replayed one savepoint per intent,
        so the bad intent fails alone and the others still commit.
        """
        started = time.perf_counter()
        errors: list[BaseException | None] = [None] * len(batch)
        prepared: list[tuple[int, list[_Rows]]] = []
        for index, (intent, _) in enumerate(batch):
            try:
                prepared.append((index, _rows(intent)))
            except Exception as exc:  # an intent that cannot even be encoded fails alone
                errors[index] = exc
        tx: _Batch | None = None
        try:
            if self._conn is None or self._conn.is_closed():
                self._conn = None
                self.reconnects += 1
                self._conn = await self._connect()
            tx = _Batch(self._conn)
            tx.statements += 2  # BEGIN and COMMIT
            tx.round_trips += 2
            async with tx.conn.transaction():
                await self._check_fence(tx)
                if prepared:
                    await self._apply_batch(tx, batch, prepared, errors)
        except asyncio.CancelledError:
            for _, fut in batch:
                fut.cancel()
            raise
        except Exception as exc:  # every caller of the batch gets the error
            errors = [error or exc for error in errors]
            self._drop_broken(exc)
        elapsed = time.perf_counter() - started
        self.commit_seconds += elapsed
        self.commits += 1
        self.intents += len(batch)
        if tx is not None:
            self.statements += tx.statements
            self.round_trips += tx.round_trips
            if not all(errors):
                self.bytes_written += tx.bytes
        for (_, fut), error in zip(batch, errors, strict=True):
            if fut.done():
                continue
            if error is None:
                fut.set_result(None)
            else:
                fut.set_exception(error)
        if self.on_commit is not None:
            try:
                self.on_commit(elapsed, len(batch))
            except Exception:  # a broken metrics hook must not stop the writer
                _log.exception("store on_commit hook failed")

    async def _apply_batch(
        self,
        tx: _Batch,
        batch: list[_Item],
        prepared: list[tuple[int, list[_Rows]]],
        errors: list[BaseException | None],
    ) -> None:
        if len(prepared) == 1:  # alone in its transaction: no savepoint needed
            index, rows = prepared[0]
            await tx.apply(batch[index][0], rows)
            return
        if all(_upserts_only(batch[index][0]) for index, _ in prepared):
            written = tx.bytes
            try:
                async with tx.savepoint():
                    await tx.apply_merged([rows for _, rows in prepared])
                return
            except Exception as exc:  # replayed below, one savepoint per intent, to find the culprit
                if _broken(tx.conn, exc):
                    raise
                self.replays += 1
                tx.bytes = written
        for index, rows in prepared:
            written = tx.bytes
            try:
                async with tx.savepoint():
                    await tx.apply(batch[index][0], rows)
            except Exception as exc:  # the intent fails alone, the batch goes on
                if _broken(tx.conn, exc):
                    raise
                tx.bytes = written
                errors[index] = exc

    def _drop_broken(self, exc: Exception) -> None:
        """After a failed batch, keep the connection only if it is certainly usable; the next
        batch reconnects otherwise (a server restart must not stop the writer for good)."""
        conn = self._conn
        if conn is None:
            return
        if isinstance(exc, LeaseLost | asyncpg.PostgresError) and not _broken(conn, exc):
            return
        self._conn = None
        conn.terminate()

    async def _check_fence(self, tx: _Batch) -> None:
        if self._fence is None:
            return
        name, holder, epoch = self._fence
        row = await tx.conn.fetchrow(_FENCE, name)
        tx.statements += 1
        tx.round_trips += 1
        if row is None or (row[0], row[1]) != (holder, epoch):
            raise LeaseLost(f"lease {name!r} is no longer held by {holder} at epoch {epoch}")

    # -- leases (one node at a time owns the engine) --------------------------------------------
    def fence(self, name: str, holder: str, epoch: int) -> None:
        self._fence = (name, holder, epoch)

    async def lease_claim(self, name: str, holder: str, url: str, ttl: float) -> Lease:
        pool = self._require_pool()
        for _ in range(3):
            row = await pool.fetchrow(_LEASE_CLAIM, name, holder, url, float(ttl))
            if row is None:  # someone else holds it: report who
                row = await pool.fetchrow(_LEASE_GET, name)
            if row is not None:
                return Lease(*row)
        raise RuntimeError(f"lease {name!r} vanished while it was being claimed")

    async def lease_release(self, name: str, holder: str) -> None:
        await self._require_pool().execute(_LEASE_RELEASE, name, holder)

    # -- reads -------------------------------------------------------------------------------
    def _require_pool(self) -> _Pool:
        if self._pool is None:
            raise RuntimeError("store not started")
        return self._pool

    async def _query(self, statement: str, *args: Any) -> list[Sequence[Any]]:
        return await self._require_pool().fetch(statement, *args)

    async def _rows(self, statement: str, *params: Any) -> list[Sequence[Any]]:
        return await self._query(_n(statement), *params)

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
            "statements": self.statements,
            "round_trips": self.round_trips,
            "bytes_written": self.bytes_written,
            "reconnects": self.reconnects,
            "replays": self.replays,
        }
