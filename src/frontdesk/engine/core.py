"""Shared engine state and the one way to change a chat: append events, commit, then wake readers.

Mutations happen synchronously on the event loop (so each is atomic without locks); the resulting
write intent goes to the store, which commits intents in the order they were queued. Events become
visible to readers, and waiters are woken, only in the store's commit callback, so nobody ever sees
an event that is not durable, and per-chat order is the order of ``seq``.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import msgspec

from frontdesk.domain.events import AFTER_END, Event, PartyRef
from frontdesk.domain.model import AgentRuntime, Chat, Offer
from frontdesk.engine.notifier import Notifier, agent_topic, chat_topic, tenant_topic
from frontdesk.engine.tenants import Registry
from frontdesk.engine.timers import Timers
from frontdesk.store.protocol import Store, WriteIntent

log = logging.getLogger("frontdesk.engine")

QueueKey = tuple[str, str]  # (tenant id, queue name)
SortKey = tuple[int, float, int]  # (-priority, first entry into a queue, chat number)


@dataclass(slots=True)
class Finished:
    """A chat that ended, kept for the wait estimate and service level (last 60 minutes)."""

    tenant_id: str
    queue: str
    ended_at: float
    handle_seconds: float | None
    wait_seconds: float | None
    answered: bool


@dataclass(slots=True)
class Tx:
    """One engine decision in progress: the intent to commit and what to announce afterwards."""

    intent: WriteIntent = field(default_factory=WriteIntent)
    agent_notices: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    touched_agents: set[tuple[str, str]] = field(default_factory=set)
    tenant_notices: set[str] = field(default_factory=set)
    after: list[Callable[[], None]] = field(default_factory=list)


class Core:
    def __init__(self, store: Store, notifier: Notifier, registry: Registry) -> None:
        self.store = store
        self.notifier = notifier
        self.registry = registry
        self.timers = Timers()
        self.chats: dict[str, Chat] = {}
        # Ended chats whose log in memory starts at their end (timeouts.compact).
        self.compacted: set[str] = set()
        self.identities: dict[tuple[str, str], str] = {}
        self.agents: dict[tuple[str, str], AgentRuntime] = {}
        self.counters: dict[tuple[str, str], int] = {}
        self.finished: deque[Finished] = deque(maxlen=100_000)
        self._tasks: set[asyncio.Task[None]] = set()
        self.gone_offers: dict[str, float] = {}
        self.offers: dict[str, Offer] = {}
        self.customer_seen: dict[str, tuple[float, float]] = {}
        # Chats changed in memory outside an append (a face's counter in face_state): their next
        # append writes the chat row even when it is log-only.
        self.unsaved: set[str] = set()
        self._route_pending: set[str] = set()
        self._route_running: set[str] = set()
        self.router: Callable[[str], Awaitable[None]] | None = None
        # Called with each transaction before it is written, to add rows that must commit with it
        # (the webhook outbox, engine/webhooks.py).
        self.commit_hooks: list[Callable[[Tx], None]] = []
        # Derived indexes of chat state, kept by ``track``: waiting chats per queue in routing order,
        # connected chats per queue, and the queues whose waiting positions shifted.
        self.waiting: dict[QueueKey, list[tuple[SortKey, str]]] = {}
        self._waiting_at: dict[str, tuple[QueueKey, SortKey]] = {}
        self.connected: dict[QueueKey, set[str]] = {}
        self._connected_at: dict[str, QueueKey] = {}
        self.queue_moved: set[QueueKey] = set()

    # -- routing requests are coalesced: many triggers, one pass ------------------------------
    def request_route(self, tenant_id: str) -> None:
        if tenant_id in self._route_pending:
            return
        self._route_pending.add(tenant_id)
        asyncio.get_running_loop().call_soon(self._start_route, tenant_id)

    def _start_route(self, tenant_id: str) -> None:
        if tenant_id in self._route_running:
            return  # the running pass re-checks _route_pending when it finishes
        self._route_pending.discard(tenant_id)
        self._route_running.add(tenant_id)
        task = asyncio.get_running_loop().create_task(self._route(tenant_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _route(self, tenant_id: str) -> None:
        try:
            if self.router is not None:
                await self.router(tenant_id)
        except Exception:
            log.exception("routing pass failed for tenant %s", tenant_id)
        finally:
            self._route_running.discard(tenant_id)
            if tenant_id in self._route_pending:
                self._route_pending.discard(tenant_id)
                self.request_route(tenant_id)

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        await self.timers.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- derived queue indexes ----------------------------------------------------------------
    def track(self, chat: Chat) -> None:
        """Update the queue indexes after a chat's state, queue or survey status changed.

        Position, wait estimates and routing read these instead of scanning every chat, so that
        starting a chat costs O(log n) bookkeeping rather than a sort of all chats.
        """
        key = (chat.tenant_id, chat.queue)
        sort_key = (-chat.priority, chat.first_queued_at, chat.number)
        want = chat.state in ("queued", "offered") and chat.survey_pending is None
        current = self._waiting_at.get(chat.id)
        if current is not None and (not want or current != (key, sort_key)):
            entries = self.waiting[current[0]]
            del entries[bisect.bisect_left(entries, (current[1], chat.id))]
            self.queue_moved.add(current[0])
            del self._waiting_at[chat.id]
            current = None
        if want and current is None:
            entries = self.waiting.setdefault(key, [])
            index = bisect.bisect_left(entries, (sort_key, chat.id))
            entries.insert(index, (sort_key, chat.id))
            if index != len(entries) - 1:
                self.queue_moved.add(key)
            self._waiting_at[chat.id] = (key, sort_key)
        connected_at = self._connected_at.pop(chat.id, None)
        if connected_at is not None:
            self.connected[connected_at].discard(chat.id)
        if chat.state == "connected":
            self.connected.setdefault(key, set()).add(chat.id)
            self._connected_at[chat.id] = key

    def waiting_chats(self, tenant_id: str, queue: str) -> list[Chat]:
        return [self.chats[chat_id] for _, chat_id in self.waiting.get((tenant_id, queue), ())]

    def position(self, chat: Chat) -> int | None:
        at = self._waiting_at.get(chat.id)
        if at is None:
            return None
        return bisect.bisect_left(self.waiting[at[0]], (at[1], chat.id)) + 1

    def forget_offer(self, offer_id: str) -> None:
        """Remember an answered or revoked offer for an hour (a late accept gets offer_gone)."""
        now = time.time()
        self.gone_offers[offer_id] = now
        if len(self.gone_offers) > 10_000:
            self.gone_offers = {k: t for k, t in self.gone_offers.items() if now - t < 3600}

    # -- counters ------------------------------------------------------------------------------
    def next_counter(self, tx: Tx, tenant_id: str, name: str, start: int) -> int:
        key = (tenant_id, name)
        value = max(self.counters.get(key, start - 1) + 1, start)
        self.counters[key] = value
        tx.intent.counters.append((tenant_id, name, value))
        return value

    # -- agents --------------------------------------------------------------------------------
    def agent(self, tenant_id: str, login: str) -> AgentRuntime:
        key = (tenant_id, login)
        agent = self.agents.get(key)
        if agent is None:
            now = time.time()
            agent = self.agents[key] = AgentRuntime(tenant_id, login, since=now, idle_since=now)
        return agent

    def touch_agent(self, tx: Tx, agent: AgentRuntime) -> None:
        tx.intent.save_agent(agent)
        tx.touched_agents.add((agent.tenant_id, agent.login))
        tx.tenant_notices.add(agent.tenant_id)

    def notify_agent(self, tx: Tx, agent: AgentRuntime, kind: str, body: dict[str, Any]) -> None:
        tx.agent_notices.append((agent_topic(agent.tenant_id, agent.login), kind, body))

    # -- events --------------------------------------------------------------------------------
    def append(
        self,
        tx: Tx,
        chat: Chat,
        kind: str,
        data: dict[str, Any],
        by: PartyRef | None = None,
        *,
        client_msg_id: str | None = None,
        dedupe_key: str | None = None,
        log_only: bool = False,
    ) -> Event:
        """Append one event to the chat's log in ``tx``.

        ``log_only`` says the caller changed nothing in the chat's stored row except what start-up
        rebuilds from the log itself (``last_seq``; the inactivity clock, see ``chats.replay_log``):
        the event row alone is written, not the chat row (decision 40)."""
        if chat.state == "ended" and kind not in AFTER_END:
            raise AssertionError(f"{kind} after ended in chat {chat.id}")
        last_at = chat.events[-1].at if chat.events else chat.created_at
        chat.last_seq += 1
        event = Event(chat.last_seq, kind, max(time.time(), last_at), by, data, client_msg_id)
        if dedupe_key is not None:
            chat.dedupe[dedupe_key] = event.seq
        tx.intent.add_event(chat.id, event, dedupe_key)
        if not log_only or chat.id in self.unsaved:
            self.unsaved.discard(chat.id)
            tx.intent.save_chat(chat)
        tx.after.append(lambda: self._visible(chat, event))
        tx.tenant_notices.add(chat.tenant_id)
        return event

    def _visible(self, chat: Chat, event: Event) -> None:
        chat.events.append(event)
        chat.committed_seq = event.seq

    async def commit(self, tx: Tx) -> None:
        """Write the intent; after commit make its events visible and wake everyone concerned."""
        if not tx.intent:
            return
        for hook in self.commit_hooks:
            hook(tx)
        await self.store.write(tx.intent)
        for fn in tx.after:
            fn()
        woken = dict.fromkeys(chat_id for chat_id, _, _ in tx.intent.events)
        for chat_id in woken:
            chat = self.chats.get(chat_id)
            self.notifier.publish(chat_topic(chat_id), str(chat.committed_seq if chat else 0))
        for topic, kind, body in tx.agent_notices:
            self.notifier.publish(topic, kind + ":" + _json(body))
        for tenant_id, login in tx.touched_agents:
            self.notifier.publish(agent_topic(tenant_id, login), "agent_state:{}")
        for tenant_id in tx.tenant_notices:
            self.notifier.publish(tenant_topic(tenant_id), "")

    def visible_events(self, chat: Chat, since: int, limit: int, up_to: int | None = None) -> list[Event]:
        """Committed events with seq > since (events are dense, so index = seq - 1)."""
        end = chat.committed_seq if up_to is None else min(up_to, chat.committed_seq)
        if since >= end:
            return []
        first_seq = chat.events[0].seq if chat.events else 1
        start = max(since + 1 - first_seq, 0)
        stop = min(end + 1 - first_seq, start + limit)
        return chat.events[start:stop]


def _json(body: dict[str, Any]) -> str:
    return msgspec.json.encode(body).decode()
