"""The read half of the store contract, one implementation for every SQL store.

Each store supplies ``_rows`` (run one SELECT written with ``?`` placeholders on its own reader) and
the one query whose SQL differs by dialect, the customer's e-mail inside the chat snapshot; the
rest is the same SQL and the same decoding, so the two stores cannot drift apart.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Sequence
from typing import Any, ClassVar

from frontdesk.domain.events import Event
from frontdesk.domain.model import AgentRuntime, Chat, FileRecord, SurveyRecord
from frontdesk.store import codec, sql
from frontdesk.store.protocol import DeliveryAttempt, Lease, OutboxRow

LIVE_WINDOW = 86400.0  # ended chats younger than this are loaded with the live ones


class SqlReads(abc.ABC):
    # SELECT id FROM chats of one tenant (?) whose customer e-mail equals ? case-insensitively.
    CUSTOMER_CHATS: ClassVar[str]

    @abc.abstractmethod
    async def _rows(self, statement: str, *params: Any) -> Sequence[Sequence[Any]]: ...

    async def load_chats(self, *, live_only: bool) -> list[Chat]:
        if live_only:
            rows = await self._rows(sql.LIVE_CHATS, time.time() - LIVE_WINDOW)
        else:
            rows = await self._rows(sql.ALL_CHATS)
        return [codec.chat_from_snapshot(r[0]) for r in rows]

    async def load_chat(self, chat_id: str) -> Chat | None:
        rows = await self._rows(sql.CHAT_SNAPSHOT, chat_id)
        return codec.chat_from_snapshot(rows[0][0]) if rows else None

    async def read_events(self, chat_id: str, since: int, limit: int) -> list[Event]:
        rows = await self._rows(sql.EVENTS_SINCE, chat_id, since, limit)
        return [codec.event_from_row(*r) for r in rows]

    async def dedupe_keys(self, chat_id: str) -> dict[str, int]:
        rows = await self._rows(sql.DEDUPE_KEYS, chat_id)
        return {r[0]: r[1] for r in rows}

    async def load_agents(self) -> list[AgentRuntime]:
        rows = await self._rows(sql.AGENTS)
        return [codec.agent_from_snapshot(r[0]) for r in rows]

    async def load_counters(self) -> dict[tuple[str, str], int]:
        rows = await self._rows(sql.COUNTERS)
        return {(r[0], r[1]): r[2] for r in rows}

    async def kv_get(self, namespace: str, key: str) -> str | None:
        rows = await self._rows(sql.KV_GET, namespace, key, time.time())
        return str(rows[0][0]) if rows else None

    async def kv_list(self, namespace: str) -> dict[str, str]:
        rows = await self._rows(sql.KV_LIST, namespace, time.time())
        return {r[0]: r[1] for r in rows}

    async def get_file(self, file_id: str) -> FileRecord | None:
        rows = await self._rows(sql.FILE_GET, file_id)
        return codec.file_from_row(tuple(rows[0])) if rows else None

    async def file_bytes(self, file_id: str) -> bytes | None:
        rows = await self._rows(sql.BLOB_GET, file_id)
        return bytes(rows[0][0]) if rows else None

    async def list_surveys(self, tenant_id: str, since: float, until: float) -> list[SurveyRecord]:
        rows = await self._rows(sql.SURVEYS, tenant_id, float(since), float(until))
        return [codec.survey_from_row(r[0]) for r in rows]

    async def lease_get(self, name: str) -> Lease | None:
        rows = await self._rows(sql.LEASE_GET, name)
        return Lease(*rows[0]) if rows else None

    # -- operations ----------------------------------------------------------------------------
    async def outbox_due(self, now: float, limit: int) -> list[OutboxRow]:
        rows = await self._rows(sql.OUTBOX_DUE, float(now), limit)
        return [OutboxRow(*r) for r in rows]

    async def outbox_list(
        self, tenant_id: str, webhook_id: str | None, limit: int, offset: int
    ) -> tuple[list[OutboxRow], int]:
        params: tuple[str, ...]
        if webhook_id is None:
            count, page, params = sql.OUTBOX_COUNT, sql.OUTBOX_PAGE, (tenant_id,)
        else:
            count, page, params = sql.OUTBOX_COUNT_HOOK, sql.OUTBOX_PAGE_HOOK, (tenant_id, webhook_id)
        total = (await self._rows(count, *params))[0][0]
        rows = await self._rows(page, *params, limit, offset)
        return [OutboxRow(*r) for r in rows], int(total)

    async def outbox_get(self, delivery_id: str) -> OutboxRow | None:
        rows = await self._rows(sql.OUTBOX_GET, delivery_id)
        return OutboxRow(*rows[0]) if rows else None

    async def delivery_attempts(self, delivery_id: str) -> list[DeliveryAttempt]:
        rows = await self._rows(sql.ATTEMPTS, delivery_id)
        return [DeliveryAttempt(*r) for r in rows]

    async def ended_chats_before(self, tenant_id: str, before: float, limit: int) -> list[str]:
        rows = await self._rows(sql.ENDED_CHATS_BEFORE, tenant_id, float(before), limit)
        return [str(r[0]) for r in rows]

    async def files_before(self, tenant_id: str, before: float, limit: int) -> list[FileRecord]:
        rows = await self._rows(sql.FILES_BEFORE, tenant_id, float(before), limit)
        return [codec.file_from_row(tuple(r)) for r in rows]

    async def chat_files(self, chat_ids: list[str]) -> list[FileRecord]:
        out: list[FileRecord] = []
        for chat_id in chat_ids:
            rows = await self._rows(sql.CHAT_FILES, chat_id)
            out += [codec.file_from_row(tuple(r)) for r in rows]
        return out

    async def customer_chats(self, tenant_id: str, email: str) -> list[str]:
        rows = await self._rows(self.CUSTOMER_CHATS, tenant_id, email)
        return [str(r[0]) for r in rows]

    async def chats_between(self, since: float, until: float, after_id: str, limit: int) -> list[Chat]:
        rows = await self._rows(sql.CHATS_BETWEEN, float(since), float(until), after_id, limit)
        return [codec.chat_from_snapshot(r[0]) for r in rows]

    async def count_chats_between(self, since: float, until: float) -> int:
        rows = await self._rows(sql.COUNT_CHATS_BETWEEN, float(since), float(until))
        return int(rows[0][0])

    async def crm_rows(self, tenant_id: str) -> list[tuple[str, str, str]]:
        rows = await self._rows(sql.CRM_ROWS, tenant_id)
        return [(str(r[0]), str(r[1]), str(r[2])) for r in rows]
