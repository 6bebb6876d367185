"""Queue position, estimated wait and service level, exactly as ARCHITECTURE.md 10.3 defines them.

Faces only format these figures; none computes its own.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from frontdesk.config.models import UserConfig
from frontdesk.domain.model import AgentRuntime, Chat
from frontdesk.engine.core import Core
from frontdesk.engine.tenants import Tenant

WINDOW = 3600.0
ALL_FACES = ("servicepattern", "rightnow", "fusion", "ece")


@dataclass(slots=True)
class Capacity:
    """What the wait estimate needs: agents and their slots, and recent handle/wait times."""

    ready_agents: int
    logged_in_agents: int
    slots_total: int  # capacity of logged-in eligible agents
    slots_ready: int  # capacity of ready eligible agents
    slots_free: int  # free slots of ready, present eligible agents
    mean_handle_seconds: float
    average_wait_seconds: float | None
    service_level: float | None


@dataclass(slots=True)
class QueueFigures(Capacity):
    queue: str
    waiting: int
    oldest_queued_at: float | None
    active_chats: int


def agent_load(tenant: Tenant, agent: AgentRuntime) -> int:
    held = len(agent.wrapups) if tenant.config.routing.wrapup_holds_capacity else 0
    return len(agent.chats) + len(agent.offers) + held


def is_present(tenant: Tenant, agent: AgentRuntime, now: float) -> bool:
    window = tenant.config.timers.agent_presence_timeout_seconds
    return agent.sockets > 0 or now - agent.last_seen <= window


def eligible(user: UserConfig, skills: list[str], face: str | None) -> bool:
    if user.disabled or "agent" not in user.roles:
        return False
    if face is not None and face not in (user.channels or ALL_FACES):
        return False
    return all(s in user.skills for s in skills)


def queue_skills(tenant: Tenant, queue: str, extra: list[str] | None = None) -> list[str]:
    q = tenant.queues.get(queue)
    skills = list(q.skills) if q else []
    for s in extra or []:
        if s not in skills:
            skills.append(s)
    return skills


def waiting_chats(core: Core, tenant_id: str, queue: str) -> list[Chat]:
    """Chats waiting in a queue in routing order: priority (high first), then first entry."""
    return core.waiting_chats(tenant_id, queue)


def position(core: Core, chat: Chat) -> int | None:
    return core.position(chat)


def recent_finished(core: Core, now: float) -> None:
    """Drop finished chats older than the window; the deque is in ending order."""
    while core.finished and now - core.finished[0].ended_at > WINDOW:
        core.finished.popleft()


def capacity(
    core: Core, tenant: Tenant, queue: str, *, face: str | None = None, extra_skills: list[str] | None = None
) -> Capacity:
    now = time.time()
    skills = queue_skills(tenant, queue, extra_skills)
    ready = logged_in = total = ready_slots = free = 0
    for user in tenant.agent_users():
        if not eligible(user, skills, face):
            continue
        agent = core.agents.get((tenant.id, user.login))
        if agent is None or agent.state == "logged_out":
            continue
        logged_in += 1
        total += user.max_chats
        if agent.state == "ready" and is_present(tenant, agent, now):
            ready += 1
            ready_slots += user.max_chats
            free += max(0, user.max_chats - agent_load(tenant, agent))
    recent_finished(core, now)
    handles: list[float] = []
    waits: list[float] = []
    answered_in = counted = 0
    threshold = tenant.queues[queue].service_level_seconds if queue in tenant.queues else 60
    for f in core.finished:
        if f.tenant_id != tenant.id or f.queue != queue:
            continue
        if f.handle_seconds is not None:
            handles.append(f.handle_seconds)
        if f.answered and f.wait_seconds is not None:
            waits.append(f.wait_seconds)
            counted += 1
            answered_in += f.wait_seconds <= threshold
        elif not f.answered and f.wait_seconds is not None and f.wait_seconds > threshold:
            counted += 1
    recent = handles[-20:]
    mean_handle = sum(recent) / len(recent) if recent else float(tenant.config.routing.default_handle_seconds)
    return Capacity(
        ready_agents=ready,
        logged_in_agents=logged_in,
        slots_total=total,
        slots_ready=ready_slots,
        slots_free=free,
        mean_handle_seconds=mean_handle,
        average_wait_seconds=(sum(waits) / len(waits)) if waits else None,
        service_level=(answered_in / counted) if counted else None,
    )


def figures(
    core: Core, tenant: Tenant, queue: str, *, face: str | None = None, extra_skills: list[str] | None = None
) -> QueueFigures:
    cap = capacity(core, tenant, queue, face=face, extra_skills=extra_skills)
    waiting = core.waiting_chats(tenant.id, queue)
    return QueueFigures(
        **{name: getattr(cap, name) for name in Capacity.__slots__},
        queue=queue,
        waiting=len(waiting),
        oldest_queued_at=min((c.queued_at for c in waiting), default=None),
        active_chats=len(core.connected.get((tenant.id, queue), ())),
    )


def ewt(fig: Capacity, pos: int) -> int:
    """0 when an eligible ready agent has a free slot; else position x AHT / capacity (10.3)."""
    if fig.slots_free > 0:
        return 0
    return math.ceil(pos * fig.mean_handle_seconds / max(1, fig.slots_total))


def chat_ewt(core: Core, tenant: Tenant, chat: Chat) -> int:
    pos = core.position(chat) or 1
    return ewt(capacity(core, tenant, chat.queue, face=chat.face, extra_skills=chat.skills), pos)


def new_chat_ewt(core: Core, tenant: Tenant, queue: str, face: str, extra: list[str] | None = None) -> int:
    cap = capacity(core, tenant, queue, face=face, extra_skills=extra)
    return ewt(cap, len(core.waiting.get((tenant.id, queue), ())) + 1)
