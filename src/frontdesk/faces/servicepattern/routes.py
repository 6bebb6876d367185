"""ServicePattern (Bright Pattern) Mobile/Web chat API under /clientweb/api/v1 and /v2.

Each resource is one Starlette ``Route`` that takes every method and dispatches itself, so wrong
methods get 405 ``5955`` with ``Allow`` and OPTIONS the CORS preflight (§1.6, §1.7). A catch-all
after them answers unknown /clientweb/ paths with 404 ``5955``.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable

from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from frontdesk import __version__
from frontdesk.domain import errors as engine_errors
from frontdesk.domain.model import Chat
from frontdesk.engine import calendar
from frontdesk.engine.engine import Engine
from frontdesk.faces.servicepattern import chats, codec, files, polling
from frontdesk.faces.servicepattern.auth import Caller, authorise, cookie_header, resolve_tenant
from frontdesk.faces.servicepattern.errors import SpError, from_engine
from frontdesk.faces.servicepattern.http import (
    EMPTY_EVENTS,
    JsonBytes,
    add_cors,
    error_reply,
    json_reply,
    preflight,
)
from frontdesk.serving.lane import FastRoute

log = logging.getLogger("frontdesk.faces.servicepattern")
_EMPTY_OBJECT = b"{}"


class _Version(Convertor[str]):
    regex = "v[12]"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


class _Slash(Convertor[str]):
    regex = "/?"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return ""


register_url_convertor("spver", _Version())
register_url_convertor("spslash", _Slash())


class Ctx:
    """One request: the engine, the request, and once authorised the caller."""

    __slots__ = ("caller", "engine", "request", "tenant_origins")

    def __init__(self, engine: Engine, request: Request) -> None:
        self.engine = engine
        self.request = request
        self.caller: Caller | None = None
        self.tenant_origins: list[str] | None = None

    def param(self, name: str) -> str:
        return str(self.request.path_params[name]).lower()

    def auth(self) -> Caller:
        tenant = resolve_tenant(self.engine, self.request)
        self.tenant_origins = tenant.config.faces.servicepattern.cors_allowed_origins
        self.caller = authorise(self.engine, self.request, tenant)
        return self.caller

    async def chat(self) -> tuple[Caller, Chat]:
        caller = self.auth()
        return caller, await chats.load_chat(self.engine, caller, self.param("chat_id"))


Handler = Callable[[Ctx], Awaitable[Response]]


class _Asgi:
    """A bare ASGI endpoint: Starlette routes it for every method (the handler answers 405 itself)."""

    __slots__ = ("_fn",)

    def __init__(self, fn: Callable[[Request], Awaitable[Response]]) -> None:
        self._fn = fn

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self._fn(Request(scope, receive, send))
        await response(scope, receive, send)


def _finish(ctx: Ctx, response: Response) -> Response:
    caller = ctx.caller
    if caller is not None and caller.cookie_mode and response.status_code == 200:
        if caller.identity is None and caller.set_cookie is None:
            caller.new_identity()
        if caller.set_cookie is not None:
            secure = ctx.request.url.scheme == "https"
            response.raw_headers.append(
                (b"set-cookie", cookie_header(caller.set_cookie, secure).encode("latin-1"))
            )
    add_cors(ctx.request, response, ctx.tenant_origins)
    return response


def endpoint_for(engine: Engine, handlers: dict[str, Handler]) -> Callable[[Request], Awaitable[Response]]:
    """One resource's endpoint: dispatch by method, errors in the face's format, cookies and CORS."""
    allow = ", ".join([*handlers, "OPTIONS"])

    async def endpoint(request: Request) -> Response:
        method = request.method
        if method == "OPTIONS":
            return preflight(request)
        ctx = Ctx(engine, request)
        handler = handlers.get(method)
        try:
            if handler is None:
                raise SpError("5955", 405, headers={"Allow": allow})
            response = await handler(ctx)
        except SpError as err:
            response = error_reply(err)
        except engine_errors.FrontdeskError as exc:
            response = error_reply(from_engine(exc))
        except Exception as exc:
            log.exception("servicepattern %s %s failed", method, request.url.path)
            response = error_reply(SpError("5500", 500, f"Internal server error: {type(exc).__name__}"))
        return _finish(ctx, response)

    return endpoint


def resource(engine: Engine, path: str, handlers: dict[str, Handler]) -> Route:
    return Route(path, _Asgi(endpoint_for(engine, handlers)), methods=None)


# -- handlers ------------------------------------------------------------------------------------
async def availability(ctx: Ctx) -> Response:
    caller = ctx.auth()
    tenant, ep = caller.tenant, caller.ep
    cal = ep.effective_calendar(tenant.config)
    is_open = calendar.is_open(tenant.config.calendars, cal, tenant.config.timezone, time.time())
    ewt = ctx.engine.new_chat_ewt(tenant, ep) if is_open else 0
    return json_reply({"chat": "available" if is_open else "notAvailable", "ewt": str(ewt)})


async def parameters(ctx: Ctx) -> Response:
    ep = ctx.auth().ep
    return json_reply({"parameters": [{p.name: p.type} for p in ep.parameters]})


async def ice_servers(ctx: Ctx) -> Response:
    servers = []
    for s in ctx.auth().ep.ice_servers:
        item = {"url": s.url}
        if s.username is not None:
            item["username"] = s.username
        if s.credential is not None:
            item["credential"] = s.credential
        servers.append(item)
    return json_reply({"servers": servers})


async def configuration(ctx: Ctx) -> Response:
    return json_reply(ctx.auth().ep.widget_configuration or {})


async def version(ctx: Ctx) -> Response:
    if ctx.request.path_params["ver"] == "v1":
        raise SpError("5955")
    ctx.auth()
    return json_reply({"server_version": f"{__version__} (Frontdesk)"})


def make_request_chat(last: chats.LastChats) -> Handler:
    async def request_chat(ctx: Ctx) -> Response:
        caller = ctx.auth()
        req = codec.chat_request(await codec.read_json(ctx.request))
        return json_reply(await chats.request_chat(ctx.engine, caller, req, last))

    return request_chat


async def active_chat(ctx: Ctx) -> Response:
    caller = ctx.auth()
    chat = ctx.engine.live_chat(caller.tenant.id, caller.identity) if caller.identity else None
    if chat is None:
        raise SpError("5005")
    ctx.engine.customer_seen(chat, caller.tenant.config.faces.servicepattern.abandon_seconds)
    return json_reply(chats.chat_reply(ctx.engine, chat, None))


async def send_events(ctx: Ctx) -> Response:
    caller, chat = await ctx.chat()
    events = codec.send_events(await codec.read_json(ctx.request))
    await chats.send_events(ctx.engine, caller, chat, events)
    return JsonBytes(EMPTY_EVENTS)


async def get_events(ctx: Ctx) -> Response:
    caller, chat = await ctx.chat()
    cfg = caller.tenant.config.faces.servicepattern
    hold = float(min(max(cfg.long_poll_hold_seconds, 1), 12))
    return await polling.poll(ctx.engine, chat, hold, bool(caller.ep.read_receipts))


async def history(ctx: Ctx) -> Response:
    caller, chat = await ctx.chat()
    return await polling.history(ctx.engine, chat, bool(caller.ep.read_receipts))


async def upload(ctx: Ctx) -> Response:
    return await files.upload(ctx.engine, ctx.request, ctx.auth())


async def notifications(ctx: Ctx) -> Response:
    caller, chat = await ctx.chat()
    sub = codec.notification(await codec.read_json(ctx.request), list(caller.ep.push_kinds))
    if chat.live:
        polling.sp_state(chat)["push"] = sub
        await ctx.engine.save_face_state(chat)
    return JsonBytes(_EMPTY_OBJECT)


async def case_live(ctx: Ctx) -> Response:
    caller = ctx.auth()
    chat = ctx.engine.live_chat(caller.tenant.id, caller.identity) if caller.identity else None
    if chat is None:
        raise SpError("5005")
    raise SpError("5601")  # no Frontdesk chat ever has a case (design §10.10)


async def case_chat(ctx: Ctx) -> Response:
    await ctx.chat()
    raise SpError("5601")


async def download(ctx: Ctx) -> Response:
    chat_id = ctx.param("chat_id") if "chat_id" in ctx.request.path_params else None
    return await files.download(ctx.engine, chat_id, ctx.param("file_id"))


async def photo(ctx: Ctx) -> Response:
    return await files.profile_photo(ctx.engine, ctx.param("chat_id"), ctx.param("party_id"))


async def icon(ctx: Ctx) -> Response:
    return await files.chat_icon(ctx.engine, ctx.param("chat_id"))


async def _unknown(request: Request) -> Response:
    if request.method == "OPTIONS":
        return preflight(request)
    response = error_reply(SpError("5955"))
    add_cors(request, response, None)
    return response


_EVENTS: dict[str, Handler] = {"GET": get_events, "POST": send_events}


def lane_routes(engine: Engine) -> list[FastRoute]:
    """The chat's events resource, which every customer hits several times a minute (decision 35)."""
    pattern = re.compile(r"/clientweb/api/(?P<ver>v[12])/chats/(?P<chat_id>[^/]+)/events(?P<slash>/?)")
    return [FastRoute(pattern, frozenset(_EVENTS), "servicepattern", endpoint_for(engine, _EVENTS))]


