"""What happens when an engine timer fires (ARCHITECTURE.md 10.4).

Every action re-checks the state it was armed for, because the world may have moved on between
arming and firing (a message restarted the clock, the offer was accepted, the chat ended).
"""

from __future__ import annotations

import time

from frontdesk.domain import events as ev
from frontdesk.domain.model import Chat
from frontdesk.engine import lifecycle
from frontdesk.engine.core import Core, Tx
from frontdesk.engine.tenants import Tenant


def _inactivity_t(tenant: Tenant, chat: Chat) -> int:
    ep = tenant.entry_point(chat.face, chat.entry_point)
    if ep is None:
        return tenant.config.timers.inactivity.timeout_seconds
    return ep.inactivity_timeout(tenant.config)


def arm_inactivity(core: Core, tenant: Tenant, chat: Chat) -> None:
    """Schedule the next inactivity deadline: the warning at T/2, then the end at T."""
    t = _inactivity_t(tenant, chat)
    key = f"inact:{chat.id}"
    if t <= 0 or chat.state != "connected" or chat.last_customer_content_at is None:
        core.timers.cancel(key)
        return
    base = chat.last_customer_content_at
    when = base + (t if chat.inactivity_warned else t / 2)
    core.timers.set(key, when, lambda: inactivity(core, chat.id))


async def inactivity(core: Core, chat_id: str) -> None:
    chat = core.chats.get(chat_id)
    tenant = core.registry.tenant(chat.tenant_id) if chat else None
    if chat is None or tenant is None or chat.state != "connected" or chat.last_customer_content_at is None:
        return
    t = _inactivity_t(tenant, chat)
    if t <= 0:
        return
    ep = tenant.entry_point(chat.face, chat.entry_point)
    elapsed = time.time() - chat.last_customer_content_at
    tx = Tx()
    if elapsed >= t - 0.05:
        text = ep.timeout_text(tenant.config) if ep else tenant.config.timers.inactivity.timeout_text
        lifecycle.end_chat(core, tx, tenant, chat, "inactivity", None, text=text)
    elif elapsed >= t / 2 - 0.05 and not chat.inactivity_warned:
        chat.inactivity_warned = True
        text = ep.warning_text(tenant.config) if ep else tenant.config.timers.inactivity.warning_text
        core.append(tx, chat, ev.TIMEOUT_WARNING, {"seconds_left": round(t - elapsed), "text": text})
        arm_inactivity(core, tenant, chat)
    else:
        arm_inactivity(core, tenant, chat)
    await core.commit(tx)


async def rona(core: Core, offer_id: str) -> None:
    offer = core.offers.get(offer_id)
    if offer is None:
        return
    tenant = core.registry.tenant(offer.tenant_id)
    if tenant is None:
        return
    tx = Tx()
    lifecycle.revoke_offer(core, tx, tenant, offer, "timeout", requeue_chat=True)
    if offer.reason == "queue" or offer.reason == "transfer":
        agent = core.agent(tenant.id, offer.login)
        if agent.state == "ready":
            from frontdesk.engine import agents

            agents.apply_state(core, tx, tenant, agent, "not_ready", "rona")
    await core.commit(tx)


async def queue_timeout(core: Core, chat_id: str) -> None:
    chat = core.chats.get(chat_id)
    tenant = core.registry.tenant(chat.tenant_id) if chat else None
    if chat is None or tenant is None or chat.state not in ("queued", "offered"):
        return
    q = tenant.queues.get(chat.queue)
    if q is None or q.max_wait_seconds <= 0 or time.time() - chat.queued_at < q.max_wait_seconds - 0.05:
        return
    tx = Tx()
    lifecycle.end_chat(core, tx, tenant, chat, "queue_timeout", None)
    await core.commit(tx)


async def wrapup_timeout(core: Core, chat_id: str, login: str) -> None:
    chat = core.chats.get(chat_id)
    if chat is None or chat.pending_wrapup(login) is None:
        return
    tx = Tx()
    lifecycle.complete_wrapup(core, tx, chat, login, "timeout", "", True)
    await core.commit(tx)


def customer_seen(core: Core, chat: Chat, abandon_seconds: float) -> None:
    """A face heard from the customer; the chat ends as presence_lost after ``abandon_seconds`` of
    silence. The timer is re-armed lazily so that a poll costs a dict write, not a timer reschedule."""
    now = time.time()
    core.customer_seen[chat.id] = (now, abandon_seconds)
    key = f"abandon:{chat.id}"
    if not core.timers.has(key):
        core.timers.set(key, now + abandon_seconds, lambda: abandon(core, chat.id))


async def abandon(core: Core, chat_id: str) -> None:
    chat = core.chats.get(chat_id)
    seen = core.customer_seen.get(chat_id)
    if chat is None or seen is None or not chat.live:
        return
    last, window = seen
    due = last + window
    if time.time() < due - 0.05:
        core.timers.set(f"abandon:{chat_id}", due, lambda: abandon(core, chat_id))
        return
    tenant = core.registry.tenant(chat.tenant_id)
    if tenant is None:
        return
    tx = Tx()
    lifecycle.end_chat(core, tx, tenant, chat, "presence_lost", None)
    await core.commit(tx)


async def form_timeout(core: Core, chat_id: str) -> None:
    chat = core.chats.get(chat_id)
    if chat is None or chat.survey_pending is None:
        return
    from frontdesk.engine import chats

    await chats.form_response(core, chat, chat.survey_pending["form_request_id"], "timeout", None)


async def agent_presence(core: Core, tenant_id: str, login: str) -> None:
    tenant = core.registry.tenant(tenant_id)
    agent = core.agents.get((tenant_id, login))
    if tenant is None or agent is None or agent.state != "ready" or agent.sockets > 0:
        return
    window = tenant.config.timers.agent_presence_timeout_seconds
    due = agent.last_seen + window
    if time.time() < due - 0.05:
        core.timers.set(f"presence:{tenant_id}:{login}", due, lambda: agent_presence(core, tenant_id, login))
        return
    from frontdesk.engine import agents

    tx = Tx()
    agents.apply_state(core, tx, tenant, agent, "not_ready", "disconnected")
    await core.commit(tx)


async def compact(core: Core, chat_id: str) -> None:
    """Keep an ended chat's log in memory only from its end on: what the day's figures read (the
    wrap-ups) and what may still be appended (surveys, CRM links). ``Engine.get_chat`` loads the
    rest back from the store for any reader of the chat."""
    chat = core.chats.get(chat_id)
    if chat is None or chat.state != "ended" or chat_id in core.compacted:
        return
    if any(not w.done for w in chat.wrapups) or chat.committed_seq != chat.last_seq:
        lifecycle.arm_compaction(core, chat, time.time() + lifecycle.COMPACT_AFTER)
        return
    events = chat.events
    end = next((i for i in range(len(events) - 1, -1, -1) if events[i].kind == ev.ENDED), None)
    if end is None or end == 0:
        return
    chat.events = events[end:]
    chat.dedupe = {}
    core.compacted.add(chat_id)


async def evict(core: Core, chat_id: str) -> None:
    chat = core.chats.get(chat_id)
    if chat is None or chat.state != "ended":
        return
    if any(not w.done for w in chat.wrapups):
        lifecycle.arm_eviction(core, chat, time.time() + 600)
        return
    del core.chats[chat_id]
    core.compacted.discard(chat_id)
