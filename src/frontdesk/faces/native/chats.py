"""Chat routes: detail, sending, reading events, transfer, conference, leave, end, wrap-up
(native.md §5.4-5.9)."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import Response

from frontdesk.domain import errors
from frontdesk.domain.ids import CLIENT_MSG_ID_RE
from frontdesk.domain.model import Chat
from frontdesk.engine.notifier import chat_topic
from frontdesk.faces.native import schemas as s
from frontdesk.faces.native import views
from frontdesk.faces.native.http import Caller, Ctx, endpoint, json_response, no_content, query_int
from frontdesk.faces.native.table import Param, RouteTable

CHAT = "/api/v1/chats/{chat_id}"


async def visible_chat(ctx: Ctx, caller: Caller, chat_id: str) -> Chat:
    chat = await ctx.engine.get_chat(chat_id) if len(chat_id) <= 64 else None
    return ctx.engine.require_chat_visible(caller.principal, chat)


def check_message(client_msg_id: str, visibility: str) -> None:
    if not CLIENT_MSG_ID_RE.match(client_msg_id):
        raise errors.InvalidRequest(
            "client_msg_id must be 1-64 characters [A-Za-z0-9._:-]", [("/client_msg_id", "bad format")]
        )
    if visibility not in ("all", "agents"):
        raise errors.InvalidRequest("visibility must be all or agents", [("/visibility", "all or agents")])


def register(t: RouteTable, ctx: Ctx) -> None:
    engine = ctx.engine

    async def setup(request: Request) -> tuple[Caller, Chat]:
        caller = ctx.caller(request)
        return caller, await visible_chat(ctx, caller, request.path_params["chat_id"])

    @t.route("GET", CHAT, answer=s.ChatDetail)
    @endpoint
    async def detail(request: Request) -> Response:
        """A chat with its participants, capabilities, surveys and wrap-ups."""
        c, chat = await setup(request)
        return json_response(views.detail(c.tenant, chat, c.login))

    @t.route(
        "POST", CHAT + "/messages", body=s.SendMessage, answer=s.SentEvent, status=201, extra_status=(200,)
    )
    @endpoint
    async def message(request: Request) -> Response:
        """Send a message; 200 with the original event for a replay of the same client_msg_id."""
        c, chat = await setup(request)
        body = await ctx.body(request, s.SendMessage)
        check_message(body.client_msg_id, body.visibility)
        event, created = await engine.agent_message(
            c.tenant, chat, c.login, body.client_msg_id, body.text, body.visibility
        )
        return json_response(s.SentEvent(seq=event.seq, event=event.to_json()), 201 if created else 200)

    @t.route("POST", CHAT + "/push-url", body=s.PushUrl, answer=s.SentEvent, status=201)
    @endpoint
    async def push_url(request: Request) -> Response:
        """Push a URL to the customer (ECE only; out of scope in this version: not_supported)."""
        c, chat = await setup(request)
        body = await ctx.body(request, s.PushUrl)
        if not body.url.startswith(("http://", "https://")) or len(body.url) > 2000:
            raise errors.InvalidRequest(
                "url must be http or https, at most 2000 characters", [("/url", "bad url")]
            )
        if not chat.live:
            raise errors.ChatEnded()
        if chat.party_of(c.login) is None:
            raise errors.NotParticipant()
        # ARCHITECTURE.md 10.10: URL push is out of scope; every face answers not_supported.
        raise errors.NotSupported("This chat's face cannot carry a URL push.")

    @t.route("POST", CHAT + "/typing", body=s.Typing, status=204)
    @endpoint
    async def typing(request: Request) -> Response:
        """Typing started or stopped."""
        c, chat = await setup(request)
        body = await ctx.body(request, s.Typing)
        await engine.agent_typing(chat, c.login, body.typing)
        return no_content()

    @t.route("POST", CHAT + "/read", body=s.ReadMark, status=204)
    @endpoint
    async def read(request: Request) -> Response:
        """Mark events read up to a seq."""
        c, chat = await setup(request)
        body = await ctx.body(request, s.ReadMark)
        if body.up_to_seq < 0:
            raise errors.InvalidRequest("up_to_seq must not be negative", [("/up_to_seq", "must be >= 0")])
        if not chat.ever_party(c.login):
            raise errors.NotParticipant()
        await engine.agent_read(chat, c.login, body.up_to_seq)
        return no_content()

    @t.route(
        "GET",
        CHAT + "/events",
        answer=s.EventPage,
        query=[
            Param("since", "integer", "return events with seq > since"),
            Param("limit", "integer", "1-500"),
            Param("wait", "integer", "seconds to hold the request when nothing is new"),
        ],
    )
    @endpoint
    async def events(request: Request) -> Response:
        """Events after a cursor; long-polls with wait."""
        c, chat = await setup(request)
        since = query_int(request, "since", 0, 0, 1 << 62)
        limit = query_int(request, "limit", 100, 1, 500)
        max_wait = c.tenant.config.faces.native.events_max_wait_seconds
        wait = query_int(request, "wait", 0, 0, max_wait)
        # Register, then read, then wait (§5.6, design §3).
        with engine.notifier.waiter(chat_topic(chat.id)) as waiter:
            deadline = time.monotonic() + wait
            while True:
                up_to = engine.readable_up_to(c.principal, chat)
                found = engine.read_events(chat, since, limit + 1, up_to=up_to)
                left = deadline - time.monotonic()
                if found or left <= 0 or (up_to is not None and since >= up_to):
                    break
                if not await waiter.wait(left):
                    up_to = engine.readable_up_to(c.principal, chat)
                    found = engine.read_events(chat, since, limit + 1, up_to=up_to)
                    break
        newest = chat.committed_seq if up_to is None else min(up_to, chat.committed_seq)
        page = found[:limit]
        return json_response(
            s.EventPage(
                chat_id=chat.id, events=[e.to_json() for e in page], last_seq=newest, more=len(found) > limit
            )
        )

    @t.route("POST", CHAT + "/transfer", body=s.Transfer, answer=s.ChatSummary, extra_status=(202,))
    @endpoint
    async def transfer(request: Request) -> Response:
        """Transfer to a queue (200) or to an agent (202, pending the target's answer)."""
        c, chat = await setup(request)
        body = await ctx.body(request, s.Transfer)
        to = body.to
        if (to.queue is None) == (to.agent is None):
            raise errors.InvalidRequest(
                "to needs exactly one of queue and agent", [("/to", "queue or agent")]
            )
        if body.note is not None and len(body.note) > 1000:
            raise errors.InvalidRequest("note is too long", [("/note", "at most 1000 characters")])
        if to.queue is not None:
            chat = await engine.transfer_to_queue(c.tenant, chat, c.login, to.queue, body.note)
            return json_response(views.summary(chat, c.login))
        assert to.agent is not None
        chat = await engine.transfer_to_agent(c.tenant, chat, c.login, to.agent, body.note)
        return json_response(views.summary(chat, c.login), 202)

    @t.route("DELETE", CHAT + "/transfer", status=204)
    @endpoint
    async def withdraw_transfer(request: Request) -> Response:
        """Withdraw a pending transfer to an agent."""
        c, chat = await setup(request)
        await engine.withdraw(c.tenant, chat, c.login, "transfer")
        return no_content()

    @t.route("POST", CHAT + "/conference", body=s.Conference, answer=s.ChatSummary, status=202)
    @endpoint
    async def conference(request: Request) -> Response:
        """Invite another agent as conferee."""
        c, chat = await setup(request)
        body = await ctx.body(request, s.Conference)
        if body.note is not None and len(body.note) > 1000:
            raise errors.InvalidRequest("note is too long", [("/note", "at most 1000 characters")])
        chat = await engine.invite_conference(c.tenant, chat, c.login, body.agent, body.note)
        return json_response(views.summary(chat, c.login), 202)

    @t.route("DELETE", CHAT + "/conference", status=204)
    @endpoint
    async def withdraw_conference(request: Request) -> Response:
        """Withdraw a pending conference invitation."""
        c, chat = await setup(request)
        await engine.withdraw(c.tenant, chat, c.login, "conference")
        return no_content()

    @t.route("POST", CHAT + "/leave", answer=s.ChatSummary)
    @endpoint
    async def leave(request: Request) -> Response:
        """Leave the chat (conferee, or lead with conferees present)."""
        c, chat = await setup(request)
        await ctx.body(request, s.Empty)
        chat = await engine.leave_chat(c.tenant, chat, c.login)
        return json_response(views.summary(chat, c.login))

    @t.route("POST", CHAT + "/end", body=s.EndChat, answer=s.ChatSummary)
    @endpoint
    async def end(request: Request) -> Response:
        """End the chat (lead only)."""
        c, chat = await setup(request)
        body = await ctx.body(request, s.EndChat)
        chat = await engine.end_chat(c.tenant, chat, c.login, body.reason)
        return json_response(views.summary(chat, c.login))

    @t.route("POST", CHAT + "/wrapup", body=s.Wrapup, answer=s.ChatSummary)
    @endpoint
    async def wrapup(request: Request) -> Response:
        """Give the wrap-up owed for an ended chat."""
        c, chat = await setup(request)
        body = await ctx.body(request, s.Wrapup)
        chat = await engine.wrapup(c.tenant, chat, c.login, body.disposition, body.notes)
        return json_response(views.summary(chat, c.login))
