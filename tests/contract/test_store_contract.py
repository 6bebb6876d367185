"""One contract for every Store: SQLite and PostgreSQL (design sections 3 to 5).

Every test runs against both implementations through the same code. PostgreSQL is the real local
server: each run creates its own database (``frontdesk_contract_<hex>``), migrates it with
``migrate.upgrade`` and drops it at the end; tests empty its tables before they start. An
unreachable server fails the PostgreSQL cases with the command that starts it: a skipped contract
test would let a broken store ship.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import yaml

from conftest import demo_dict
from frontdesk.domain.events import Event, PartyRef
from frontdesk.domain.model import AgentRuntime, Chat, Customer, FileRecord, SurveyRecord
from frontdesk.store import codec, migrate, sql
from frontdesk.store.postgres import START_POSTGRES, PostgresStore
from frontdesk.store.protocol import DeliveryAttempt, LeaseLost, OutboxRow, Purge, Store, WriteIntent
from frontdesk.store.sqlite import SqliteStore

pytestmark = pytest.mark.anyio

PG_ADMIN_URL = os.environ.get("FRONTDESK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
TABLES = (
    "chats, events, agents, counters, kv, files, surveys, webhook_outbox, webhook_attempts, "
    "crm_records, leases"
)
CUSTOMER = PartyRef("p-cust", "customer", None, "Carla")
AGENT = PartyRef("p-agent", "agent", "alice", "Alice")


# -- PostgreSQL databases ---------------------------------------------------------------------------
def _database_url(name: str) -> str:
    parts = urlsplit(PG_ADMIN_URL)
    return urlunsplit(parts._replace(path=f"/{name}"))


async def _admin(*statements: str) -> None:
    try:
        conn = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(
            f"PostgreSQL at {migrate.redacted(PG_ADMIN_URL)} is not reachable ({exc}); "
            f"start it with: {START_POSTGRES}"
        )
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def _create_database() -> str:
    name = f"frontdesk_contract_{uuid.uuid4().hex[:8]}"
    await _admin(f'CREATE DATABASE "{name}"')
    return name


async def _drop_database(name: str) -> None:
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    """One migrated database for the module's PostgreSQL cases, dropped at the end."""
    name = asyncio.run(_create_database())
    try:
        url = _database_url(name)
        migrate.upgrade(url)  # the sync entry point the CLI uses
        yield url
    finally:
        asyncio.run(_drop_database(name))


async def _execute(url: str, statement: str) -> None:
    conn = await asyncpg.connect(url, timeout=5)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


# -- stores ---------------------------------------------------------------------------------------
@dataclass
class Backend:
    """How to open stores of one kind on one database (several at once, to play several nodes)."""

    kind: str
    factory: Callable[..., Store]
    url: str = ""
    opened: list[Store] = field(default_factory=list)

    async def open(self, **options: Any) -> Store:
        store = self.factory(**options)
        self.opened.append(store)
        await store.start()
        return store


