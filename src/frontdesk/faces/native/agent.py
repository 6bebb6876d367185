"""Agent routes: state, offers, my chats, history, directory, canned responses (native.md §5.1-5.3)."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import Response

from frontdesk.domain import errors
from frontdesk.engine.availability import ewt as estimate
from frontdesk.engine.calendar import is_open
from frontdesk.engine.engine import Engine
from frontdesk.engine.tenants import Tenant
from frontdesk.faces.native import schemas as s
from frontdesk.faces.native import views
from frontdesk.faces.native.http import Ctx, endpoint, json_response, no_content, query_int
from frontdesk.faces.native.table import Param, RouteTable

PAGE = [Param("limit", "integer", "1-500, default 100"), Param("offset", "integer", "default 0")]


def queue_open(tenant: Tenant, name: str) -> bool:
    q = tenant.queues.get(name)
    if q is None:
        return False
    return is_open(tenant.config.calendars, q.calendar, tenant.config.timezone, time.time())


async def offers_of(engine: Engine, tenant: Tenant, login: str) -> list[s.Offer]:
    out = []
    for o in sorted(engine.offers_for(tenant.id, login), key=lambda o: o.offered_at):
        chat = await engine.get_chat(o.chat_id)
        if chat is not None:
            out.append(views.offer(chat, o))
    return out


def queue_ewt(engine: Engine, tenant: Tenant, name: str) -> int | None:
    fig = engine.queue_figures(tenant, name)
    if fig.slots_free <= 0 and fig.slots_ready == 0:
        return None
    return estimate(fig, fig.waiting + 1)


def register(t: RouteTable, ctx: Ctx) -> None:
    engine = ctx.engine

    @t.route("GET", "/api/v1/agent/state", answer=s.AgentState, role="agent")
    @endpoint
    async def get_state(request: Request) -> Response:
        """The caller's agent state."""
        c = ctx.caller(request, "agent")
        return json_response(views.agent_state(engine, c.tenant, c.login))

    @t.route("PUT", "/api/v1/agent/state", body=s.StateChange, answer=s.AgentState, role="agent")
    @endpoint
    async def put_state(request: Request) -> Response:
        """Change the caller's agent state."""
        c = ctx.caller(request, "agent")
        body = await ctx.body(request, s.StateChange)
        if body.state == "not_ready" and body.reason in ("rona", "disconnected", "supervisor"):
            raise errors.InvalidRequest("system reasons cannot be chosen", [("/reason", "a system reason")])
        await engine.set_agent_state(c.tenant, c.login, body.state, body.reason)
        return json_response(views.agent_state(engine, c.tenant, c.login))

    @t.route("GET", "/api/v1/agent/offers", answer=s.OfferList, role="agent")
    @endpoint
    async def list_offers(request: Request) -> Response:
        """Pending offers, oldest first."""
        c = ctx.caller(request, "agent")
        return json_response(s.OfferList(items=await offers_of(engine, c.tenant, c.login)))

    @t.route("POST", "/api/v1/agent/offers/{offer_id}/accept", answer=s.ChatDetail, role="agent")
    @endpoint
    async def accept(request: Request) -> Response:
        """Accept an offer; answers once the join is committed."""
        c = ctx.caller(request, "agent")
        await ctx.body(request, s.Empty)
        chat = await engine.accept_offer(c.tenant, c.login, request.path_params["offer_id"])
        return json_response(views.detail(c.tenant, chat, c.login))

    @t.route("POST", "/api/v1/agent/offers/{offer_id}/reject", body=s.RejectOffer, status=204, role="agent")
    @endpoint
    async def reject(request: Request) -> Response:
        """Reject an offer; the chat goes back to routing."""
        c = ctx.caller(request, "agent")
        await ctx.body(request, s.RejectOffer)
        await engine.reject_offer(c.tenant, c.login, request.path_params["offer_id"])
        return no_content()

    @t.route("GET", "/api/v1/agent/chats", answer=s.ChatSummaryList, role="agent")
    @endpoint
    async def my_chats(request: Request) -> Response:
        """Chats where the caller is active or owes a wrap-up, oldest first."""
        c = ctx.caller(request, "agent")
        chats = engine.agent_chats(c.tenant.id, c.login)
        return json_response(s.ChatSummaryList(items=[views.summary(ch, c.login) for ch in chats]))

    @t.route("GET", "/api/v1/agent/history", answer=s.ChatSummaryPage, role="agent", query=PAGE)
    @endpoint
    async def history(request: Request) -> Response:
        """Chats the caller took part in and finished, newest first."""
        c = ctx.caller(request, "agent")
        limit = query_int(request, "limit", 100, 1, 500)
        offset = query_int(request, "offset", 0, 0, 1 << 31)
        agent = engine.agent_state(c.tenant.id, c.login)
        mine = set(agent.chats) | set(agent.wrapups)
        done = [
            ch
            for ch in engine.tenant_chats(c.tenant.id)
            if ch.id not in mine and ch.ever_party(c.login) and ch.party_of(c.login) is None
        ]
        done.sort(
            key=lambda ch: ch.ended_at or max(p.left_at or 0 for p in ch.ever_party(c.login)), reverse=True
        )
        page = done[offset : offset + limit]
        return json_response(
            s.ChatSummaryPage(
                items=[views.summary(ch, c.login) for ch in page], total=len(done), limit=limit, offset=offset
            )
        )

    @t.route("GET", "/api/v1/agent/directory", answer=s.Directory, role="agent")
    @endpoint
    async def directory(request: Request) -> Response:
        """Queues and the other agents, to choose transfer and conference targets."""
        c = ctx.caller(request, "agent")
        tenant = c.tenant
        queues = []
        for name in tenant.queue_order:
            fig = engine.queue_figures(tenant, name)
            q = tenant.queues[name]
            queues.append(
                s.DirectoryQueue(
                    name=name,
                    display_name=q.display_name,
                    open=queue_open(tenant, name),
                    waiting=fig.waiting,
                    ready_agents=fig.ready_agents,
                )
            )
        agents = []
        for user in sorted(tenant.agent_users(), key=lambda u: u.login):
            if user.login == c.login:
                continue
            a = engine.agent_state(tenant.id, user.login)
            free = 0
            if a.state == "ready" and engine.agent_present(tenant, a):
                free = max(0, user.max_chats - engine.agent_load(tenant, a))
            agents.append(
                s.DirectoryAgent(
                    login=user.login, display_name=user.profile.display_name, state=a.state, free_slots=free
                )
            )
        return json_response(s.Directory(queues=queues, agents=agents))

    @t.route(
        "GET",
        "/api/v1/canned-responses",
        answer=s.CannedResponseList,
        query=[Param("queue", description="also those of this queue")],
    )
    @endpoint
    async def canned(request: Request) -> Response:
        """Canned responses for every queue plus those of the given queue."""
        c = ctx.caller(request)
        if not any(c.principal.has(r) for r in ("agent", "supervisor", "admin")):
            raise errors.NotAuthorized()
        queue = request.query_params.get("queue")
        items = [
            s.CannedResponse(id=r.id, title=r.title, text=r.text, shortcut=r.shortcut, queues=list(r.queues))
            for r in c.tenant.config.canned_responses
            if not r.queues or (queue is not None and queue in r.queues)
        ]
        return json_response(s.CannedResponseList(items=items))
