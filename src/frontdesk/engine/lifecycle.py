"""Transitions shared by customer, agent and timer paths: join, leave, requeue, revoke, end.

Each function mutates state and appends events into the caller's transaction; the caller commits.
"""

from __future__ import annotations

import time

from frontdesk.config.models import UserConfig
from frontdesk.domain import events as ev
from frontdesk.domain.ids import new_party_id
from frontdesk.domain.model import Chat, Offer, Party, Wrapup
from frontdesk.engine import availability as av
from frontdesk.engine.core import Core, Finished, Tx
from frontdesk.engine.tenants import Tenant

DEFAULT_GREETING = "Hi, my name is {display_name}. How may I help you?"
# The same window as start-up recovery loads ended chats for (store.load_chats live_only).
EVICT_AFTER = 86400.0
# An ended chat whose wrap-ups are done keeps its whole log in memory this long, for the last polls
# of every face; then only the part from its end on (decision 38).
COMPACT_AFTER = 10.0


def render_greeting(template: str, user: UserConfig, chat: Chat) -> str:
    values = {
        "display_name": user.profile.display_name,
        "first_name": user.profile.first_name,
        "last_name": user.profile.last_name,
        "screen_name": user.profile.screen_name,
        "customer_name": chat.customer.name or "",
        "customer_first_name": chat.customer.first_name or "",
    }
    out = template
    for key, value in values.items():
        out = out.replace("{" + key + "}", value)
    return out


def greeting_for(user: UserConfig, chat: Chat) -> str:
    template = user.profile.greeting
    if not chat.customer.name and user.profile.greeting_anonymous:
        template = user.profile.greeting_anonymous
    return render_greeting(template or DEFAULT_GREETING, user, chat)


def status_queued(core: Core, tx: Tx, tenant: Tenant, chat: Chat) -> None:
    chat.state = "queued"
    core.track(chat)
    pos = core.position(chat) or 1
    fig = av.capacity(core, tenant, chat.queue, face=chat.face, extra_skills=chat.skills)
    chat.last_position = pos
    chat.last_queue_update_at = time.time()
    core.append(
        tx,
        chat,
        ev.STATUS,
        {
            "state": "queued",
            "queue": chat.queue,
            "position": pos,
            "ewt_seconds": av.ewt(fig, pos),
            "average_wait_seconds": round(fig.average_wait_seconds or 0),
        },
    )
    arm_queue_timeout(core, tenant, chat)


def status(core: Core, tx: Tx, chat: Chat, state: str) -> None:
    chat.state = state
    core.track(chat)
    core.append(
        tx,
        chat,
        ev.STATUS,
        {
            "state": state,
            "queue": chat.queue,
            "position": None,
            "ewt_seconds": None,
            "average_wait_seconds": None,
        },
    )


def arm_queue_timeout(core: Core, tenant: Tenant, chat: Chat) -> None:
    q = tenant.queues.get(chat.queue)
    key = f"qto:{chat.id}"
    if q is None or q.max_wait_seconds <= 0:
        core.timers.cancel(key)
        return
    from frontdesk.engine import timeouts

    core.timers.set(key, chat.queued_at + q.max_wait_seconds, lambda: timeouts.queue_timeout(core, chat.id))


def agent_party(core: Core, tx: Tx, tenant: Tenant, user: UserConfig, role: str) -> Party:
    number = core.next_counter(tx, tenant.id, "party", 2001)
    p = user.profile
    return Party(
        id=new_party_id(),
        number=number,
        kind="agent",
        role=role,
        login=user.login,
        display_name=p.display_name,
        first_name=p.first_name,
        last_name=p.last_name,
        screen_name=p.screen_name,
        has_photo=bool(p.photo_file),
        joined_at=time.time(),
    )


def join(core: Core, tx: Tx, tenant: Tenant, chat: Chat, user: UserConfig, role: str, reason: str) -> Party:
    party = agent_party(core, tx, tenant, user, role)
    chat.participants.append(party)
    core.append(
        tx,
        chat,
        ev.PARTY_JOINED,
        {"party": party.to_json(), "reason": reason, "greeting": greeting_for(user, chat)},
    )
    agent = core.agent(tenant.id, user.login)
    if chat.id not in agent.chats:
        agent.chats.append(chat.id)
    agent.idle_since = time.time()
    core.touch_agent(tx, agent)
    return party


def leave(core: Core, tx: Tx, chat: Chat, party: Party, reason: str, notice: str | None) -> None:
    """The party leaves; ``notice`` is the chat_removed reason for the agent's console, if any."""
    role = party.role or "lead"
    party.left_at = time.time()
    event = core.append(
        tx, chat, ev.PARTY_LEFT, {"party": party.ref().to_json(), "role": role, "reason": reason}
    )
    party.left_seq = event.seq
    if party.login is None:
        return
    agent = core.agent(chat.tenant_id, party.login)
    if chat.id in agent.chats:
        agent.chats.remove(chat.id)
    agent.idle_since = time.time()
    core.touch_agent(tx, agent)
    if notice:
        core.notify_agent(tx, agent, "chat_removed", {"chat_id": chat.id, "reason": notice})


def requeue(core: Core, tx: Tx, tenant: Tenant, chat: Chat, queue: str | None = None) -> None:
    """Back into a queue, ordered by the time it first entered one; wait figures restart now."""
    core.timers.cancel(f"inact:{chat.id}")
    if queue is not None:
        chat.queue = queue
    chat.queued_at = time.time()
    status_queued(core, tx, tenant, chat)
    core.request_route(tenant.id)


