"""Cisco ECE customer chat face (spec/cisco-ece.md): every path under ``/egain`` and ``/system/egain``.

One catch-all route per prefix, because the fixed segments match case-insensitively, a trailing
``/`` is accepted and unknown paths must answer an empty ``404`` (2.1) rather than the server's
default page. The face translates only; the engine decides.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from frontdesk.domain.model import Chat
from frontdesk.engine.engine import Engine
from frontdesk.engine.tenants import Tenant
from frontdesk.faces.ece import bosh, checks, side, xmlsafe
from frontdesk.faces.ece.create import create_session
from frontdesk.faces.ece.http import (
    BOSH_TYPE,
    TooLarge,
    client_address,
    default_tenant,
    empty,
    find_entry_point,
    parse_long,
    read_body,
    reply,
    wants_json,
)
from frontdesk.faces.ece.sessions import Sessions
from frontdesk.faces.ece.survey import BadSurvey, parse_survey, survey_data

log = logging.getLogger("frontdesk.faces.ece")
METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]
CHECKS = {
    "agentavailability": checks.agent_availability,
    "agentavilability": checks.agent_availability,
    "capacity": checks.capacity,
    "livesessionstatus": checks.live_session_status,
    "checkeligibility": checks.check_eligibility,
}
CREATE_LIMIT = 256 * 1024
SESSION_LIMIT = 64 * 1024
SURVEY_LIMIT = 64 * 1024
SIDE_LIMIT = 4 * 1024
QUERY_LIMIT = 4 * 1024
GET = "GET, HEAD"
POST = "POST"
Handler = Callable[[], Awaitable[Response]]


class EceFace:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions = Sessions(engine)

    async def dispatch(self, request: Request) -> Response:
        tenant = default_tenant(self.engine, request)
        rest = str(request.path_params.get("rest", ""))
        if rest.endswith("/"):
            rest = rest[:-1]
        raw = rest.split("/")
        low = [s.lower() for s in raw]
        if request.method == "OPTIONS":
            return empty(
                request,
                tenant,
                204,
                {
                    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
                    "Access-Control-Allow-Headers": "Content-Type, Accept, X-egain-session, X-Requested-With",
                    "Access-Control-Max-Age": "600",
                },
            )
        if len(request.url.query) > QUERY_LIMIT:
            return empty(request, tenant, 414)
        found = self._route(request, raw, low)
        if found is None:
            return empty(request, tenant, 404)
        allow, handler = found
        if request.method not in allow.replace(" ", "").split(","):
            return empty(request, tenant, 405, {"Allow": allow})
        try:
            return await handler()
        except TooLarge:
            return empty(request, tenant, 413)

    def _route(self, request: Request, raw: list[str], low: list[str]) -> tuple[str, Handler] | None:
        if len(low) < 2 or low[0] != "chat" or low[1] not in ("entrypoint", "endpoint"):
            return None
        tail, args = low[2:], raw[2:]
        if low[1] == "endpoint":
            return (POST, lambda: self.survey(request)) if tail == ["survey"] else None
        if not tail:
            return POST, lambda: self.bosh(request)
        name = tail[0]
        if len(tail) == 2 and (name in CHECKS or name == "chatallowed"):
            return GET, lambda: self.check(request, name, args[1])
        if len(tail) == 2 and name == "initialize":
            return GET, lambda: self.initialize(request, args[1])
        if len(tail) == 2 and name == "sessionstatus":
            return GET, lambda: self.session_status(request, args[1])
        if len(tail) == 2 and name in ("acceptattachment", "rejectattachment", "getattachment"):
            return POST, lambda: self._nothing(request)
        if len(tail) != 1:
            return None
        simple: dict[str, tuple[str, Handler]] = {
            "survey": (POST, lambda: self.survey(request)),
            "attachconnection": (POST, lambda: self.attach(request)),
            "transcript": (POST, lambda: self.transcript(request)),
            "sessionstatistics": (POST, lambda: self.statistics(request)),
            "getimagethumbnail": (POST, lambda: self._nothing(request)),
            "attributesinfo": (POST, lambda: self._nothing(request)),
            "mediaserver": (GET, lambda: self._nothing(request)),
        }
        if name in simple:
            return simple[name]
        if name in side.NOT_SUPPORTED:
            return POST, lambda: self.unsupported(request, name)
        return None

    async def _nothing(self, request: Request) -> Response:
        return empty(request, default_tenant(self.engine, request), 404)

    # -- 3. entry-point checks and 6.1 initialize ---------------------------------------------
    def _limited(self, request: Request, tenant: Tenant | None) -> Response | None:
        if tenant is None:
            return None
        limit = tenant.config.faces.ece.limits.checks_per_minute
        if self.sessions.rates.allow(f"check:{client_address(request)}", limit, 60.0):
            return None
        return empty(request, tenant, 429, {"Retry-After": "60"})

    async def check(self, request: Request, name: str, raw_id: str) -> Response:
        number = parse_long(raw_id)
        fallback = default_tenant(self.engine, request)
        if number is None:
            return empty(request, fallback, 404)
        found = find_entry_point(self.engine, number)
        tenant = found.tenant if found is not None else fallback
        limited = self._limited(request, tenant)
        if limited is not None:
            return limited
        as_json = wants_json(request)
        if found is None:
            if name != "chatallowed":
                return empty(request, tenant, 500)
            body, media = checks.chat_allowed("invalid_entry_point", as_json)
            return reply(request, tenant, 200, body, media)
        verdict = checks.assess(self.engine, found)
        if name == "chatallowed":
            body, media = checks.chat_allowed(checks.refusal(found, verdict), as_json)
        else:
            body, media = CHECKS[name](verdict, as_json)
        return reply(request, tenant, 200, body, media)

    async def initialize(self, request: Request, raw_id: str) -> Response:
        number = parse_long(raw_id)
        fallback = default_tenant(self.engine, request)
        if number is None:
            return empty(request, fallback, 404)
        found = find_entry_point(self.engine, number)
        if found is None:
            return empty(request, fallback, 500)
        limited = self._limited(request, found.tenant)
        if limited is not None:
            return limited
        return reply(request, found.tenant, 200, checks.initialize(found), "application/json")

    # -- 4. survey ----------------------------------------------------------------------------
    async def survey(self, request: Request) -> Response:
        fallback = default_tenant(self.engine, request)
        limit = fallback.config.faces.ece.limits.surveys_per_minute if fallback is not None else 30
        if not self.sessions.rates.allow(f"survey:{client_address(request)}", limit, 60.0):
            return empty(request, fallback, 429, {"Retry-After": "60"})
        data = await read_body(request, SURVEY_LIMIT)
        try:
            sid, pairs = parse_survey(data)
        except BadSurvey:
            return empty(request, fallback, 400)
        chat = await self.sessions.find(sid)
        tenant = self.engine.tenant(chat.tenant_id) if chat is not None else fallback
        if tenant is None:
            return empty(request, fallback, 400)
        name = None if chat is not None else f"sid={sid}"
        await self.engine.record_survey(tenant, chat, "ece", name, survey_data(pairs))
        return empty(request, tenant, 204)

    # -- 5. BOSH ------------------------------------------------------------------------------
    async def bosh(self, request: Request) -> Response:
        fallback = default_tenant(self.engine, request)
        data = await read_body(request, CREATE_LIMIT)
        try:
            root = xmlsafe.parse(data)
        except xmlsafe.BadXml:
            return empty(request, fallback, 400)
        if xmlsafe.local(root) != "body":
            return empty(request, fallback, 400)
        sid = xmlsafe.attr(root, "sid")
        if sid is None:
            body = await create_session(self.engine, self.sessions, request, root)
            return reply(request, fallback, 200, body, BOSH_TYPE)
        if len(data) > SESSION_LIMIT:
            return empty(request, fallback, 413)
        outcome = await bosh.handle(self.engine, self.sessions, root, sid)
        if outcome.body is None:
            return empty(request, fallback, outcome.status)
        return reply(request, fallback, outcome.status, outcome.body, BOSH_TYPE)

    # -- 6. side endpoints --------------------------------------------------------------------
    async def _side_chat(self, request: Request, limit: int = SIDE_LIMIT) -> Chat | None:
        data = await read_body(request, limit)
        sid = side.sid_from(data, request.headers.get("content-type", ""), dict(request.query_params))
        return await side.open_chat(self.sessions, sid)

    async def attach(self, request: Request) -> Response:
        chat = await self._side_chat(request)
        tenant = default_tenant(self.engine, request)
        if chat is None:
            return empty(request, tenant, 404)
        await side.attach(self.engine, self.sessions, chat)
        return reply(request, tenant, 200, "true", "text/plain; charset=utf-8")

    async def transcript(self, request: Request) -> Response:
        chat = await self._side_chat(request)
        tenant = default_tenant(self.engine, request)
        if chat is None:
            return reply(request, tenant, 400, side.CLOSED, "application/json")
        return reply(
            request, tenant, 200, side.transcript(self.engine, self.sessions, chat), "application/json"
        )

    async def statistics(self, request: Request) -> Response:
        chat = await self._side_chat(request)
        tenant = default_tenant(self.engine, request)
        if chat is None:
            return empty(request, tenant, 404)
        return reply(request, tenant, 200, side.statistics(self.engine, chat, True), "application/xml")

    async def session_status(self, request: Request, sid: str) -> Response:
        chat = await side.open_chat(self.sessions, sid)
        tenant = default_tenant(self.engine, request)
        if chat is None:
            return empty(request, tenant, 404)
        return reply(request, tenant, 200, side.statistics(self.engine, chat, False), "application/xml")

    async def unsupported(self, request: Request, name: str) -> Response:
        chat = await self._side_chat(request, SESSION_LIMIT)
        tenant = default_tenant(self.engine, request)
        if chat is None:
            return empty(request, tenant, 404)
        return reply(request, tenant, 200, side.NOT_SUPPORTED[name], "text/plain; charset=utf-8")


def routes(engine: Engine) -> list[BaseRoute]:
    face = EceFace(engine)
    from frontdesk.agentsim.inprocess import start_demo_agents

    engine.add_startup_hook(lambda: start_demo_agents(engine))
    return [
        Route("/egain/{rest:path}", face.dispatch, methods=METHODS),
        Route("/system/egain/{rest:path}", face.dispatch, methods=METHODS),
    ]
