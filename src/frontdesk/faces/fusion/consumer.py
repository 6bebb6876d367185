"""The consumer engagement API, ``/engagement/api/consumer/{site}/v1/{operation}`` (fusion-chat.md
§4, §5): URL and method checks in the spec's order, then one handler per operation."""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from frontdesk.config import EntryPointConfig
from frontdesk.domain import errors as engine_errors
from frontdesk.domain.clock import rfc3339
from frontdesk.domain.model import Chat
from frontdesk.engine.engine import Engine
from frontdesk.engine.tenants import Tenant
from frontdesk.faces.fusion import polling, richtext, tokens
from frontdesk.faces.fusion.http import (
    BadJson,
    ConsumerError,
    TooLarge,
    add_cors,
    bad_request,
    consumer_reply,
    denied,
    invalid_field,
    json_reply,
    parse_json,
    preflight,
    read_body,
)
from frontdesk.faces.fusion.sessions import FACE, Sessions, queue_for, session_header, site_of, state

log = logging.getLogger("frontdesk.faces.fusion")
POST_ONLY = ("requestEngagement", "postMessage", "getMessages", "concludeEngagement", "activity")
GET_TOO = ("getQueueStats", "getEngagementQueue")
MODES = ("NONE", "AWAY", "LISTENING", "RESEARCHING", "RESPONDING")
FIELD_TYPES = ("BOOLEAN", "DATE", "DATETIME", "INTEGER", "LONG", "STRING", "DECIMAL")
MAX_REQUEST_PARAM = 8 * 1024
JWT_FAILED = "JWT validation failed"
SERVER_ERROR = "An error occurred in the chat server"
Site = tuple[Tenant, EntryPointConfig]


@dataclass(slots=True)
class Call:
    """One consumer request after the URL checks."""

    engine: Engine
    sessions: Sessions
    keys: tokens.KeyRing
    request: Request
    tenant: Tenant
    ep: EntryPointConfig
    operation: str
    started: float
    raw: bytes = b""

    def body(self) -> dict[str, Any]:
        try:
            value = parse_json(self.raw)
        except BadJson:
            raise bad_request() from None
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise bad_request()
        return value

    def times(self) -> dict[str, Any]:
        return {"serviceFinishTime": rfc3339(time.time()), "serviceStartTime": rfc3339(self.started)}

    async def session(self) -> Chat:
        sid = session_header(self.request.headers.get("sessionid"))
        return await self.sessions.require(self.tenant, self.ep.id, sid)

    async def token(self) -> dict[str, Any]:
        try:
            return await tokens.verify(
                self.keys, self.tenant, self.ep.id, tokens.bearer(self.request.headers.get("authorization"))
            )
        except tokens.TokenInvalid as exc:
            log.info("fusion %s: token refused: %s", self.operation, exc)
            raise denied(JWT_FAILED) from None


def _sorted(d: dict[str, Any]) -> dict[str, Any]:
    return dict(sorted(d.items()))


def _echo(body: dict[str, Any]) -> dict[str, Any]:
    """clientRequestTime as sent (any JSON type), clientTransactionId as a number and a string."""
    raw = body.get("clientTransactionId")
    txid = 0
    if isinstance(raw, int) and not isinstance(raw, bool) and len(str(abs(raw))) <= 18:
        txid = raw
    elif isinstance(raw, str) and raw.strip().lstrip("-").isdigit() and len(raw.strip().lstrip("-")) <= 18:
        txid = int(raw.strip())
    return {
        "clientRequestTime": body.get("clientRequestTime"),
        "clientTransactionId": txid,
        "clientTransactionIdString": str(txid),
    }


def _ack(call: Call, chat: Chat, body: dict[str, Any]) -> dict[str, Any]:
    cid = int(state(chat).get("cid", chat.customer.party_number))
    return _sorted({"clientId": cid, "clientIdString": str(cid), **_echo(body), **call.times()})


# -- operations ------------------------------------------------------------------------------------
async def request_engagement(call: Call) -> dict[str, Any]:
    claims = await call.token()
    body = call.body()
    try:
        engaged = await call.sessions.engage(call.tenant, call.ep, claims)
    except (engine_errors.QueueClosed, engine_errors.QueueFull):
        raise ConsumerError(409, "CONFLICT", "The engagement request was dequeued by routing rules") from None
    except engine_errors.EntryPointDisabled:
        raise ConsumerError(404, "NOT_FOUND", "Unknown site") from None
    if engaged is None:
        log.info("fusion requestEngagement: token already used for an ended engagement")
        raise denied(JWT_FAILED)
    chat = engaged.chat
    out = {
        "cancelledSurveyAuth": "",
        "cancelledSurveyId": 0,
        "cancelledSurveyIdString": "0",
        "clientId": engaged.client_id,
        "clientIdString": str(engaged.client_id),
        **_echo(body),
        "completedSurveyAuth": "",
        "completedSurveyId": 0,
        "completedSurveyIdString": "0",
        "engagementId": chat.number,
        "engagementIdString": str(chat.number),
        "resultType": "SUCCESS",
        **call.times(),
        "sessionId": engaged.session_id,
    }
    return _sorted(out)