def routes(engine: Engine) -> list[BaseRoute]:
    last = chats.LastChats()
    p = "/clientweb/api/{ver:spver}"
    s = "{slash:spslash}"
    c = p + "/chats/{chat_id}"
    table: list[tuple[str, dict[str, Handler]]] = [
        (p + "/chats" + s, {"POST": make_request_chat(last)}),
        (p + "/chats/active" + s, {"GET": active_chat}),
        (c + "/events" + s, _EVENTS),
        (c + "/history" + s, {"GET": history}),
        (p + "/availability" + s, {"GET": availability}),
        (p + "/parameters" + s, {"GET": parameters}),
        (p + "/files" + s, {"POST": upload}),
        (c + "/files/{file_id}" + s, {"GET": download}),
        (c + "/profilephotos/{party_id}" + s, {"GET": photo}),
        (c + "/chaticon" + s, {"GET": icon}),
        (c + "/notifications" + s, {"POST": notifications}),
        (p + "/iceservers" + s, {"GET": ice_servers}),
        (p + "/configuration" + s, {"GET": configuration}),
        (p + "/version" + s, {"GET": version}),
        (p + "/casehistory" + s, {"GET": case_live}),
        (p + "/closecase" + s, {"POST": case_live}),
        (c + "/casehistory" + s, {"GET": case_chat}),
        (c + "/closecase" + s, {"POST": case_chat}),
        ("/clientweb/file/{file_id}" + s, {"GET": download}),
    ]
    out: list[BaseRoute] = [resource(engine, path, handlers) for path, handlers in table]
    out.append(Route("/clientweb/{path:path}", _Asgi(_unknown), methods=None))
    return out
