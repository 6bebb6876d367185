"""Automatic chat distribution: one pass per tenant, coalesced, after anything that may free a slot
or add a chat. Highest priority first, then earliest first entry into a queue; longest-idle eligible
ready agent first; an agent who rejected a chat gets it again only when nobody else is eligible.
"""

from __future__ import annotations

import heapq
import time

from frontdesk.config.models import UserConfig
from frontdesk.domain import errors
from frontdesk.domain.events import PartyRef
from frontdesk.domain.ids import new_id
from frontdesk.domain.model import AgentRuntime, Chat, Offer
from frontdesk.engine import availability as av
from frontdesk.engine import lifecycle
from frontdesk.engine.core import Core, Tx
from frontdesk.engine.tenants import Tenant


def _candidates(core: Core, tenant: Tenant, now: float) -> list[tuple[UserConfig, AgentRuntime]]:
    out = []
    for user in tenant.agent_users():
        agent = core.agents.get((tenant.id, user.login))
        if agent is None or agent.state != "ready" or not av.is_present(tenant, agent, now):
            continue
        if av.agent_load(tenant, agent) >= user.max_chats:
            continue
        out.append((user, agent))
    return out


async def route(core: Core, tenant_id: str) -> None:
    tenant = core.registry.tenant(tenant_id)
    if tenant is None or tenant.paused:
        return
    now = time.time()
    agents = _candidates(core, tenant, now)
    tx = Tx()
    if agents:
        entries = heapq.merge(*(core.waiting.get((tenant_id, q), ()) for q in tenant.queue_order))
        for _, chat_id in list(entries):
            chat = core.chats[chat_id]
            if chat.state != "queued" or chat.offer is not None:
                continue
            if not agents:
                break
            skills = av.queue_skills(tenant, chat.queue, chat.skills)
            fits = [(u, a) for u, a in agents if av.eligible(u, skills, chat.face)]
            fresh = [(u, a) for u, a in fits if u.login not in chat.rejected_by]
            pool = fresh or fits
            if not pool:
                continue
            user, agent = min(pool, key=lambda ua: (ua[1].idle_since, ua[0].login))
            reason = "transfer" if chat.transfer_from is not None else "queue"
            make_offer(core, tx, tenant, chat, user, agent, reason, chat.transfer_from, chat.transfer_note)
            if av.agent_load(tenant, agent) >= user.max_chats:
                agents = [(u, a) for u, a in agents if a is not agent]
    queue_updates(core, tx, tenant, now)
    await core.commit(tx)


def make_offer(
    core: Core,
    tx: Tx,
    tenant: Tenant,
    chat: Chat,
    user: UserConfig,
    agent: AgentRuntime,
    reason: str,
    from_agent: PartyRef | None,
    note: str | None,
) -> Offer:
    now = time.time()
    offer = Offer(
        id=new_id(),
        chat_id=chat.id,
        tenant_id=tenant.id,
        login=user.login,
        reason=reason,
        offered_at=now,
        expires_at=now + tenant.config.timers.rona_seconds,
        queue=chat.queue,
        from_agent=from_agent,
        note=note,
    )
    chat.offer = offer
    core.offers[offer.id] = offer
    agent.offers.append(offer.id)
    agent.idle_since = now
    core.touch_agent(tx, agent)
    if chat.state == "queued":
        lifecycle.status(core, tx, chat, "offered")
    else:
        tx.intent.save_chat(chat)
    from frontdesk.engine import crm_hooks, timeouts

    crm_hooks.on_offer(core, tx, tenant, chat, user.login)  # the chat's CRM activity (native.md §9.2)
    core.notify_agent(tx, agent, "offer", {"offer_id": offer.id, "chat_id": chat.id})

    core.timers.set(f"rona:{offer.id}", offer.expires_at, lambda: timeouts.rona(core, offer.id))
    return offer


