"""Supervisor REST routes (native.md §7.2)."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import Response

from frontdesk.domain import errors
from frontdesk.domain.clock import parse_rfc3339
from frontdesk.faces.native import schemas as s
from frontdesk.faces.native import stats, views
from frontdesk.faces.native import sup_schemas as ss
from frontdesk.faces.native.agent import PAGE
from frontdesk.faces.native.chats import visible_chat
from frontdesk.faces.native.http import Ctx, endpoint, json_response, query_int
from frontdesk.faces.native.table import Param, RouteTable

SUP = "/api/v1/supervisor"


def _time(request: Request, name: str, default: float) -> float:
    raw = request.query_params.get(name)
    if not raw:
        return default
    try:
        return parse_rfc3339(raw)
    except ValueError:
        raise errors.InvalidRequest(f"{name} must be an RFC 3339 time", [(name, "RFC 3339 time")]) from None


def register(t: RouteTable, ctx: Ctx) -> None:
    engine = ctx.engine

    @t.route("GET", SUP + "/queues", answer=ss.QueueStatsList, role="supervisor")
    @endpoint
    async def queues(request: Request) -> Response:
        """Figures of every queue, in configuration order."""
        c = ctx.caller(request, "supervisor")
        return json_response(ss.QueueStatsList(items=stats.all_queue_stats(engine, c.tenant)))

    @t.route("GET", SUP + "/queues/{name}", answer=ss.QueueStats, role="supervisor")
    @endpoint
    async def queue(request: Request) -> Response:
        """Figures of one queue."""
        c = ctx.caller(request, "supervisor")
        name = request.path_params["name"]
        if name not in c.tenant.queues:
            raise errors.QueueNotFound()
        return json_response(stats.queue_stats(engine, c.tenant, name))

    @t.route("GET", SUP + "/agents", answer=ss.AgentStatsList, role="supervisor")
    @endpoint
    async def agents(request: Request) -> Response:
        """Every agent user with state, load and today's figures, by login."""
        c = ctx.caller(request, "supervisor")
        return json_response(ss.AgentStatsList(items=stats.all_agent_stats(engine, c.tenant)))

    @t.route("PUT", SUP + "/agents/{login}/state", body=s.StateChange, answer=s.AgentState, role="supervisor")
    @endpoint
    async def set_state(request: Request) -> Response:
        """Set an agent not_ready (reason supervisor) or logged_out."""
        c = ctx.caller(request, "supervisor")
        body = await ctx.body(request, s.StateChange)
        login = request.path_params["login"]
        user = c.tenant.users.get(login)
        if user is None or user.disabled or "agent" not in user.roles:
            raise errors.UserNotFound()
        if body.state not in ("not_ready", "logged_out"):
            raise errors.InvalidRequest(
                "state must be not_ready or logged_out", [("/state", "not_ready or logged_out")]
            )
        await engine.set_agent_state(c.tenant, login, body.state, body.reason, by_supervisor=True)
        return json_response(views.agent_state(engine, c.tenant, login))

    @t.route(
        "GET",
        SUP + "/chats",
        answer=ss.LiveChatPage,
        role="supervisor",
        query=[
            Param("state", description="queued, offered, connected or wrapup; may repeat", repeat=True),
            Param("queue"),
            Param("face"),
            *PAGE,
        ],
    )
    @endpoint
    async def chats(request: Request) -> Response:
        """Live chats (and chats awaiting wrap-up), oldest queued_at first."""
        c = ctx.caller(request, "supervisor")
        limit = query_int(request, "limit", 100, 1, 500)
        offset = query_int(request, "offset", 0, 0, 1 << 31)
        states = set(request.query_params.getlist("state"))
        queue_name = request.query_params.get("queue")
        face = request.query_params.get("face")
        items = [
            v
            for v in stats.live_chats(engine, c.tenant)
            if (not states or v.state in states)
            and (queue_name is None or v.queue == queue_name)
            and (face is None or v.face == face)
        ]
        return json_response(
            ss.LiveChatPage(
                items=items[offset : offset + limit], total=len(items), limit=limit, offset=offset
            )
        )

    @t.route(
        "GET",
        SUP + "/surveys",
        answer=ss.SurveyPage,
        role="supervisor",
        query=[
            Param("since", description="RFC 3339 time"),
            Param("until", description="RFC 3339 time"),
            Param("queue"),
            Param("source"),
            *PAGE,
        ],
    )
    @endpoint
    async def surveys(request: Request) -> Response:
        """Survey results, newest first."""
        c = ctx.caller(request, "supervisor")
        limit = query_int(request, "limit", 100, 1, 500)
        offset = query_int(request, "offset", 0, 0, 1 << 31)
        since = _time(request, "since", 0.0)
        until = _time(request, "until", time.time() + 86400)
        queue_name = request.query_params.get("queue")
        source = request.query_params.get("source")
        records = [
            r
            for r in await engine.surveys(c.tenant.id, since, until)
            if (queue_name is None or r.queue == queue_name) and (source is None or r.source == source)
        ]
        records.sort(key=lambda r: r.submitted_at, reverse=True)
        return json_response(
            ss.SurveyPage(
                items=[views.survey_record(r) for r in records[offset : offset + limit]],
                total=len(records),
                limit=limit,
                offset=offset,
            )
        )

    @t.route("POST", SUP + "/chats/{chat_id}/end", answer=s.ChatSummary, role="supervisor")
    @endpoint
    async def end(request: Request) -> Response:
        """End a live chat (reason system)."""
        c = ctx.caller(request, "supervisor")
        chat = await visible_chat(ctx, c, request.path_params["chat_id"])
        await ctx.body(request, s.EndChat)
        chat = await engine.supervisor_end(c.tenant, chat)
        return json_response(views.summary(chat, c.login))
