"""The seven operations (spec §8, §9): parse the operation element, call the engine, render."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from starlette.requests import Request

from frontdesk.config import EntryPointConfig
from frontdesk.domain.model import Chat
from frontdesk.engine import calendar
from frontdesk.engine.engine import Engine
from frontdesk.engine.tenants import Tenant
from frontdesk.faces.rightnow import inbound, render, retrieve, sessions
from frontdesk.faces.rightnow.faults import invalid, missing, too_long
from frontdesk.soap import Envelope, SoapFault, child, text_of
from frontdesk.soap.envelope import Element, namespace_of

BODY_MAX = 10_000
APP_ID_MAX = 128
MODES = frozenset({"NONE", "AWAY", "LISTENING", "RESEARCHING", "RESPONDING"})
_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(slots=True)
class Call:
    engine: Engine
    request: Request
    tenant: Tenant
    ep: EntryPointConfig
    env: Envelope
    op: Element
    endpoint: str
    started: float


Operation = Callable[[Call], Awaitable[bytes]]


# -- site operations -----------------------------------------------------------------------------
def _site_ns(call: Call) -> str:
    return render.SITE_NS_V11 if namespace_of(call.op) == render.SITE_NS_V11 else render.SITE_NS_V12


async def get_chat_url(call: Call) -> bytes:
    url_type = (inbound.ident(child(call.op, "UrlType")) or "").upper()
    if not url_type:
        raise missing("UrlType")
    if url_type != "ENDUSER":
        raise invalid("UrlType", f"UrlType {url_type[:32]} is not supported")
    token = await sessions.issue_token(call.engine, call.tenant, call.ep)
    site = call.tenant.config.faces.rightnow.site_name or call.ep.id
    inner = (
        "<n0:GetChatUrlResult>"
        + render.n0("ChatUrl", call.endpoint)
        + render.n0("ChatToken", token)
        + render.n0("SiteName", site)
        + "</n0:GetChatUrlResult>"
    )
    return render.site_response("GetChatUrl", _site_ns(call), inner)


def _intervals(tenant: Tenant, cal_name: str) -> list[tuple[str, str, str]]:
    if cal_name == "always" or cal_name not in tenant.config.calendars:
        return [(d.upper(), "00:00:00", "23:59:59") for d in _DAYS]
    hours = tenant.config.calendars[cal_name].hours
    out = []
    for day in _DAYS:
        for period in sorted(hours.get(day) or []):
            start, end = period.split("-")
            h, m = (int(x) for x in end.split(":"))
            last = h * 3600 + m * 60 - 1
            out.append(
                (day.upper(), f"{start}:00", f"{last // 3600:02d}:{last // 60 % 60:02d}:{last % 60:02d}")
            )
    return out


async def get_chat_operating_hours(call: Call) -> bytes:
    cfg = call.tenant.config
    cal_name = call.ep.effective_calendar(cfg)
    now = time.time()
    today = datetime.fromtimestamp(now, ZoneInfo(cfg.timezone))
    cal = cfg.calendars.get(cal_name)
    holiday = cal is not None and any(
        h.date in (today.strftime("%Y-%m-%d"), today.strftime("%m-%d")) for h in cal.holidays
    )
    is_open = calendar.is_open(cfg.calendars, cal_name, cfg.timezone, now) and not holiday
    intervals = "".join(
        "<n0:Interval>"
        + render.n0("DayOfWeek", d)
        + render.n0("StartTime", s)
        + render.n0("EndTime", e)
        + "</n0:Interval>"
        for d, s, e in _intervals(call.tenant, cal_name)
    )
    inner = (
        f"<n0:GetChatOperatingHoursResult><n0:Intervals>{intervals}</n0:Intervals>"
        + render.n0("InOperatingHours", "true" if is_open else "false")
        + render.n0("InHoliday", "true" if holiday else "false")
        + "</n0:GetChatOperatingHoursResult>"
    )
    return render.site_response("GetChatOperatingHours", _site_ns(call), inner)


# -- chat-server operations ----------------------------------------------------------------------
def _client_header(call: Call) -> Element | None:
    return call.env.header("ChatClientInfoHeader")


def _app_id(call: Call) -> str | None:
    value = inbound.ident(child(_client_header(call), "AppID"))
    return value[:APP_ID_MAX] if value else None


def _respond(call: Call, operation: str, chat_client_id: int, extra: str = "") -> bytes:
    trd = inbound.transaction(call.op)
    head = render.transaction_response(trd.request_time, trd.transaction_id, call.started, chat_client_id)
    return render.chat_response(operation, head + extra)


async def request_chat(call: Call) -> bytes:
    req = inbound.chat_request(call.op)
    if not req.token:
        raise missing("ChatSessionToken")
    await sessions.check_token(call.engine, call.tenant, call.ep, req.token)
    cfg = call.tenant.config.faces.rightnow
    pre_chat = dict(req.pre_chat)
    app_id = _app_id(call)
    if app_id:
        pre_chat["app_id"] = app_id
    chat, _ = await call.engine.create_chat(
        call.tenant, call.ep, customer=req.customer, pre_chat=pre_chat, subject=req.question
    )
    session_id = sessions.new_session_id()
    sessions.state(chat)["interface"] = call.ep.id
    await sessions.bind_session(call.engine, session_id, chat, call.tenant, call.ep)
    call.engine.customer_seen(chat, cfg.abandon_seconds)
    extra = (
        render.ns3_id("EngagementID", chat.number)
        + render.ns3_id("CancelledSurveyID", 0)
        + render.ns3_id("CompletedSurveyID", 0)
        + render.ns3("ResultType", "SUCCESS")
        + render.ns3("SessionID", session_id)
    )
    return _respond(call, "RequestChat", chat.customer.party_number, extra)


async def _session(call: Call) -> tuple[Chat, str]:
    session_id = inbound.ident(child(_client_header(call), "SessionID"))
    if not session_id:
        raise SoapFault("SESSION_MISSING")
    chat = await sessions.resolve(call.engine, call.tenant, call.ep, session_id)
    call.engine.customer_seen(chat, call.tenant.config.faces.rightnow.abandon_seconds)
    return chat, session_id


def _require_live(chat: Chat) -> None:
    if not chat.live:
        raise SoapFault("CHAT_ENDED")


async def post_chat_message(call: Call) -> bytes:
    chat, _ = await _session(call)
    _require_live(chat)
    body = text_of(child(call.op, "Body"))
    if body is None or not body.strip():
        raise missing("Body")
    if len(body) > BODY_MAX:
        raise too_long("Body")
    off_record = bool(inbound.boolean(child(call.op, "OffTheRecord")))
    await call.engine.customer_message(chat, body, off_record=off_record)
    return _respond(call, "PostChatMessage", chat.customer.party_number)


async def retrieve_messages(call: Call) -> bytes:
    chat, session_id = await _session(call)
    cfg = call.tenant.config.faces.rightnow
    hold = float(min(max(cfg.long_poll_hold_seconds, 0), 55))
    messages = await retrieve.retrieve(call.engine, chat, session_id, hold, cfg.participant_greeting)
    return _respond(call, "RetrieveMessages", chat.customer.party_number, render.system_messages(messages))


async def send_activity_change(call: Call) -> bytes:
    chat, _ = await _session(call)
    _require_live(chat)
    mode = (inbound.ident(child(call.op, "Mode")) or "").upper()
    if not mode:
        raise missing("Mode")
    if mode not in MODES:
        raise invalid("Mode")
    await call.engine.customer_typing(chat, mode == "RESPONDING")
    return _respond(call, "SendActivityChange", chat.customer.party_number)


async def terminate_chat(call: Call) -> bytes:
    chat, _ = await _session(call)
    if chat.live:
        await call.engine.customer_end(chat, "customer")
    return _respond(call, "TerminateChat", chat.customer.party_number)


OPERATIONS: dict[str, Operation] = {
    "GetChatUrl": get_chat_url,
    "GetChatOperatingHours": get_chat_operating_hours,
    "RequestChat": request_chat,
    "PostChatMessage": post_chat_message,
    "RetrieveMessages": retrieve_messages,
    "SendActivityChange": send_activity_change,
    "TerminateChat": terminate_chat,
}
