"""The store contract: what the engine may ask of any storage implementation.

Writes arrive as ``WriteIntent`` objects: everything one engine decision changed, applied in one
transaction, so an acknowledged message is never half-stored. Implementations may batch several
intents into one commit (group commit) as long as each intent stays all-or-nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from frontdesk.domain.events import Event
from frontdesk.domain.model import AgentRuntime, Chat, FileRecord, SurveyRecord


@dataclass(slots=True)
class OutboxRow:
    """One webhook delivery: written with the events that cause it, updated by the delivery worker."""

    id: str
    tenant_id: str
    webhook_id: str
    event: str
    payload: str  # the JSON body, exactly as it is signed and sent
    created_at: float
    chat_id: str | None = None
    attempts: int = 0
    next_at: float = 0.0
    status: str = "pending"  # pending | delivered | failed
    last_status: int | None = None
    last_error: str | None = None
    delivered_at: float | None = None


@dataclass(slots=True)
class DeliveryAttempt:
    delivery_id: str
    attempt: int
    at: float
    status_code: int | None
    error: str | None
    duration_ms: int


@dataclass(slots=True)
class Lease:
    """Who owns a named duty (the engine) until when; ``epoch`` grows by one at every change of holder.

    ``expires_at`` is on the store's clock, so nodes with skewed clocks still agree on expiry."""

    name: str
    holder: str
    url: str
    epoch: int
    expires_at: float


class LeaseLost(RuntimeError):
    """A write was refused because the fenced lease is no longer held by this node with its epoch."""


@dataclass(slots=True)
class Purge:
    """Chats (with their events, files and surveys) and single files to delete in one transaction."""

    chat_ids: list[str] = field(default_factory=list)
    file_ids: list[str] = field(default_factory=list)


@dataclass(slots=True)
class WriteIntent:
    chats: list[Chat] = field(default_factory=list)
    events: list[tuple[str, Event, str | None]] = field(default_factory=list)
    agents: list[AgentRuntime] = field(default_factory=list)
    counters: list[tuple[str, str, int]] = field(default_factory=list)
    kv_put: list[tuple[str, str, str, float | None]] = field(default_factory=list)
    kv_delete: list[tuple[str, str]] = field(default_factory=list)
    files: list[FileRecord] = field(default_factory=list)
    blobs: list[tuple[str, bytes]] = field(default_factory=list)  # (file id, bytes) when kept in the store
    surveys: list[SurveyRecord] = field(default_factory=list)
    outbox: list[OutboxRow] = field(default_factory=list)
    attempts: list[DeliveryAttempt] = field(default_factory=list)
    purges: list[Purge] = field(default_factory=list)
    # CRM records (spec/crmod-cti.md §7): tenants to empty first, then (tenant, row id, collection,
    # JSON) rows to upsert and (tenant, row id) rows to delete.
    crm_clear: list[str] = field(default_factory=list)
    crm_put: list[tuple[str, str, str, str]] = field(default_factory=list)
    crm_delete: list[tuple[str, str]] = field(default_factory=list)

    def save_chat(self, chat: Chat) -> WriteIntent:
        if not any(c is chat for c in self.chats):
            self.chats.append(chat)
        return self

    def add_event(self, chat_id: str, event: Event, dedupe_key: str | None = None) -> WriteIntent:
        self.events.append((chat_id, event, dedupe_key))
        return self

    def save_agent(self, agent: AgentRuntime) -> WriteIntent:
        if not any(a is agent for a in self.agents):
            self.agents.append(agent)
        return self

    def __bool__(self) -> bool:
        return bool(
            self.chats
            or self.events
            or self.agents
            or self.counters
            or self.kv_put
            or self.kv_delete
            or self.files
            or self.blobs
            or self.surveys
            or self.outbox
            or self.attempts
            or self.purges
            or self.crm_clear
            or self.crm_put
            or self.crm_delete
        )


class Store(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def write(self, intent: WriteIntent) -> None:
        """Apply the intent in one transaction; returns only after it committed."""

    async def load_chats(self, *, live_only: bool) -> list[Chat]: ...

    async def load_chat(self, chat_id: str) -> Chat | None: ...

    async def read_events(self, chat_id: str, since: int, limit: int) -> list[Event]: ...

    async def dedupe_keys(self, chat_id: str) -> dict[str, int]: ...

    async def load_agents(self) -> list[AgentRuntime]: ...

    async def load_counters(self) -> dict[tuple[str, str], int]: ...

    async def kv_get(self, namespace: str, key: str) -> str | None: ...

    async def kv_list(self, namespace: str) -> dict[str, str]: ...

    async def get_file(self, file_id: str) -> FileRecord | None: ...

    async def file_bytes(self, file_id: str) -> bytes | None:
        """The bytes of an upload kept in the store (``server.files.kind: store``)."""

    async def list_surveys(self, tenant_id: str, since: float, until: float) -> list[SurveyRecord]: ...

    async def crm_rows(self, tenant_id: str) -> list[tuple[str, str, str]]:
        """Every CRM row of the tenant as (row id, collection, JSON)."""

    async def stats(self) -> dict[str, Any]: ...

    # -- operations (webhook outbox, retention, customer data, export) --------------------------
    async def outbox_due(self, now: float, limit: int) -> list[OutboxRow]: ...

    async def outbox_list(
        self, tenant_id: str, webhook_id: str | None, limit: int, offset: int
    ) -> tuple[list[OutboxRow], int]: ...

    async def outbox_get(self, delivery_id: str) -> OutboxRow | None: ...

    async def delivery_attempts(self, delivery_id: str) -> list[DeliveryAttempt]: ...

    async def ended_chats_before(self, tenant_id: str, before: float, limit: int) -> list[str]: ...

    async def files_before(self, tenant_id: str, before: float, limit: int) -> list[FileRecord]: ...

    async def chat_files(self, chat_ids: list[str]) -> list[FileRecord]: ...

    async def customer_chats(self, tenant_id: str, email: str) -> list[str]: ...

    async def chats_between(self, since: float, until: float, after_id: str, limit: int) -> list[Chat]: ...

    async def count_chats_between(self, since: float, until: float) -> int: ...

    async def ping(self) -> None:
        """Raise when the store cannot answer a trivial read (readiness)."""

    # -- many nodes (design section 5) ----------------------------------------------------------
    async def lease_claim(self, name: str, holder: str, url: str, ttl: float) -> Lease:
        """Renew the lease if ``holder`` holds it, take it if it is free or expired, else leave it.

        Returns the lease as it stands afterwards, whoever holds it. Renewal keeps the epoch; a
        change of holder increments it. Atomic: two nodes claiming at once never both win."""

    async def lease_get(self, name: str) -> Lease | None: ...

    async def lease_release(self, name: str, holder: str) -> None:
        """Expire the lease now if ``holder`` holds it (a clean shutdown hands over at once)."""

    def fence(self, name: str, holder: str, epoch: int) -> None:
        """From now on, every write transaction first checks that ``holder`` still holds lease
        ``name`` with ``epoch`` and otherwise fails with ``LeaseLost`` and writes nothing."""