@pytest.fixture(params=["sqlite", "postgresql"])
def backend_spec(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """(kind, url) of a store; the PostgreSQL database is resolved only when a case needs it."""
    if request.param == "sqlite":
        return "sqlite", str(tmp_path / "contract.db")
    return "postgresql", str(request.getfixturevalue("pg_url"))


@pytest.fixture
async def backend(backend_spec: tuple[str, str]) -> AsyncIterator[Backend]:
    kind, location = backend_spec
    if kind == "sqlite":
        path = Path(location)

        def sqlite_store(**options: Any) -> Store:
            return SqliteStore(path, **options)

        b = Backend(kind, sqlite_store)
    else:
        await _execute(location, f"TRUNCATE {TABLES}")

        def postgres_store(**options: Any) -> Store:
            return PostgresStore(location, **options)

        b = Backend(kind, postgres_store, location)
    try:
        yield b
    finally:
        for store in b.opened:
            await store.close()


@pytest.fixture
async def store(backend: Backend) -> Store:
    return await backend.open()


# -- objects ----------------------------------------------------------------------------------------
def make_chat(
    tenant: str = "t1",
    number: int = 1,
    *,
    email: str | None = "carla@example.com",
    created_at: float = 1000.0,
) -> Chat:
    return Chat(
        id=str(uuid.uuid4()),
        tenant_id=tenant,
        number=number,
        face="native",
        entry_point="web",
        entry_point_name="Web",
        queue="sales",
        priority=1,
        skills=["en"],
        state="queued",
        customer=Customer("p-cust", 1, name="Carla", email=email, external_ids={"crm": "42"}),
        subject="Order 17",
        pre_chat={"order": "17", "nested": {"n": 1.5}},
        created_at=created_at,
        first_queued_at=created_at,
        queued_at=created_at,
        identity=f"email:{email}",
        face_state={"sp": {"session": "s1"}},
    )


def message(seq: int, text: str = "hi", at: float = 1001.0, client_msg_id: str | None = None) -> Event:
    return Event(seq, "message", at + seq, CUSTOMER, {"text": text}, client_msg_id)


def outbox_row(n: int, *, tenant: str = "t1", hook: str = "h1", chat_id: str | None = None) -> OutboxRow:
    return OutboxRow(
        id=f"d{n:03}-{uuid.uuid4().hex[:6]}",
        tenant_id=tenant,
        webhook_id=hook,
        event="chat.message",
        payload=f'{{"n": {n}}}',
        created_at=2000.0 + n,
        chat_id=chat_id,
        next_at=3000.0 + n,
    )


async def until_raises(write: Any) -> BaseException:
    try:
        await write
    except Exception as exc:  # the contract says "fails", not which driver exception
        return exc
    raise AssertionError("the write did not fail")


# -- round trips -------------------------------------------------------------------------------------
async def test_every_write_intent_field_round_trips(store: Store) -> None:
    chat = make_chat()
    chat.last_seq = 3
    events = [
        Event(1, "created", 1001.0, None, {}),
        Event(2, "message", 1002.25, CUSTOMER, {"text": "héllo ✓", "attachments": []}, "c-1"),
        Event(3, "party_joined", 1003.5, AGENT, {"party": {"id": "p-agent"}}),
    ]
    agent = AgentRuntime("t1", "alice", state="ready", since=5.5, chats=[chat.id], token_version=2)
    files = [
        FileRecord("f1", "t1", "agent:alice", chat.id, "a.txt", "text/plain", 12, 1500.0, "/x/f1"),
        FileRecord("f2", "t1", "email:carla@example.com", None, "b.png", "image/png", 99, 1600.0, "/x/f2"),
    ]
    survey = SurveyRecord(
        "s1", "t1", chat.id, "native", "csat", [{"q": "1", "a": "5"}], 1700.0, "web", "sales"
    )
    row = outbox_row(1, chat_id=chat.id)
    attempt = DeliveryAttempt(row.id, 1, 3001.0, 500, "boom", 12)
    intent = WriteIntent(
        counters=[("t1", "chat_number", 7)],
        kv_put=[("ns", "k1", "v1", None), ("ns", "k2", "v2", time.time() + 60)],
        files=files,
        surveys=[survey],
        outbox=[row],
        attempts=[attempt],
        crm_put=[("t1", "contact:1", "contacts", '{"name": "Carla"}'), ("t1", "meta", "meta", "{}")],
    )
    intent.save_chat(chat).save_agent(agent)
    for n, event in enumerate(events):
        intent.add_event(chat.id, event, f"key-{n}" if n else None)
    await store.write(intent)

    assert await store.load_chat(chat.id) == chat
    assert await store.load_chats(live_only=False) == [chat]
    assert await store.load_chats(live_only=True) == [chat]
    assert await store.read_events(chat.id, 0, 100) == events
    assert await store.read_events(chat.id, 1, 1) == events[1:2]
    assert await store.dedupe_keys(chat.id) == {"key-1": 2, "key-2": 3}
    assert await store.load_agents() == [agent]
    assert await store.load_counters() == {("t1", "chat_number"): 7}
    assert await store.kv_get("ns", "k1") == "v1"
    assert await store.kv_list("ns") == {"k1": "v1", "k2": "v2"}
    assert await store.get_file("f1") == files[0]
    assert await store.get_file("nope") is None
    assert await store.chat_files([chat.id]) == [files[0]]
    assert await store.files_before("t1", 1550.0, 10) == [files[0]]
    assert await store.list_surveys("t1", 1700.0, 1700.5) == [survey]
    assert await store.list_surveys("t1", 1700.5, 1800.0) == []
    assert await store.outbox_get(row.id) == row
    assert await store.delivery_attempts(row.id) == [attempt]
    assert sorted(await store.crm_rows("t1")) == [
        ("contact:1", "contacts", '{"name": "Carla"}'),
        ("meta", "meta", "{}"),
    ]
    assert await store.count_chats_between(999.0, 1001.0) == 1
    assert await store.ended_chats_before("t1", 1e12, 10) == []

    # Upserts replace what the statements say they replace; deletes delete.
    chat.state, chat.ended_at, chat.end_reason, chat.last_seq = "ended", time.time(), "customer", 4
    agent.state = "not_ready"
    row.status, row.attempts, row.last_status, row.delivered_at = "delivered", 2, 200, 3002.0
    attempt2 = DeliveryAttempt(row.id, 1, 3001.5, 200, None, 7)
    moved = FileRecord("f2", "t1", "ignored", chat.id, "ignored", "ignored", 0, 0.0, "ignored")
    update = WriteIntent(
        counters=[("t1", "chat_number", 8)],
        kv_put=[("ns", "k1", "v1b", None)],
        kv_delete=[("ns", "k2")],
        files=[moved],
        outbox=[row],
        attempts=[attempt2],
        crm_delete=[("t1", "meta")],
        crm_put=[("t1", "contact:1", "people", "{}")],
    )
    update.save_chat(chat).save_agent(agent).add_event(chat.id, Event(4, "ended", 1004.0, None, {}))
    await store.write(update)
    assert await store.load_chat(chat.id) == chat
    assert await store.ended_chats_before("t1", time.time() + 1, 10) == [chat.id]
    assert [a.state for a in await store.load_agents()] == ["not_ready"]
    assert await store.load_counters() == {("t1", "chat_number"): 8}
    assert await store.kv_list("ns") == {"k1": "v1b"}
    f2 = await store.get_file("f2")
    assert f2 is not None and f2.chat_id == chat.id and f2.name == "b.png"  # only chat_id moves
    assert await store.outbox_get(row.id) == row
    assert await store.delivery_attempts(row.id) == [attempt2]
    assert await store.crm_rows("t1") == [("contact:1", "people", "{}")]
    assert [e.seq for e in await store.read_events(chat.id, 0, 100)] == [1, 2, 3, 4]

    await store.write(WriteIntent(crm_clear=["t1"], crm_put=[("t1", "x", "contacts", "{}")]))
    assert await store.crm_rows("t1") == [("x", "contacts", "{}")]
    stats = await store.stats()
    assert {"commits", "intents", "commit_seconds", "mean_batch"} <= set(stats)
    assert stats["intents"] == 3
    await store.ping()


async def test_intents_apply_in_order_within_and_across_a_batch(backend: Backend) -> None:
    store = await backend.open()
    batches: list[int] = []
    store.on_commit = lambda seconds, size: batches.append(size)  # type: ignore[attr-defined]
    # Within an intent: put then delete leaves nothing; clear then put leaves the put.
    await store.write(WriteIntent(kv_put=[("ns", "a", "1", None)], kv_delete=[("ns", "a")]))
    assert await store.kv_get("ns", "a") is None
    # Across intents queued together (one batch where batching happens): last one wins.
    writes = [
        WriteIntent(kv_put=[("ns", "b", "1", None)]),
        WriteIntent(kv_delete=[("ns", "b")]),
        WriteIntent(kv_put=[("ns", "b", "3", None)]),
        WriteIntent(kv_put=[("ns", "c", "1", None)]),
        WriteIntent(kv_delete=[("ns", "c")]),
        WriteIntent(counters=[("t1", "n", 1)]),
        WriteIntent(counters=[("t1", "n", 2)]),
        WriteIntent(crm_put=[("t1", "r", "a", "1")]),
        WriteIntent(crm_clear=["t1"]),
        WriteIntent(crm_put=[("t1", "r", "b", "2")]),
    ]
    await asyncio.gather(*(store.write(w) for w in writes))
    assert await store.kv_list("ns") == {"b": "3"}
    assert await store.load_counters() == {("t1", "n"): 2}
    assert await store.crm_rows("t1") == [("r", "b", "2")]
    chat = make_chat()
    chat.last_seq = 0
    # Upserts of one chat from many intents of one batch: the last snapshot wins.
    snapshots = []
    for n in range(1, 21):
        chat.last_seq = n
        chat.subject = f"s{n}"
        snapshots.append(WriteIntent().save_chat(make_copy(chat)).add_event(chat.id, message(n)))
    await asyncio.gather(*(store.write(w) for w in snapshots))
    loaded = await store.load_chat(chat.id)
    assert loaded is not None and loaded.subject == "s20" and loaded.last_seq == 20
    assert max(batches) > 1, batches


def make_copy(chat: Chat) -> Chat:
    return codec.chat_from_snapshot(codec.chat_snapshot(chat))


# -- the event log ---------------------------------------------------------------------------------
async def test_a_failing_intent_leaves_nothing_behind(backend: Backend) -> None:
    """Alone or in a batch, an intent that fails part way writes none of its rows."""
    store = await backend.open()
    chat = make_chat()
    chat.last_seq = 1
    await store.write(WriteIntent().save_chat(make_copy(chat)).add_event(chat.id, message(1), "m1"))
    chat.subject = "changed"
    chat.last_seq = 2
    # The chat row comes first in the intent, the duplicate event after it.
    bad = (
        WriteIntent(kv_put=[("ns", "bad", "1", None)])
        .save_chat(make_copy(chat))
        .add_event(chat.id, message(1))
    )
    with pytest.raises(Exception):  # noqa: B017 - each store raises its driver's own error
        await store.write(bad)
    good = WriteIntent(kv_put=[("ns", "good", "1", None)])
    results = await asyncio.gather(store.write(bad), store.write(good), return_exceptions=True)
    assert isinstance(results[0], Exception) and results[1] is None, results
    loaded = await store.load_chat(chat.id)
    assert loaded is not None and loaded.subject != "changed" and loaded.last_seq == 1
    assert await store.kv_list("ns") == {"good": "1"}
    assert [e.seq for e in await store.read_events(chat.id, 0, 10)] == [1]


async def test_dense_seq_and_dedupe_under_concurrent_batches(backend: Backend) -> None:
    """20 chats write 15 messages each concurrently, with duplicate seqs and dedupe keys mixed in:
    exactly the duplicates fail, everything else commits, in batches."""
    store = await backend.open()
    batches: list[int] = []
    store.on_commit = lambda seconds, size: batches.append(size)  # type: ignore[attr-defined]
    chats = [make_chat(number=n) for n in range(20)]
    await asyncio.gather(*(store.write(WriteIntent().save_chat(c)) for c in chats))
    failures: list[tuple[str, int, BaseException]] = []

    async def talk(chat: Chat) -> None:
        for seq in range(1, 16):
            chat.last_seq = seq
            good = WriteIntent().save_chat(chat).add_event(chat.id, message(seq), f"m{seq}")
            dup_key = WriteIntent().add_event(chat.id, message(seq + 100), f"m{seq}")
            dup_seq = WriteIntent().add_event(chat.id, message(seq, "again"), f"other{seq}")
            # The good write and its two duplicates are queued together: one batch.
            results = await asyncio.gather(
                store.write(good), store.write(dup_key), store.write(dup_seq), return_exceptions=True
            )
            assert results[0] is None, results[0]
            for label, result in zip(("key", "seq"), results[1:], strict=True):
                assert isinstance(result, Exception), f"duplicate {label} accepted at {chat.id}:{seq}"
                failures.append((label, seq, result))

    await asyncio.gather(*(talk(c) for c in chats))
    assert len(failures) == 20 * 15 * 2
    for chat in chats:
        events = await store.read_events(chat.id, 0, 1000)
        assert [e.seq for e in events] == list(range(1, 16))
        assert all(e.data == {"text": "hi"} for e in events)
        assert await store.dedupe_keys(chat.id) == {f"m{s}": s for s in range(1, 16)}
        loaded = await store.load_chat(chat.id)
        assert loaded is not None and loaded.last_seq == 15
    assert max(batches) > 3, batches
    # The writer is still there after 600 failed intents.
    await store.write(WriteIntent(counters=[("t1", "after", 1)]))
    await store.ping()


async def test_a_bad_intent_fails_alone_in_a_batch_with_deletes(backend: Backend) -> None:
    store = await backend.open()
    chat = make_chat()
    await store.write(WriteIntent().save_chat(chat).add_event(chat.id, message(1), "k1"))
    writes = [
        WriteIntent(kv_put=[("ns", "a", "1", None)]),
        WriteIntent(kv_delete=[("ns", "zz")]).add_event(chat.id, message(2), "k1"),  # dup key
        WriteIntent(kv_put=[("ns", "b", "2", None)], kv_delete=[("ns", "a")]),
        WriteIntent().add_event(chat.id, message(1)),  # dup seq
        WriteIntent(crm_put=[("t1", "x", "c", "{}")]).add_event(chat.id, message(2), "k2"),
    ]
    results = await asyncio.gather(*(store.write(w) for w in writes), return_exceptions=True)
    assert [r is None for r in results] == [True, False, True, False, True], results
    assert await store.kv_list("ns") == {"b": "2"}
    assert [e.seq for e in await store.read_events(chat.id, 0, 10)] == [1, 2]
    assert await store.crm_rows("t1") == [("x", "c", "{}")]


async def test_writer_survives_a_failed_intent(store: Store) -> None:
    chat = make_chat()
    await store.write(WriteIntent().save_chat(chat).add_event(chat.id, message(1)))
    await until_raises(store.write(WriteIntent().add_event(chat.id, message(1))))
    await until_raises(store.write(WriteIntent().save_chat(make_chat(number=1))))  # tenant+number taken
    await store.write(WriteIntent().add_event(chat.id, message(2)))
    assert [e.seq for e in await store.read_events(chat.id, 0, 10)] == [1, 2]
    await store.ping()


# -- key-value, purges, outbox, CRM, customers, exports -------------------------------------------
async def test_kv_entries_expire(store: Store) -> None:
    now = time.time()
    await store.write(
        WriteIntent(
            kv_put=[
                ("ns", "forever", "a", None),
                ("ns", "later", "b", now + 60),
                ("ns", "gone", "c", now - 1),
                ("other", "later", "d", now + 60),
            ]
        )
    )
    assert await store.kv_get("ns", "forever") == "a"
    assert await store.kv_get("ns", "later") == "b"
    assert await store.kv_get("ns", "gone") is None
    assert await store.kv_list("ns") == {"forever": "a", "later": "b"}
    assert await store.kv_list("other") == {"later": "d"}
    await store.write(WriteIntent(kv_put=[("ns", "gone", "back", None)]))
    assert await store.kv_get("ns", "gone") == "back"


async def test_purge_removes_a_chat_and_everything_of_it(store: Store) -> None:
    doomed, kept = make_chat(number=1), make_chat(number=2)
    rows = {c.id: outbox_row(n, chat_id=c.id) for n, c in enumerate((doomed, kept))}
    for n, c in enumerate((doomed, kept)):
        await store.write(
            WriteIntent(
                files=[FileRecord(f"f{n}", "t1", "o", c.id, "n", "t", 1, 1.0, "/p")],
                blobs=[(f"f{n}", bytes([n]))],
                surveys=[SurveyRecord(f"s{n}", "t1", c.id, "native", None, [], 1700.0 + n)],
                outbox=[rows[c.id]],
                attempts=[DeliveryAttempt(rows[c.id].id, 1, 1.0, 200, None, 1)],
            )
            .save_chat(c)
            .add_event(c.id, message(1), "k")
        )
    loose = FileRecord("loose", "t1", "o", None, "n", "t", 1, 1.0, "/p")
    await store.write(WriteIntent(files=[loose], blobs=[("loose", b"x")]))
    await store.write(WriteIntent(purges=[Purge(chat_ids=[doomed.id], file_ids=["loose"])]))
    assert await store.load_chat(doomed.id) is None
    assert await store.read_events(doomed.id, 0, 10) == []
    assert await store.dedupe_keys(doomed.id) == {}
    assert await store.chat_files([doomed.id]) == []
    assert await store.get_file("loose") is None
    assert await store.file_bytes("loose") is None
    assert await store.file_bytes("f0") is None
    assert await store.file_bytes("f1") == bytes([1])
    assert await store.outbox_get(rows[doomed.id].id) is None
    assert await store.delivery_attempts(rows[doomed.id].id) == []
    assert [s.id for s in await store.list_surveys("t1", 0, 1e12)] == ["s1"]
    # The other chat is untouched.
    assert await store.load_chat(kept.id) == kept
    assert len(await store.read_events(kept.id, 0, 10)) == 1
    assert len(await store.chat_files([kept.id])) == 1
    assert await store.outbox_get(rows[kept.id].id) == rows[kept.id]
    assert len(await store.delivery_attempts(rows[kept.id].id)) == 1


async def test_file_bytes_round_trip_once(store: Store) -> None:
    """Upload bytes kept in the store (server.files.kind: store): binary-safe, written once."""
    data = bytes(range(256)) * 400  # every byte value, 100 KiB
    record = FileRecord("blob1", "t1", "o", None, "b.bin", "application/octet-stream", len(data), 1.0, "b1")
    await store.write(WriteIntent(files=[record], blobs=[("blob1", data)]))
    await store.write(WriteIntent(blobs=[("blob1", b"overwrite attempt")]))
    assert await store.file_bytes("blob1") == data
    assert await store.file_bytes("missing") is None


async def test_outbox_listing_paging_and_due(store: Store) -> None:
    rows = [outbox_row(n, hook="h1" if n % 2 else "h2") for n in range(1, 8)]
    rows[2].status = "delivered"
    rows[4].status = "failed"
    other = outbox_row(9, tenant="t2")
    await store.write(WriteIntent(outbox=[*rows, other]))
    page, total = await store.outbox_list("t1", None, 3, 0)
    newest_first = sorted(rows, key=lambda r: -r.created_at)
    assert total == 7 and page == newest_first[:3]
    page, total = await store.outbox_list("t1", None, 3, 6)
    assert total == 7 and page == newest_first[6:]
    page, total = await store.outbox_list("t1", "h1", 10, 1)
    h1 = [r for r in newest_first if r.webhook_id == "h1"]
    assert total == len(h1) == 4 and page == h1[1:]
    assert await store.outbox_list("t9", None, 10, 0) == ([], 0)
    due = await store.outbox_due(3005.0, 10)
    assert [r.id for r in due] == [r.id for r in rows if r.status == "pending" and r.next_at <= 3005.0]
    assert [r.id for r in await store.outbox_due(1e9, 2)] == [rows[0].id, rows[1].id]


async def test_crm_rows_per_tenant(store: Store) -> None:
    await store.write(
        WriteIntent(
            crm_put=[("t1", "a", "contacts", "1"), ("t1", "b", "accounts", "2"), ("t2", "a", "contacts", "3")]
        )
    )
    await store.write(WriteIntent(crm_delete=[("t1", "b")], crm_put=[("t1", "a", "contacts", "1b")]))
    assert await store.crm_rows("t1") == [("a", "contacts", "1b")]
    await store.write(WriteIntent(crm_clear=["t1"]))
    assert await store.crm_rows("t1") == []
    assert await store.crm_rows("t2") == [("a", "contacts", "3")]


async def test_customer_chats_match_the_email_case_insensitively(store: Store) -> None:
    first = make_chat(number=1, email="Carla@Example.COM", created_at=10.0)
    second = make_chat(number=2, email="carla@example.com", created_at=20.0)
    stranger = make_chat(number=3, email="someone@example.com", created_at=15.0)
    anonymous = make_chat(number=4, email=None, created_at=16.0)
    elsewhere = make_chat("t2", 1, email="carla@example.com", created_at=12.0)
    intent = WriteIntent()
    for c in (second, stranger, first, anonymous, elsewhere):
        intent.save_chat(c)
    await store.write(intent)
    assert await store.customer_chats("t1", "CARLA@example.com") == [first.id, second.id]
    assert await store.customer_chats("t2", "carla@EXAMPLE.com") == [elsewhere.id]
    assert await store.customer_chats("t1", "nobody@example.com") == []


async def test_chats_between_pages_by_id(store: Store) -> None:
    chats = [make_chat(number=n, created_at=100.0 + n) for n in range(12)]
    intent = WriteIntent()
    for c in chats:
        intent.save_chat(c)
    await store.write(intent)
    inside = sorted((c for c in chats if 102.0 <= c.created_at < 110.0), key=lambda c: c.id)
    assert await store.count_chats_between(102.0, 110.0) == len(inside) == 8
    seen: list[Chat] = []
    after = ""
    while page := await store.chats_between(102.0, 110.0, after, 3):
        assert len(page) <= 3
        seen += page
        after = page[-1].id
    assert seen == inside


# -- leases and fencing ------------------------------------------------------------------------------
async def test_lease_claim_renew_takeover_and_release(store: Store) -> None:
    assert await store.lease_get("engine") is None
    first = await store.lease_claim("engine", "node-a", "http://a", 30.0)
    assert (first.holder, first.url, first.epoch) == ("node-a", "http://a", 1)
    assert abs(first.expires_at - (time.time() + 30.0)) < 5  # the store's clock, same host
    renewed = await store.lease_claim("engine", "node-a", "http://a2", 60.0)
    assert (renewed.holder, renewed.url, renewed.epoch) == ("node-a", "http://a2", 1)
    assert renewed.expires_at > first.expires_at
    refused = await store.lease_claim("engine", "node-b", "http://b", 30.0)
    assert (refused.holder, refused.epoch, refused.expires_at) == ("node-a", 1, renewed.expires_at)
    assert await store.lease_get("engine") == renewed

    short = await store.lease_claim("engine", "node-a", "http://a", 0.2)
    assert short.epoch == 1
    await asyncio.sleep(0.4)
    taken = await store.lease_claim("engine", "node-b", "http://b", 30.0)
    assert (taken.holder, taken.epoch) == ("node-b", 2)
    assert (await store.lease_claim("engine", "node-a", "http://a", 30.0)).holder == "node-b"

    await store.lease_release("engine", "node-a")  # not the holder: nothing happens
    assert (await store.lease_claim("engine", "node-c", "http://c", 30.0)).holder == "node-b"
    await store.lease_release("engine", "node-b")
    handed = await store.lease_claim("engine", "node-c", "http://c", 30.0)
    assert (handed.holder, handed.epoch) == ("node-c", 3)
    other = await store.lease_claim("timers", "node-a", "http://a", 30.0)
    assert (other.holder, other.epoch) == ("node-a", 1)  # leases are independent by name


async def test_concurrent_claims_have_exactly_one_winner(backend: Backend) -> None:
    nodes = [await backend.open() for _ in range(2)]  # two nodes' stores on one database
    for name, ttl in (("fresh", 30.0), ("expired", 30.0)):
        if name == "expired":
            await nodes[0].lease_claim(name, "old", "http://old", 0.1)
            await asyncio.sleep(0.3)
        claims = await asyncio.gather(
            *(nodes[i % 2].lease_claim(name, f"node-{i}", f"http://{i}", ttl) for i in range(10))
        )
        won = [i for i, c in enumerate(claims) if c.holder == f"node-{i}"]
        assert len(won) == 1, claims
        assert {c.holder for c in claims} == {f"node-{won[0]}"}
        assert {c.epoch for c in claims} == {1 if name == "fresh" else 2}


async def test_fenced_writes_of_a_deposed_holder_fail_and_store_nothing(backend: Backend) -> None:
    old, new = await backend.open(), await backend.open()
    lease = await old.lease_claim("engine", "node-a", "http://a", 0.3)
    old.fence("engine", "node-a", lease.epoch)
    chat = make_chat()
    await old.write(WriteIntent().save_chat(chat).add_event(chat.id, message(1)))
    await asyncio.sleep(0.5)
    taken = await new.lease_claim("engine", "node-b", "http://b", 30.0)
    assert taken.epoch == lease.epoch + 1
    new.fence("engine", "node-b", taken.epoch)

    late = [
        WriteIntent().add_event(chat.id, message(2), "late"),
        WriteIntent(kv_put=[("ns", "late", "x", None)]),
        WriteIntent(counters=[("t1", "late", 1)]),
    ]
    results = await asyncio.gather(*(old.write(w) for w in late), return_exceptions=True)
    assert all(isinstance(r, LeaseLost) for r in results), results
    assert [e.seq for e in await new.read_events(chat.id, 0, 10)] == [1]
    assert await new.kv_get("ns", "late") is None
    assert await new.load_counters() == {}

    await new.write(WriteIntent().add_event(chat.id, message(2), "mine"))
    assert await new.dedupe_keys(chat.id) == {"mine": 2}
    # Renewal keeps the epoch, so the new holder's fence stays valid.
    assert (await new.lease_claim("engine", "node-b", "http://b", 30.0)).epoch == taken.epoch
    await new.write(WriteIntent(kv_put=[("ns", "still", "ok", None)]))
    assert await old.kv_get("ns", "still") == "ok"


# -- durability and start -----------------------------------------------------------------------------
async def test_everything_is_there_after_close_and_reopen(backend: Backend) -> None:
    store = await backend.open()
    chats = [make_chat(number=n) for n in range(30)]

    async def talk(chat: Chat) -> None:
        for seq in range(1, 11):
            chat.last_seq = seq
            await store.write(WriteIntent().save_chat(chat).add_event(chat.id, message(seq), f"k{seq}"))

    await asyncio.gather(*(talk(c) for c in chats))
    lease = await store.lease_claim("engine", "node-a", "http://a", 60.0)
    await store.write(
        WriteIntent(
            kv_put=[("ns", "k", "v", None)],
            counters=[("t1", "chat_number", 30)],
            outbox=[outbox_row(1)],
            crm_put=[("t1", "a", "contacts", "{}")],
        ).save_agent(AgentRuntime("t1", "alice", state="ready"))
    )
    await store.close()

    reopened = await backend.open()
    assert sorted(c.id for c in await reopened.load_chats(live_only=False)) == sorted(c.id for c in chats)
    for chat in chats:
        assert await reopened.load_chat(chat.id) == chat
        assert [e.seq for e in await reopened.read_events(chat.id, 0, 100)] == list(range(1, 11))
    assert await reopened.kv_get("ns", "k") == "v"
    assert await reopened.load_counters() == {("t1", "chat_number"): 30}
    assert len(await reopened.outbox_due(1e12, 10)) == 1
    assert await reopened.crm_rows("t1") == [("a", "contacts", "{}")]
    assert [a.login for a in await reopened.load_agents()] == ["alice"]
    assert await reopened.lease_get("engine") == lease


async def test_start_refuses_an_unmigrated_database_unless_told_to_migrate(
    backend_spec: tuple[str, str], tmp_path: Path
) -> None:
    kind, _ = backend_spec
    name = ""
    if kind == "sqlite":

        def make(auto_migrate: bool) -> Store:
            return SqliteStore(tmp_path / "fresh.db", auto_migrate=auto_migrate)

    else:
        name = await _create_database()
        url = _database_url(name)

        def make(auto_migrate: bool) -> Store:
            return PostgresStore(url, auto_migrate=auto_migrate)

    try:
        refusing = make(False)
        with pytest.raises(RuntimeError, match="out of date: run `frontdesk migrate`"):
            await refusing.start()
        await refusing.close()
        migrating = make(True)
        await migrating.start()
        try:
            await migrating.write(WriteIntent(kv_put=[("ns", "k", "v", None)]))
            assert await migrating.kv_get("ns", "k") == "v"
        finally:
            await migrating.close()
    finally:
        if name:
            await _drop_database(name)


# -- PostgreSQL only: URLs, an unreachable server, a broken writer connection, the CLI --------------
async def test_postgres_accepts_every_url_spelling(pg_url: str) -> None:
    rest = pg_url.partition("://")[2]
    for scheme in ("postgresql", "postgres", "postgresql+asyncpg"):
        store = PostgresStore(f"{scheme}://{rest}", pool_size=2)
        await store.start()
        try:
            await store.ping()
            await store.write(WriteIntent(kv_put=[("urls", scheme, "ok", None)]))
        finally:
            await store.close()


async def test_postgres_unreachable_names_the_server_and_how_to_start_it() -> None:
    store = PostgresStore("postgresql://frontdesk:s3cret@127.0.0.1:1/frontdesk")
    with pytest.raises(RuntimeError) as info:
        await store.start()
    message = str(info.value)
    assert "127.0.0.1:1" in message and START_POSTGRES in message and "s3cret" not in message
    await store.close()


async def test_postgres_writer_reconnects_after_its_connection_is_killed(pg_url: str) -> None:
    """A batch in flight when the writer's backend dies fails with the error; the writer reconnects
    for the next batch; and after every connection of the database is killed (a server restart),
    writes and reads work again."""
    await _execute(pg_url, "TRUNCATE kv")
    dbname = urlsplit(pg_url).path.lstrip("/")
    store = PostgresStore(pg_url, pool_size=2)
    await store.start()
    try:
        await store.write(WriteIntent(kv_put=[("rc", "before", "1", None)]))
        blocker = await asyncpg.connect(pg_url, timeout=5)
        try:
            async with blocker.transaction():
                await blocker.execute("LOCK TABLE kv IN ACCESS EXCLUSIVE MODE")
                blocked = asyncio.ensure_future(store.write(WriteIntent(kv_put=[("rc", "lost", "1", None)])))
                pid = None
                for _ in range(200):
                    pid = await blocker.fetchval(
                        "SELECT pid FROM pg_stat_activity WHERE datname=$1 AND wait_event_type='Lock'", dbname
                    )
                    if pid is not None:
                        break
                    await asyncio.sleep(0.02)
                assert pid is not None, "the writer never waited on the lock"
                await blocker.execute("SELECT pg_terminate_backend($1)", pid)
                with pytest.raises(Exception) as info:
                    await blocked
                assert not isinstance(info.value, AssertionError)
        finally:
            await blocker.close()
        await store.write(WriteIntent(kv_put=[("rc", "after", "1", None)]))
        assert (await store.stats())["reconnects"] == 1
        assert await store.kv_list("rc") == {"before": "1", "after": "1"}

        await _admin(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{dbname}' AND pid <> pg_backend_pid()"
        )
        await asyncio.sleep(0.3)
        await store.write(WriteIntent(kv_put=[("rc", "restart", "1", None)]))
        assert (await store.kv_list("rc"))["restart"] == "1"
        await store.ping()
    finally:
        await store.close()


def test_postgres_migrate_command(tmp_path: Path) -> None:
    name = asyncio.run(_create_database())
    try:
        url = _database_url(name).replace("postgresql://", "postgres://", 1)
        cfg = demo_dict()
        cfg["server"]["store"] = {"kind": "postgresql", "url": url}
        path = tmp_path / "frontdesk.yaml"
        path.write_text(yaml.safe_dump(cfg))
        for _ in range(2):  # a second run finds the schema at head and does nothing
            done = subprocess.run(
                [sys.executable, "-W", "error", "-m", "frontdesk", "migrate", "--config", str(path)],
                capture_output=True,
                text=True,
                timeout=120,
                cwd=tmp_path,
            )
            assert done.returncode == 0, done.stderr
        assert migrate.is_current(url)
    finally:
        asyncio.run(_drop_database(name))


def test_sql_placeholders_are_numbered_for_asyncpg() -> None:
    assert (
        sql.numbered("SELECT a FROM t WHERE x=? AND y IN (?,?)")
        == "SELECT a FROM t WHERE x=$1 AND y IN ($2,$3)"
    )
    assert sql.numbered(sql.CHAT).count("$") == 9 and "?" not in sql.numbered(sql.CHAT)