def revoke_offer(
    core: Core, tx: Tx, tenant: Tenant, offer: Offer, reason: str, *, requeue_chat: bool
) -> None:
    core.offers.pop(offer.id, None)
    core.forget_offer(offer.id)
    core.timers.cancel(f"rona:{offer.id}")
    agent = core.agent(offer.tenant_id, offer.login)
    if offer.id in agent.offers:
        agent.offers.remove(offer.id)
    core.touch_agent(tx, agent)
    if reason != "rejected":
        core.notify_agent(
            tx, agent, "offer_revoked", {"offer_id": offer.id, "chat_id": offer.chat_id, "reason": reason}
        )
    chat = core.chats.get(offer.chat_id)
    if chat is None or chat.offer is None or chat.offer.id != offer.id:
        return
    chat.offer = None
    tx.intent.save_chat(chat)
    if offer.reason in ("queue",) or (offer.reason == "transfer" and chat.lead() is None):
        if requeue_chat and chat.state == "offered":
            status_queued(core, tx, tenant, chat)
    elif offer.reason in ("transfer", "conference") and chat.live:
        target = tenant.users.get(offer.login)
        why = {"timeout": "timeout", "withdrawn": "unavailable"}.get(reason, "rejected")
        if reason != "customer_left":
            core.append(
                tx,
                chat,
                ev.TRANSFER_FAILED,
                {
                    "to": {
                        "type": "agent",
                        "queue": None,
                        "login": offer.login,
                        "display_name": target.profile.display_name if target else offer.login,
                    },
                    "reason": why,
                },
            )
    core.request_route(tenant.id)


def end_chat(
    core: Core,
    tx: Tx,
    tenant: Tenant,
    chat: Chat,
    reason: str,
    by: ev.PartyRef | None,
    *,
    text: str | None = None,
    agents_leave: bool = False,
) -> None:
    if chat.state == "ended":
        return
    if chat.offer is not None:
        revoke_offer(core, tx, tenant, chat.offer, "customer_left", requeue_chat=False)
    present = chat.present_agents()
    if agents_leave:
        for party in present:
            leave(core, tx, chat, party, "chat_ended", None)
    now = time.time()
    chat.survey_pending = None
    core.append(tx, chat, ev.ENDED, {"reason": reason, "was_connected": chat.was_connected, "text": text}, by)
    chat.state = "ended"
    chat.ended_at = now
    chat.end_reason = reason
    core.track(chat)
    if chat.identity is not None:
        core.identities.pop((chat.tenant_id, chat.identity), None)
    due_in = tenant.config.timers.wrapup_timeout_seconds
    for party in present:
        owe_wrapup(core, tx, tenant, chat, party, due_in, now)
    for key in ("inact", "qto", "abandon", "form"):
        core.timers.cancel(f"{key}:{chat.id}")
    core.customer_seen.pop(chat.id, None)
    arm_eviction(core, chat, now + EVICT_AFTER)
    arm_compaction(core, chat, now + COMPACT_AFTER)
    core.finished.append(
        Finished(
            tenant_id=chat.tenant_id,
            queue=chat.queue,
            ended_at=now,
            handle_seconds=(now - chat.connected_at) if chat.connected_at else None,
            wait_seconds=((chat.connected_at or now) - chat.first_queued_at),
            answered=chat.was_connected,
        )
    )
    core.request_route(tenant.id)


def arm_eviction(core: Core, chat: Chat, when: float) -> None:
    """Ended chats leave memory a day after their end; the store keeps them (get_chat reloads)."""
    from frontdesk.engine import timeouts

    core.timers.set(f"evict:{chat.id}", when, lambda: timeouts.evict(core, chat.id))


def arm_compaction(core: Core, chat: Chat, when: float) -> None:
    from frontdesk.engine import timeouts

    core.timers.set(f"compact:{chat.id}", when, lambda: timeouts.compact(core, chat.id))


def owe_wrapup(core: Core, tx: Tx, tenant: Tenant, chat: Chat, party: Party, due_in: int, now: float) -> None:
    assert party.login is not None
    agent = core.agent(chat.tenant_id, party.login)
    if chat.id in agent.chats:
        agent.chats.remove(chat.id)
    due = now + due_in if due_in > 0 else None
    chat.wrapups.append(Wrapup(login=party.login, party_id=party.id, due_at=due))
    if chat.id not in agent.wrapups:
        agent.wrapups.append(chat.id)
    core.touch_agent(tx, agent)
    if due is not None:
        from frontdesk.engine import timeouts

        login = party.login
        core.timers.set(f"wrap:{chat.id}:{login}", due, lambda: timeouts.wrapup_timeout(core, chat.id, login))


def complete_wrapup(
    core: Core, tx: Tx, chat: Chat, login: str, disposition: str, notes: str, auto: bool
) -> None:
    w = chat.pending_wrapup(login)
    if w is None:
        return
    w.done = True
    party = next((p for p in chat.participants if p.id == w.party_id), None)
    by = party.ref() if party else None
    core.append(tx, chat, ev.WRAPUP, {"disposition": disposition, "notes": notes, "auto": auto}, by)
    from frontdesk.engine import crm_hooks

    crm_hooks.on_wrapup(core, tx, chat, login, party.role if party else None, disposition, notes)
    core.timers.cancel(f"wrap:{chat.id}:{login}")
    agent = core.agent(chat.tenant_id, login)
    if chat.id in agent.wrapups:
        agent.wrapups.remove(chat.id)
    agent.idle_since = time.time()
    core.touch_agent(tx, agent)
    core.notify_agent(tx, agent, "chat_removed", {"chat_id": chat.id, "reason": "wrapped_up"})
    core.request_route(chat.tenant_id)
