"""Supervisor figures (native.md §7.1): queue, agent and live-chat views of the engine's state.

The numbers come from the engine (queue figures, agent runtime, chats); this module only groups
and formats them. "Today" means since 00:00 in the tenant's time zone.
"""

from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo

from frontdesk.domain.clock import rfc3339
from frontdesk.domain.model import Chat
from frontdesk.engine.availability import eligible, queue_skills
from frontdesk.engine.engine import Engine
from frontdesk.engine.tenants import Tenant
from frontdesk.faces.native import schemas as s
from frontdesk.faces.native import sup_schemas as ss
from frontdesk.faces.native import views
from frontdesk.faces.native.agent import queue_ewt, queue_open


def midnight(tenant: Tenant, now: float) -> float:
    try:
        tz = ZoneInfo(tenant.config.timezone)
    except (KeyError, ValueError):
        tz = ZoneInfo("UTC")
    local = datetime.fromtimestamp(now, tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 3) if values else None


def queue_day(chats: list[Chat], threshold: int, since: float) -> ss.QueueDay:
    entered = [c for c in chats if c.queued_at >= since or c.first_queued_at >= since]
    answered = [c for c in entered if c.connected_at is not None]
    waits = [max(0.0, (c.connected_at or 0) - c.first_queued_at) for c in answered]
    within = sum(1 for w in waits if w <= threshold)
    abandoned = [
        c
        for c in entered
        if c.state == "ended" and not c.was_connected and c.end_reason in ("customer", "presence_lost")
    ]
    late = sum(1 for c in abandoned if (c.ended_at or 0) - c.first_queued_at > threshold)
    divisor = len(answered) + late
    handles = [
        (c.ended_at or 0) - c.connected_at
        for c in chats
        if c.connected_at is not None and c.ended_at is not None and c.ended_at >= since
    ]
    return ss.QueueDay(
        entered=len(entered),
        answered=len(answered),
        answered_within_threshold=within,
        abandoned=len(abandoned),
        abandoned_after_threshold=late,
        service_level_percent=round(100.0 * within / divisor, 3) if divisor else None,
        average_wait_seconds=_mean(waits),
        average_handle_seconds=_mean(handles),
    )


def queue_stats(engine: Engine, tenant: Tenant, name: str, now: float | None = None) -> ss.QueueStats:
    now = time.time() if now is None else now
    q = tenant.queues[name]
    fig = engine.queue_figures(tenant, name)
    chats = [c for c in engine.tenant_chats(tenant.id) if c.queue == name]
    oldest = fig.oldest_queued_at
    return ss.QueueStats(
        name=name,
        display_name=q.display_name,
        number=q.number,
        open=queue_open(tenant, name),
        paused=tenant.paused,
        waiting=fig.waiting,
        oldest_queued_at=rfc3339(oldest),
        longest_wait_seconds=max(0, int(now - oldest)) if oldest is not None else 0,
        ewt_seconds=queue_ewt(engine, tenant, name),
        agents_logged_in=fig.logged_in_agents,
        agents_ready=fig.ready_agents,
        slots_total=fig.slots_ready,
        slots_free=fig.slots_free,
        active_chats=fig.active_chats,
        service_level_seconds=q.service_level_seconds,
        today=queue_day(chats, q.service_level_seconds, midnight(tenant, now)),
    )


def all_queue_stats(engine: Engine, tenant: Tenant) -> list[ss.QueueStats]:
    now = time.time()
    return [queue_stats(engine, tenant, name, now) for name in tenant.queue_order]


def agent_stats(engine: Engine, tenant: Tenant, login: str, chats: list[Chat], since: float) -> ss.AgentStats:
    user = tenant.users[login]
    a = engine.agent_state(tenant.id, login)
    mine: list[ss.AgentChat] = []
    for chat_id in dict.fromkeys(a.chats + a.wrapups):
        chat = next((c for c in chats if c.id == chat_id), None)
        if chat is None:
            continue
        party = chat.party_of(login)
        if party is not None:
            mine.append(
                ss.AgentChat(
                    chat_id=chat.id,
                    role=party.role or "lead",
                    queue=chat.queue,
                    since=views.ts(party.joined_at),
                )
            )
        elif chat.pending_wrapup(login) is not None:
            mine.append(
                ss.AgentChat(
                    chat_id=chat.id,
                    role="wrapup",
                    queue=chat.queue,
                    since=views.ts(chat.ended_at or chat.created_at),
                )
            )
    handled: list[float] = []
    for chat in chats:
        if chat.ended_at is None or chat.ended_at < since or not chat.ever_party(login):
            continue
        for e in chat.events:
            if e.kind == "wrapup" and e.by is not None and e.by.login == login and e.at >= since:
                parts = chat.ever_party(login)
                joined = min(p.joined_at for p in parts)
                handled.append(max(0.0, (chat.ended_at or e.at) - joined))
    return ss.AgentStats(
        login=login,
        display_name=user.profile.display_name,
        roles=views.roles_of(user),
        state=a.state,
        reason=a.reason,
        since=views.ts(a.since),
        present=engine.agent_present(tenant, a),
        load=engine.agent_load(tenant, a),
        max_chats=user.max_chats,
        pending_offers=len(a.offers),
        chats=mine,
        skills=list(user.skills),
        queues=[q for q in tenant.queue_order if eligible(user, queue_skills(tenant, q), None)],
        today=ss.AgentDay(handled=len(handled), average_handle_seconds=_mean(handled)),
    )


def all_agent_stats(engine: Engine, tenant: Tenant) -> list[ss.AgentStats]:
    chats = engine.tenant_chats(tenant.id)
    since = midnight(tenant, time.time())
    return [
        agent_stats(engine, tenant, u.login, chats, since)
        for u in sorted(tenant.agent_users(), key=lambda u: u.login)
    ]


def live_chat(chat: Chat, now: float) -> ss.LiveChat | None:
    if chat.live:
        state = chat.state
    elif any(not w.done for w in chat.wrapups):
        state = "wrapup"
    else:
        return None
    last = chat.events[-1].at if chat.events else chat.created_at
    return ss.LiveChat(
        id=chat.id,
        number=chat.number,
        state=state,
        face=chat.face,
        entry_point=s.EntryPointRef(face=chat.face, id=chat.entry_point, name=chat.entry_point_name),
        queue=chat.queue,
        customer_name=chat.customer.name,
        agents=[p.login for p in chat.present_agents() if p.login],
        queued_at=views.ts(chat.queued_at),
        connected_at=rfc3339(chat.connected_at),
        waited_seconds=max(0, int((chat.connected_at or now) - chat.queued_at)),
        last_activity_at=views.ts(last),
    )


def live_chats(engine: Engine, tenant: Tenant) -> list[ss.LiveChat]:
    now = time.time()
    out = [v for c in engine.tenant_chats(tenant.id) if (v := live_chat(c, now)) is not None]
    out.sort(key=lambda v: (v.queued_at, v.number))
    return out
