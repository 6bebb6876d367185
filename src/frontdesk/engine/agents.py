"""Agent states (native.md 5.1) and presence."""

from __future__ import annotations

import time

from frontdesk.domain import errors
from frontdesk.domain.model import AgentRuntime
from frontdesk.engine import lifecycle
from frontdesk.engine.core import Core, Tx
from frontdesk.engine.tenants import Tenant

STATES = ("ready", "not_ready", "logged_out")
SYSTEM_REASONS = ("rona", "disconnected", "supervisor")


def apply_state(
    core: Core, tx: Tx, tenant: Tenant, agent: AgentRuntime, state: str, reason: str | None
) -> None:
    if agent.state == state and agent.reason == reason:
        return
    now = time.time()
    agent.state = state
    agent.reason = reason if state == "not_ready" else None
    agent.since = now
    if state == "ready":
        agent.idle_since = now
        agent.last_seen = max(agent.last_seen, now)
    core.touch_agent(tx, agent)
    if state in ("not_ready", "logged_out"):
        for offer_id in list(agent.offers):
            offer = core.offers.get(offer_id)
            if offer is not None:
                lifecycle.revoke_offer(core, tx, tenant, offer, "agent_not_ready", requeue_chat=True)
    if state == "logged_out":
        _logout_chats(core, tx, tenant, agent)
    core.request_route(tenant.id)


def _logout_chats(
    core: Core, tx: Tx, tenant: Tenant, agent: AgentRuntime, *, force_requeue: bool = False
) -> None:
    keep = tenant.config.routing.logout_chats == "keep" and not force_requeue
    for chat_id in list(agent.chats):
        chat = core.chats.get(chat_id)
        if chat is None or not chat.live:
            continue
        party = chat.party_of(agent.login)
        if party is None:
            continue
        if party.role == "conferee":
            lifecycle.leave(core, tx, chat, party, "left", "left")
        elif not keep:
            others = [p for p in chat.present_agents() if p is not party]
            lifecycle.leave(core, tx, chat, party, "logged_out", "removed")
            if others:
                others[0].role = "lead"
                core.append(tx, chat, "party_updated", {"party": others[0].to_json()})
            else:
                lifecycle.requeue(core, tx, tenant, chat)
    for chat_id in list(agent.wrapups):
        chat = core.chats.get(chat_id)
        if chat is not None:
            lifecycle.complete_wrapup(core, tx, chat, agent.login, "logged_out", "", True)
        elif chat_id in agent.wrapups:
            agent.wrapups.remove(chat_id)


async def set_state(
    core: Core, tenant: Tenant, login: str, state: str, reason: str | None, *, by_supervisor: bool = False
) -> AgentRuntime:
    if state not in STATES:
        raise errors.InvalidRequest(
            f"unknown state {state!r}", [("/state", "must be ready, not_ready or logged_out")]
        )
    if by_supervisor:
        if state == "ready":
            raise errors.InvalidRequest("a supervisor may set not_ready or logged_out only")
        reason = "supervisor" if state == "not_ready" else None
    elif state == "not_ready":
        codes = [r.code for r in tenant.config.not_ready_reasons]
        if reason is None or reason not in codes:
            raise errors.InvalidRequest(
                "not_ready needs a configured reason", [("/reason", f"must be one of {', '.join(codes)}")]
            )
    else:
        reason = None
    agent = core.agent(tenant.id, login)
    tx = Tx()
    apply_state(core, tx, tenant, agent, state, reason)
    await core.commit(tx)
    return agent


def seen(core: Core, tenant: Tenant, login: str) -> AgentRuntime:
    """An authenticated request of the agent: counts as presence (native.md 5.1.2)."""
    agent = core.agent(tenant.id, login)
    agent.last_seen = time.time()
    _arm_presence(core, tenant, agent)
    return agent


def socket_opened(core: Core, tenant: Tenant, login: str) -> None:
    agent = core.agent(tenant.id, login)
    agent.sockets += 1
    agent.last_seen = time.time()
    core.request_route(tenant.id)


def socket_closed(core: Core, tenant: Tenant, login: str) -> None:
    agent = core.agent(tenant.id, login)
    agent.sockets = max(0, agent.sockets - 1)
    agent.last_seen = time.time()
    _arm_presence(core, tenant, agent)


def _arm_presence(core: Core, tenant: Tenant, agent: AgentRuntime) -> None:
    key = f"presence:{tenant.id}:{agent.login}"
    if agent.state != "ready" or agent.sockets > 0 or core.timers.has(key):
        return
    from frontdesk.engine import timeouts

    due = agent.last_seen + tenant.config.timers.agent_presence_timeout_seconds
    tid, login = tenant.id, agent.login
    core.timers.set(key, due, lambda: timeouts.agent_presence(core, tid, login))


async def force_logout(core: Core, tenant: Tenant, login: str) -> None:
    """Logout that always requeues (admin removal, demo agent switched off)."""
    agent = core.agent(tenant.id, login)
    tx = Tx()
    _logout_chats(core, tx, tenant, agent, force_requeue=True)
    apply_state(core, tx, tenant, agent, "logged_out", None)
    await core.commit(tx)
