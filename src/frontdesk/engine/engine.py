"""The one entry point of the engine: composes store, bus, routing, timers and services.

Faces call only this class (plus the read-only domain objects it returns).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

import structlog

from frontdesk.bus.memory import MemoryBus
from frontdesk.bus.nats import NatsBus
from frontdesk.bus.protocol import Bus
from frontdesk.bus.redis import RedisBus
from frontdesk.config import Config, EntryPointConfig
from frontdesk.config.server import BUS_DEFAULT_URLS
from frontdesk.crm.service import CrmService
from frontdesk.domain import errors
from frontdesk.domain.events import Event
from frontdesk.domain.model import AgentRuntime, Chat, FileRecord, Offer, SurveyRecord
from frontdesk.engine import (
    agents,
    availability,
    chats,
    conversation,
    crm_hooks,
    lifecycle,
    retention,
    routing,
    timeouts,
)
from frontdesk.engine.auth import Auth, Principal
from frontdesk.engine.core import Core, Finished, Tx
from frontdesk.engine.files import FileService
from frontdesk.engine.notifier import Notifier, Waiter, chat_topic, tenant_topic
from frontdesk.engine.tenants import Registry, Tenant
from frontdesk.engine.webhooks import WebhookOutbox
from frontdesk.store.protocol import Store
from frontdesk.store.sqlite import SqliteStore

log = logging.getLogger("frontdesk.engine")


def bind_log_context(**ids: str) -> None:
    """Tenant, chat and agent ids join every log line of the current request (structlog contextvars)."""
    structlog.contextvars.bind_contextvars(**ids)


def build_store(config: Config) -> Store:
    store_cfg = config.server.store
    if store_cfg.kind == "postgresql":
        # Imported here so that an embedded (SQLite) server never loads the PostgreSQL driver.
        from frontdesk.store.postgres import PostgresStore

        return PostgresStore(
            store_cfg.url,
            pool_size=store_cfg.pool_size,
            batch_max=store_cfg.write_batch_max,
            auto_migrate=store_cfg.auto_migrate,
        )
    if store_cfg.kind != "sqlite":
        raise RuntimeError(f"store kind {store_cfg.kind!r} is not available in this build")
    url = store_cfg.url or f"sqlite:///{Path(config.server.data_dir) / 'frontdesk.db'}"
    path = Path(url.removeprefix("sqlite:///"))
    return SqliteStore(path, batch_max=store_cfg.write_batch_max, auto_migrate=store_cfg.auto_migrate)


def build_bus(config: Config) -> Bus:
    bus_cfg = config.server.bus
    if bus_cfg.kind == "memory":
        return MemoryBus()
    url = bus_cfg.url or BUS_DEFAULT_URLS[bus_cfg.kind]
    node_id = config.server.cluster.node_id or "frontdesk"  # the bus makes origins unique itself
    if bus_cfg.kind == "redis":
        return RedisBus(url, bus_cfg.channel_prefix, node_id)
    if bus_cfg.kind == "nats":
        return NatsBus(url, bus_cfg.channel_prefix, node_id)
    raise RuntimeError(f"bus kind {bus_cfg.kind!r} is not available in this build")


class Engine:
    def __init__(self, config: Config, *, store: Store | None = None, bus: Bus | None = None) -> None:
        self.config = config
        self.registry = Registry(config)
        self.store = store or build_store(config)
        self.bus = bus or build_bus(config)
        self.notifier = Notifier(self.bus)
        self.core = Core(self.store, self.notifier, self.registry)
        self.core.router = lambda tenant_id: routing.route(self.core, tenant_id)
        self.auth = Auth(self.core)
        files_dir = Path(config.server.files.dir or Path(config.server.data_dir) / "files")
        self.files = FileService(self.core, files_dir, in_store=config.server.files.kind == "store")
        self.started_at = time.time()
        self._startup_hooks: list[Callable[[], Awaitable[None]]] = []
        self._kv_claims: set[tuple[str, str]] = set()
        self.crm = CrmService(self.store, self.registry)  # CRM records (native.md §9)
        crm_hooks.attach(self.core, self.crm)
        self.webhooks = WebhookOutbox(self.core)
        self.core.commit_hooks.append(self.webhooks.enqueue)
        # Services composed around the engine by the app (frontdesk.ops), by name.
        self.extensions: dict[str, Any] = {}
        self._connected = False

    # -- lifecycle ---------------------------------------------------------------------------
    async def connect(self) -> None:
        """Open the store and the bus without taking on any engine duty (a follower node stops here)."""
        if self._connected:
            return
        await self.bus.start()
        await self.store.start()
        self._connected = True

    async def start(self) -> None:
        """Connect, rebuild memory from the store, re-arm timers and begin routing."""
        await self.connect()
        await self._recover()
        await self.crm.start()
        await self.auth.start()
        for tenant_id in self.registry.tenants:
            self.core.request_route(tenant_id)
        for hook in self._startup_hooks:
            await hook()

    def add_startup_hook(self, factory: Callable[[], Awaitable[None]]) -> None:
        """Run ``factory()`` at the end of ``start()``, once recovery and routing are up.

        Faces and in-process helpers (the ECE demo agent) register here at app build time, before
        the engine has started, so they see recovered state and can call every operation.
        """
        self._startup_hooks.append(factory)

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """A background task of the engine's lifetime: cancelled by ``close()``."""
        self.core.spawn(coro)

    async def close(self) -> None:
        await self.core.close()
        if self._connected:
            await self.store.close()
            await self.bus.close()
            self._connected = False

    async def _recover(self) -> None:
        """Rebuild memory (caches and timers) from the store after a start or a crash."""
        core = self.core
        core.counters = await self.store.load_counters()
        now = time.time()
        for agent in await self.store.load_agents():
            agent.sockets = 0
            agent.last_seen = now
            core.agents[(agent.tenant_id, agent.login)] = agent
        for chat in await self.store.load_chats(live_only=True):
            await self._hydrate(chat)
            core.chats[chat.id] = chat
            tenant = self.registry.tenant(chat.tenant_id)
            if tenant is None:
                continue
            if chat.state == "ended":
                if chat.ended_at and now - chat.ended_at < availability.WINDOW:
                    core.finished.append(
                        Finished(
                            chat.tenant_id,
                            chat.queue,
                            chat.ended_at,
                            (chat.ended_at - chat.connected_at) if chat.connected_at else None,
                            (chat.connected_at or chat.ended_at) - chat.first_queued_at,
                            chat.was_connected,
                        )
                    )
                for w in chat.wrapups:
                    if not w.done and w.due_at is not None:
                        self._arm_wrapup(chat.id, w.login, w.due_at)
                lifecycle.arm_eviction(core, chat, (chat.ended_at or now) + lifecycle.EVICT_AFTER)
                lifecycle.arm_compaction(core, chat, now + lifecycle.COMPACT_AFTER)
                continue
            core.track(chat)
            if chat.identity is not None:
                core.identities[(chat.tenant_id, chat.identity)] = chat.id
            if chat.offer is not None:
                offer = chat.offer
                core.offers[offer.id] = offer
                self._arm(f"rona:{offer.id}", offer.expires_at, timeouts.rona, offer.id)
            if chat.state == "connected":
                timeouts.arm_inactivity(core, tenant, chat)
            if chat.state in ("queued", "offered"):
                lifecycle.arm_queue_timeout(core, tenant, chat)
            if chat.survey_pending is not None:
                due = now + float(chat.survey_pending.get("timeout", 120))
                self._arm(f"form:{chat.id}", due, timeouts.form_timeout, chat.id)

    async def _hydrate(self, chat: Chat) -> None:
        """Load a stored chat's log and dedupe index into memory."""
        stored_seq = chat.last_seq
        chat.events = await self.store.read_events(chat.id, 0, 1_000_000)
        chat.committed_seq = chat.last_seq = chat.events[-1].seq if chat.events else 0
        chats.replay_log(chat, stored_seq)
        chat.dedupe = await self.store.dedupe_keys(chat.id)

    async def _restore_log(self, chat: Chat) -> None:
        """Put a compacted chat's early log back in front of the part kept in memory."""
        first = chat.events[0].seq if chat.events else chat.committed_seq + 1
        early = await self.store.read_events(chat.id, 0, first - 1)
        dedupe = await self.store.dedupe_keys(chat.id)
        if chat.id not in self.core.compacted:
            return  # another reader restored it meanwhile
        self.core.compacted.discard(chat.id)
        chat.events = [e for e in early if e.seq < first] + chat.events
        chat.dedupe = dedupe | chat.dedupe
        lifecycle.arm_compaction(self.core, chat, time.time() + lifecycle.COMPACT_AFTER)

    def _arm(self, key: str, when: float, action: Callable[[Core, str], Awaitable[None]], arg: str) -> None:
        core = self.core
        core.timers.set(key, when, lambda: action(core, arg))

    def _arm_wrapup(self, chat_id: str, login: str, due: float) -> None:
        core = self.core
        core.timers.set(f"wrap:{chat_id}:{login}", due, lambda: timeouts.wrapup_timeout(core, chat_id, login))

    # -- configuration, routing switch, data removal (operations) -----------------------------
    def apply_config(self, config: Config) -> None:
        """Switch to a new applied configuration; live chats, agents and timers stay as they are.

        A tenant's run-time routing switch survives unless the file's ``routing.paused`` changed."""
        old = {t.id: (t.paused, t.config.routing.paused) for t in self.registry.tenants.values()}
        self.registry.apply(config)
        self.config = config
        for tenant in self.registry.tenants.values():
            if tenant.id in old and tenant.config.routing.paused == old[tenant.id][1]:
                tenant.paused = old[tenant.id][0]
            self.core.request_route(tenant.id)

    def adopt_config(self, config: Config) -> None:
        """Take ``config`` before ``start()`` (a node taking over the engine re-reads its file, so a
        reload made on the previous engine node is not lost); routing starts with ``start()``."""
        self.registry.apply(config)
        self.config = config

    def set_routing_paused(self, tenant: Tenant, paused: bool) -> None:
        tenant.paused = paused
        self.core.request_route(tenant.id)
        self.notifier.publish(tenant_topic(tenant.id), "")

    async def purge_retention(self, now: float | None = None) -> retention.PurgeResult:
        return await retention.apply_retention(self.core, self.files, now)

    async def delete_customer(self, tenant: Tenant, email: str) -> retention.PurgeResult:
        return await retention.delete_customer(self.core, self.files, tenant.id, email)

    async def check_ready(self, timeout: float = 2.0) -> None:
        """Raise when the store or the bus does not answer (``/readyz``). Every bus delivers to this
        node's own subscribers at once, so only its ``ping`` says whether the other nodes hear it."""
        await asyncio.wait_for(self.store.ping(), timeout)
        await asyncio.wait_for(self.bus.ping(), timeout)

    # -- tenants -----------------------------------------------------------------------------
    def tenant(self, tenant_id: str) -> Tenant | None:
        return self.registry.tenant(tenant_id)

    def tenant_for_domain(self, host: str) -> Tenant | None:
        return self.registry.domain(host)

    # -- chats, customer side ----------------------------------------------------------------
    async def create_chat(
        self,
        tenant: Tenant,
        ep: EntryPointConfig,
        *,
        customer: dict[str, Any],
        pre_chat: dict[str, Any],
        subject: str | None = None,
        identity: str | None = None,
    ) -> tuple[Chat, bool]:
        chat, created = await chats.create(
            self.core, tenant, ep, customer=customer, pre_chat=pre_chat, subject=subject, identity=identity
        )
        bind_log_context(tenant=tenant.id, chat=chat.id)
        return chat, created

    def live_chat(self, tenant_id: str, identity: str) -> Chat | None:
        return chats.live_chat_of(self.core, tenant_id, identity)

    async def get_chat(self, chat_id: str) -> Chat | None:
        """The chat from memory, else from the store (ended chats are evicted from memory)."""
        key = chat_id.lower()
        chat = self.core.chats.get(key)
        if chat is None:
            chat = await self.store.load_chat(key)
            if chat is not None:
                await self._hydrate(chat)
                self.core.chats.setdefault(chat.id, chat)
                chat = self.core.chats[chat.id]
        elif key in self.core.compacted:
            await self._restore_log(chat)
        if chat is not None:
            bind_log_context(tenant=chat.tenant_id, chat=chat.id)
        return chat

    async def customer_message(
        self,
        chat: Chat,
        text: str,
        *,
        client_msg_id: str | None = None,
        dedupe_key: str | None = None,
        html: str | None = None,
        note: bool = False,
        off_record: bool = False,
    ) -> tuple[Event | None, bool]:
        return await chats.message(
            self.core,
            chat,
            text,
            client_msg_id=client_msg_id,
            dedupe_key=dedupe_key,
            html=html,
            note=note,
            off_record=off_record,
        )

    async def customer_event(
        self,
        chat: Chat,
        kind: str,
        data: dict[str, Any],
        *,
        client_msg_id: str | None = None,
        dedupe_key: str | None = None,
    ) -> tuple[Event | None, bool]:
        return await chats.customer_event(
            self.core, chat, kind, data, client_msg_id=client_msg_id, dedupe_key=dedupe_key
        )

    async def customer_typing(self, chat: Chat, typing: bool, preview: str | None = None) -> None:
        await chats.typing(self.core, chat, typing, preview)

    async def customer_file(
        self,
        chat: Chat,
        f: FileRecord,
        file_type: str,
        *,
        client_msg_id: str | None = None,
        dedupe_key: str | None = None,
    ) -> tuple[Event | None, bool]:
        return await chats.attach_file(
            self.core, chat, f, file_type, client_msg_id=client_msg_id, dedupe_key=dedupe_key
        )

    async def customer_end(self, chat: Chat, reason: str = "customer") -> None:
        await chats.end(self.core, chat, reason)

    async def customer_disconnect(self, chat: Chat) -> None:
        await chats.disconnect(self.core, chat)

    async def form_response(
        self, chat: Chat, form_request_id: str, status: str, data: dict[str, Any] | None
    ) -> bool:
        return await chats.form_response(self.core, chat, form_request_id, status, data)

    def customer_seen(self, chat: Chat, abandon_seconds: float) -> None:
        chats.seen(self.core, chat, abandon_seconds)

    async def record_survey(
        self, tenant: Tenant, chat: Chat | None, source: str, survey: str | None, data: dict[str, Any]
    ) -> SurveyRecord:
        tx = Tx()
        record = chats.record_survey(self.core, tx, tenant, chat, source, survey, data)
        await self.core.commit(tx)
        return record

    def face_state_changed(self, chat: Chat) -> None:
        """``chat.face_state`` changed for the event about to be appended: store it with that event
        (messages alone write no chat row, decision 40)."""
        self.core.unsaved.add(chat.id)

    async def save_face_state(self, chat: Chat) -> None:
        """Persist ``chat.face_state`` (a face's own durable cursor or session data)."""
        tx = Tx()
        tx.intent.save_chat(chat)
        await self.core.commit(tx)

    # -- reading events ----------------------------------------------------------------------
    def read_events(self, chat: Chat, since: int, limit: int = 100, up_to: int | None = None) -> list[Event]:
        if chat.id in self.core.compacted and chat.events and since + 1 < chat.events[0].seq:
            # Every reader should have come through get_chat, which restores the log (decision 38).
            log.error("chat %s read from seq %d while its log in memory is compacted", chat.id, since + 1)
        return self.core.visible_events(chat, since, limit, up_to)

    def waiter(self, *chat_ids: str) -> Waiter:
        """Register before reading (design section 3), then ``await waiter.wait(timeout)``."""
        return self.notifier.waiter(*(chat_topic(c) for c in chat_ids))

    async def wait_events(self, chat: Chat, since: int, timeout: float, limit: int = 100) -> list[Event]:
        with self.waiter(chat.id) as w:
            found = self.read_events(chat, since, limit)
            deadline = time.monotonic() + timeout
            while not found:
                left = deadline - time.monotonic()
                if left <= 0 or not await w.wait(left):
                    break
                found = self.read_events(chat, since, limit)
            return found

    # -- claims in the key-value table (WS-Security nonces) ----------------------------------
    async def kv_put_if_absent(self, namespace: str, key: str, ttl: float, value: str = "1") -> bool:
        """Claim a key for ``ttl`` seconds; False when it is already held (replayed nonce).

        Claims in flight on this node are serialised in memory; across nodes the window between
        read and commit remains (the store has no insert-if-absent yet)."""
        claim = (namespace, key)
        if claim in self._kv_claims:
            return False
        self._kv_claims.add(claim)
        try:
            if await self.store.kv_get(namespace, key) is not None:
                return False
            await self.kv_put(namespace, key, value, time.time() + ttl)
            return True
        finally:
            self._kv_claims.discard(claim)

    # -- availability ------------------------------------------------------------------------
    def queue_figures(self, tenant: Tenant, queue: str, face: str | None = None) -> availability.QueueFigures:
        return availability.figures(self.core, tenant, queue, face=face)

    def chat_position(self, chat: Chat) -> int | None:
        return availability.position(self.core, chat)

    def chat_ewt(self, chat: Chat) -> int:
        tenant = self.registry.tenant(chat.tenant_id)
        return (
            availability.chat_ewt(self.core, tenant, chat)
            if tenant and chat.state in ("queued", "offered")
            else 0
        )

    def queue_ewt(self, tenant: Tenant, queue: str, position: int, face: str | None = None) -> int:
        """EWT (ARCHITECTURE.md 10.3) of the chat at ``position`` of ``queue``; faces only format it."""
        return availability.ewt(availability.figures(self.core, tenant, queue, face=face), position)

    def new_chat_ewt(self, tenant: Tenant, ep: EntryPointConfig) -> int:
        return availability.new_chat_ewt(self.core, tenant, ep.queue, ep.face, list(ep.skills))

    # -- files -------------------------------------------------------------------------------
    async def save_file(
        self,
        tenant: Tenant,
        owner: str,
        name: str | None,
        content_type: str | None,
        chunks: AsyncIterator[bytes],
        chat_id: str | None = None,
    ) -> FileRecord:
        cfg = tenant.config
        return await self.files.save(
            tenant.id,
            owner,
            name,
            content_type,
            chunks,
            cfg.upload_max_bytes(tenant.server),
            cfg.upload_blocked_types(tenant.server),
            chat_id,
        )

    async def get_file(self, file_id: str) -> FileRecord | None:
        return await self.files.get(file_id)

    async def file_path(self, record: FileRecord) -> Path | None:
        return await self.files.local_path(record)

    # -- agents ------------------------------------------------------------------------------
    def verify_token(self, token: str) -> Principal:
        principal = self.auth.verify(token)
        bind_log_context(tenant=principal.tenant_id, agent=principal.login)
        return principal

    def agent_state(self, tenant_id: str, login: str) -> AgentRuntime:
        return self.core.agent(tenant_id, login)

    def agent_load(self, tenant: Tenant, agent: AgentRuntime) -> int:
        return availability.agent_load(tenant, agent)

    def agent_present(self, tenant: Tenant, agent: AgentRuntime) -> bool:
        return availability.is_present(tenant, agent, time.time())

    def agent_seen(self, tenant: Tenant, login: str) -> None:
        agents.seen(self.core, tenant, login)

    def socket_opened(self, tenant: Tenant, login: str) -> None:
        agents.socket_opened(self.core, tenant, login)

    def socket_closed(self, tenant: Tenant, login: str) -> None:
        agents.socket_closed(self.core, tenant, login)

    async def set_agent_state(
        self, tenant: Tenant, login: str, state: str, reason: str | None, *, by_supervisor: bool = False
    ) -> AgentRuntime:
        return await agents.set_state(self.core, tenant, login, state, reason, by_supervisor=by_supervisor)

    async def logout(self, tenant: Tenant, login: str) -> None:
        await self.auth.revoke_all(tenant.id, login)
        if "agent" in tenant.users[login].roles:
            await agents.set_state(self.core, tenant, login, "logged_out", None)

    def offers_for(self, tenant_id: str, login: str) -> list[Offer]:
        agent = self.core.agent(tenant_id, login)
        return [self.core.offers[o] for o in agent.offers if o in self.core.offers]

    def offer(self, offer_id: str) -> Offer | None:
        return self.core.offers.get(offer_id)

    async def accept_offer(self, tenant: Tenant, login: str, offer_id: str) -> Chat:
        return await routing.accept(self.core, tenant, login, offer_id)

    async def reject_offer(self, tenant: Tenant, login: str, offer_id: str) -> None:
        await routing.reject(self.core, tenant, login, offer_id)

    async def agent_message(
        self, tenant: Tenant, chat: Chat, login: str, client_msg_id: str, text: str, visibility: str = "all"
    ) -> tuple[Event, bool]:
        return await conversation.send_message(
            self.core, tenant, chat, login, client_msg_id, text, visibility
        )

    async def agent_typing(self, chat: Chat, login: str, typing: bool) -> None:
        await conversation.typing(self.core, chat, login, typing)

    async def agent_read(self, chat: Chat, login: str, up_to_seq: int) -> None:
        await conversation.read_mark(self.core, chat, login, up_to_seq)

    async def agent_file(
        self, chat: Chat, login: str, f: FileRecord, client_msg_id: str | None
    ) -> tuple[Event, bool]:
        return await conversation.send_file(self.core, chat, login, f, client_msg_id)

    async def transfer_to_queue(
        self, tenant: Tenant, chat: Chat, login: str, queue: str, note: str | None
    ) -> Chat:
        return await conversation.transfer_to_queue(self.core, tenant, chat, login, queue, note)

    async def transfer_to_agent(
        self, tenant: Tenant, chat: Chat, login: str, target: str, note: str | None
    ) -> Chat:
        return await conversation.invite(self.core, tenant, chat, login, target, note, "transfer")

    async def invite_conference(
        self, tenant: Tenant, chat: Chat, login: str, target: str, note: str | None
    ) -> Chat:
        return await conversation.invite(self.core, tenant, chat, login, target, note, "conference")

    async def withdraw(self, tenant: Tenant, chat: Chat, login: str, reason: str) -> None:
        await conversation.withdraw(self.core, tenant, chat, login, reason)

    async def leave_chat(self, tenant: Tenant, chat: Chat, login: str) -> Chat:
        return await conversation.leave(self.core, tenant, chat, login)

    async def end_chat(self, tenant: Tenant, chat: Chat, login: str, reason: str | None) -> Chat:
        return await conversation.end(self.core, tenant, chat, login, reason)

    async def supervisor_end(self, tenant: Tenant, chat: Chat) -> Chat:
        return await conversation.supervisor_end(self.core, tenant, chat)

    async def wrapup(self, tenant: Tenant, chat: Chat, login: str, disposition: str, notes: str) -> Chat:
        return await conversation.wrapup(self.core, tenant, chat, login, disposition, notes)

    def agent_chats(self, tenant_id: str, login: str) -> list[Chat]:
        agent = self.core.agent(tenant_id, login)
        ids = list(dict.fromkeys(agent.chats + agent.wrapups))
        out = [self.core.chats[c] for c in ids if c in self.core.chats]
        out.sort(key=lambda c: c.created_at)
        return out

    def tenant_chats(self, tenant_id: str) -> list[Chat]:
        return [c for c in self.core.chats.values() if c.tenant_id == tenant_id]

    async def surveys(self, tenant_id: str, since: float, until: float) -> list[SurveyRecord]:
        return await self.store.list_surveys(tenant_id, since, until)

    def can_read(self, principal: Principal, chat: Chat) -> bool:
        if chat.tenant_id != principal.tenant_id:
            return False
        if principal.has("supervisor") or principal.has("admin"):
            return True
        if chat.ever_party(principal.login):
            return True
        return chat.offer is not None and chat.offer.login == principal.login

    def readable_up_to(self, principal: Principal, chat: Chat) -> int | None:
        """Highest seq the principal may read; None = everything (native.md 5.6)."""
        if principal.has("supervisor") or principal.has("admin"):
            return None
        parts = chat.ever_party(principal.login)
        if not parts or any(p.left_at is None for p in parts):
            return None
        seqs = [p.left_seq for p in parts if p.left_seq is not None]
        if len(seqs) != len(parts):
            return None
        for ev in self.read_events(chat, max(seqs) - 1, 1):
            if ev.kind == "party_left" and ev.data.get("reason") == "chat_ended":
                return None
        return max(seqs)

    def require_chat_visible(self, principal: Principal, chat: Chat | None) -> Chat:
        if chat is None or not self.can_read(principal, chat):
            raise errors.ChatNotFound("No such chat is visible to you.")
        return chat

    # -- face key-value records (Fusion signing keys, sessions, token uses, lockouts) ----------
    async def kv_get(self, namespace: str, key: str) -> str | None:
        """A face's small shared record: in the store so that every node sees it (design 10.6)."""
        return await self.store.kv_get(namespace, key)

    async def kv_put(
        self,
        namespace: str,
        key: str,
        value: str,
        expires_at: float | None = None,
        *,
        chat: Chat | None = None,
    ) -> None:
        """Store one record; with ``chat`` its ``face_state`` is saved in the same commit."""
        tx = Tx()
        tx.intent.kv_put.append((namespace, key, value, expires_at))
        if chat is not None:
            tx.intent.save_chat(chat)
        await self.core.commit(tx)

    async def kv_delete(self, namespace: str, key: str) -> None:
        tx = Tx()
        tx.intent.kv_delete.append((namespace, key))
        await self.core.commit(tx)