async def post_message(call: Call) -> dict[str, Any]:
    chat = await call.session()
    body = call.body()
    if not chat.live:
        raise ConsumerError(409, "CONFLICT", "The engagement has ended")
    text = body.get("body")
    if not isinstance(text, str) or not text.strip():
        raise invalid_field("body is required")
    if len(text) > 10_000:
        raise invalid_field("body is too long")
    data_map = body.get("messageDataMap")
    if data_map is not None and not (
        isinstance(data_map, dict)
        and len(data_map) <= 50
        and all(isinstance(k, str) and len(k) <= 128 for k in data_map)
        and all(isinstance(v, str) and len(v) <= 4000 for v in data_map.values())
    ):
        raise invalid_field("messageDataMap is invalid")
    rich = body.get("richText")
    if rich is not None and not isinstance(rich, bool):
        raise invalid_field("richText is invalid")
    html: str | None = None
    if rich:
        html, text = richtext.sanitise(text)
        if not text:
            text = " "
    echo = _echo(body)
    dedupe = None
    if echo["clientTransactionId"]:
        digest = hashlib.sha1((html or text).encode("utf-8", "surrogatepass")).hexdigest()[:16]
        sid = session_header(call.request.headers.get("sessionid"))
        dedupe = f"fusion:{sid}:{echo['clientTransactionId']}:{digest}"
    await call.engine.customer_message(chat, text, html=html, dedupe_key=dedupe)
    return _ack(call, chat, body)


async def activity(call: Call) -> dict[str, Any]:
    chat = await call.session()
    body = call.body()
    if not chat.live:
        raise ConsumerError(409, "CONFLICT", "The engagement has ended")
    mode = body.get("mode")
    if mode is None:
        raise invalid_field("mode is required")
    if not isinstance(mode, str) or mode.upper() not in MODES:
        raise invalid_field("mode is invalid")
    preview = body.get("sneakPreview")
    if preview is not None and (not isinstance(preview, str) or len(preview) > 4000):
        raise invalid_field(
            "sneakPreview is invalid" if not isinstance(preview, str) else "sneakPreview is too long"
        )
    focus = body.get("sneakPreviewFocus")
    if focus is not None and not isinstance(focus, bool):
        raise invalid_field("sneakPreviewFocus is invalid")
    typing = mode.upper() == "RESPONDING"
    shown = preview if typing and preview and call.tenant.config.faces.fusion.sneak_preview else None
    await call.engine.customer_typing(chat, typing, shown)
    return _ack(call, chat, body)


async def conclude(call: Call) -> dict[str, Any]:
    chat = await call.session()
    body = call.body()
    if chat.live:
        await call.engine.customer_end(chat)
    return _ack(call, chat, body)


async def get_messages(call: Call) -> dict[str, Any]:
    chat = await call.session()
    call.body()
    return await polling.get_messages(call.engine, call.sessions, call.request, call.tenant, chat)


async def _queue_request(call: Call) -> dict[str, Any]:
    """Credentials (SessionId first, then Bearer), then the request object (query or body)."""
    sid = session_header(call.request.headers.get("sessionid"))
    chat = await call.sessions.find(call.tenant, call.ep.id, sid)
    if chat is None:
        try:
            await call.token()
        except ConsumerError:
            raise denied("Access denied") from None
    if call.request.method == "GET":
        raw = call.request.query_params.get("request")
        if raw is None:
            return {}
        if len(raw) > MAX_REQUEST_PARAM:
            raise bad_request()
        call.raw = raw.encode("utf-8", "surrogatepass")
    return call.body()


def _queue_figures(call: Call, body: dict[str, Any]) -> tuple[dict[str, Any], str]:
    queue = queue_for(call.tenant, call.ep, body.get("queueId"))
    fig = call.engine.queue_figures(call.tenant, queue, face=FACE)
    ewt = call.engine.new_chat_ewt(call.tenant, msgspec.structs.replace(call.ep, queue=queue))
    number = call.tenant.queues[queue].number if queue in call.tenant.queues else 0
    out = {
        "availableAgentSessions": fig.slots_free,
        **_echo(body),
        "expectedWaitTimeSeconds": ewt,
        "queueId": number,
        "queueIdString": str(number),
        **call.times(),
    }
    return out, queue