def queue_updates(core: Core, tx: Tx, tenant: Tenant, now: float) -> None:
    """A queue_update per waiting chat whose position changed, at most one per interval."""
    interval = tenant.config.timers.queue_update_interval_seconds
    for queue in tenant.queue_order:
        key = (tenant.id, queue)
        if key not in core.queue_moved:
            continue  # only a chat leaving (or jumping ahead) moves the others
        core.queue_moved.discard(key)
        waiting = core.waiting_chats(tenant.id, queue)
        fig = None
        for pos, chat in enumerate(waiting, start=1):
            if chat.state != "queued" or chat.last_position == pos:
                continue
            if now - chat.last_queue_update_at < interval:
                continue
            if fig is None:
                fig = av.capacity(core, tenant, queue, face=None)
            chat.last_position = pos
            chat.last_queue_update_at = now
            core.append(
                tx,
                chat,
                "queue_update",
                {
                    "queue": queue,
                    "position": pos,
                    "ewt_seconds": av.ewt(fig, pos),
                    "average_wait_seconds": round(fig.average_wait_seconds or 0),
                },
            )


def find_offer(core: Core, tenant_id: str, login: str, offer_id: str) -> Offer:
    offer = core.offers.get(offer_id.lower())
    if offer is None or offer.tenant_id != tenant_id or offer.login != login:
        if offer is None and offer_id.lower() in core.gone_offers:
            raise errors.OfferGone()
        raise errors.OfferNotFound()
    return offer


async def accept(core: Core, tenant: Tenant, login: str, offer_id: str) -> Chat:
    offer = find_offer(core, tenant.id, login, offer_id)
    agent = core.agent(tenant.id, login)
    if agent.state == "logged_out":
        raise errors.AgentNotReady()
    user = tenant.users[login]
    chat = core.chats[offer.chat_id]
    tx = Tx()
    core.offers.pop(offer.id, None)
    core.forget_offer(offer.id)
    core.timers.cancel(f"rona:{offer.id}")
    if offer.id in agent.offers:
        agent.offers.remove(offer.id)
    chat.offer = None
    old_lead = chat.lead()
    if offer.reason == "conference":
        lifecycle.join(core, tx, tenant, chat, user, "conferee", "conference")
    elif offer.reason == "transfer" and old_lead is not None:
        core.append(
            tx,
            chat,
            "transferred",
            {
                "from_party": old_lead.ref().to_json(),
                "to": {
                    "type": "agent",
                    "queue": None,
                    "login": login,
                    "display_name": user.profile.display_name,
                },
                "note": offer.note,
            },
            old_lead.ref(),
        )
        lifecycle.join(core, tx, tenant, chat, user, "lead", "transfer")
        lifecycle.leave(core, tx, chat, old_lead, "transferred", "transferred")
    else:
        lifecycle.join(
            core, tx, tenant, chat, user, "lead", "transfer" if offer.reason == "transfer" else "accepted"
        )
        now = time.time()
        if chat.connected_at is None:
            chat.connected_at = now
        chat.was_connected = True
        chat.transfer_from = None
        chat.transfer_note = None
        chat.rejected_by = []
        core.timers.cancel(f"qto:{chat.id}")
        lifecycle.status(core, tx, chat, "connected")
        chat.last_customer_content_at = now
        chat.inactivity_warned = False
        from frontdesk.engine import timeouts

        timeouts.arm_inactivity(core, tenant, chat)
    core.notify_agent(tx, agent, "chat_assigned", {"chat_id": chat.id})
    core.touch_agent(tx, agent)
    await core.commit(tx)
    core.request_route(tenant.id)
    return chat


async def reject(core: Core, tenant: Tenant, login: str, offer_id: str) -> None:
    offer = find_offer(core, tenant.id, login, offer_id)
    chat = core.chats.get(offer.chat_id)
    tx = Tx()
    if chat is not None and login not in chat.rejected_by:
        chat.rejected_by.append(login)
    lifecycle.revoke_offer(core, tx, tenant, offer, "rejected", requeue_chat=True)
    await core.commit(tx)