async def queue_stats(call: Call) -> dict[str, Any]:
    body = await _queue_request(call)
    kind = body.get("chatProactiveAvailableType")
    if kind is None:
        kind = "AGENTS"
    if not isinstance(kind, str) or kind.upper() not in ("AGENTS", "SESSIONS"):
        raise invalid_field("chatProactiveAvailableType is invalid")
    out, queue = _queue_figures(call, body)
    fig = call.engine.queue_figures(call.tenant, queue, face=FACE)
    out.update(
        {
            "chatProactiveAvailableType": kind.upper(),
            "engagementsInQueue": fig.waiting,
            "totalAvailableAgents": fig.ready_agents,
        }
    )
    return _sorted(out)


async def engagement_queue(call: Call) -> dict[str, Any]:
    body = await _queue_request(call)
    fields = body.get("customFields")
    if fields is not None:
        ok = isinstance(fields, list) and all(
            isinstance(f, dict)
            and isinstance(f.get("name"), str)
            and f["name"]
            and str(f.get("type", "STRING")).upper() in FIELD_TYPES
            for f in fields
        )
        if not ok:
            raise invalid_field("customFields is invalid")
    out, queue = _queue_figures(call, body)
    route = 0
    qid = body.get("queueId")
    if queue != call.ep.queue and qid is not None and str(qid).strip().isdigit():
        route = int(str(qid).strip())
    out.update({"chatRouteId": route, "chatRouteIdString": str(route)})
    return _sorted(out)


HANDLERS = {
    "requestEngagement": request_engagement,
    "postMessage": post_message,
    "getMessages": get_messages,
    "concludeEngagement": conclude,
    "activity": activity,
    "getQueueStats": queue_stats,
    "getEngagementQueue": engagement_queue,
}


# -- dispatch --------------------------------------------------------------------------------------
def find_site(engine: Engine, site: str) -> tuple[Tenant, EntryPointConfig] | None:
    for tenant in engine.registry.tenants.values():
        ep = site_of(tenant)
        if ep is not None and ep.id == site:
            if not ep.enabled or not tenant.config.faces.fusion.enabled:
                return None
            return tenant, ep
    return None


class ConsumerApi:
    def __init__(self, engine: Engine, sessions: Sessions, keys: tokens.KeyRing) -> None:
        self.engine = engine
        self.sessions = sessions
        self.keys = keys

    async def __call__(self, request: Request) -> Response:
        started = time.time()
        origins: list[str] = ["*"]
        try:
            parts = str(request.path_params["rest"]).split("/")
            if len(parts) == 4 and parts[3] == "":
                parts = parts[:3]
            found = find_site(self.engine, parts[0]) if parts and parts[0] else None
            if found is not None:
                origins = found[0].config.faces.fusion.cors_allowed_origins
            if request.method == "OPTIONS":
                return preflight(request, origins)
            response = await self._dispatch(request, parts, found, started)
        except ConsumerError as err:
            response = consumer_reply(err)
        except Exception:
            log.exception("fusion consumer %s failed", request.url.path)
            response = consumer_reply(
                ConsumerError(500, "UNKNOWN_EXCEPTION", "An error occurred in the chat server")
            )
        add_cors(request, response, origins)
        return response

    async def _dispatch(
        self,
        request: Request,
        parts: list[str],
        found: tuple[Tenant, EntryPointConfig] | None,
        started: float,
    ) -> Response:
        if found is None:
            raise ConsumerError(404, "NOT_FOUND", "Unknown site")
        if len(parts) != 3 or parts[1] != "v1" or parts[2] not in HANDLERS:
            raise ConsumerError(404, "NOT_FOUND", "Unknown operation")
        tenant, ep = found
        operation = parts[2]
        methods = ("GET", "POST") if operation in GET_TOO else ("POST",)
        if request.method not in methods:
            allow = ", ".join((*methods, "OPTIONS"))
            raise ConsumerError(405, "METHOD_NOT_ALLOWED", "Method not allowed", {"Allow": allow})
        pool = request.query_params.get("pool")
        if pool and pool != tenant.config.faces.fusion.pool_id:
            raise ConsumerError(404, "NOT_FOUND", "Unknown pool")
        call = Call(self.engine, self.sessions, self.keys, request, tenant, ep, operation, started)
        try:
            call.raw = await read_body(request)
        except TooLarge:
            raise ConsumerError(413, "BAD_REQUEST", "Request entity too large") from None
        try:
            result = await HANDLERS[operation](call)
        except engine_errors.ChatEnded:
            raise ConsumerError(409, "CONFLICT", "The engagement has ended") from None
        except engine_errors.ChatNotFound:
            raise denied() from None
        return json_reply(result)
