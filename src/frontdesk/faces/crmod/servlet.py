"""The CTICommand servlet at ``/OnDemand/user/CTICommand``: ScreenPop and WrapUp (crmod-cti.md §6)."""

from __future__ import annotations

import hashlib
import hmac
import html
import secrets
import time
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from frontdesk.crm import model as m
from frontdesk.crm.data import CrmData
from frontdesk.crm.info import screen_pop_url
from frontdesk.engine.engine import Engine
from frontdesk.faces.crmod.common import CrmUser, basic_user
from frontdesk.httpbody import read_limited

MAX_QUERY = 8192
MAX_BODY = 65_536
REALM = 'Basic realm="Frontdesk CRM On Demand", charset="UTF-8"'
_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'self'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}
_KEY_NS = "crmod:formkey"


class PageError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _page(title: str, body: str, status: int = 200, extra: dict[str, str] | None = None) -> Response:
    doc = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head><body>{body}</body></html>"
    )
    headers = dict(_HEADERS)
    headers.update(extra or {})
    return Response(doc.encode("utf-8"), status, headers, media_type="text/html; charset=utf-8")


def error_page(status: int, message: str) -> Response:
    extra = {"WWW-Authenticate": REALM} if status == 401 else None
    if status == 405:
        extra = {"Allow": "GET, POST"}
    return _page("Error", f'<p id="fd-error">{html.escape(message)}</p>', status, extra)


def _required(name: str) -> PageError:
    return PageError(400, f"'{name}' is a required field. Please enter a value for the field.(SBL-DAT-00498)")


def _invalid(option: str, value: str) -> PageError:
    return PageError(400, f"Invalid value, {value[:100]}, is specified for option {option}")


def _key(name: str) -> str:
    return name.replace(" ", "").lower()


class Params:
    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.values: dict[str, str] = {}
        for k, v in pairs:
            self.values.setdefault(_key(k), v.strip())

    def get(self, name: str) -> str | None:
        v = self.values.get(_key(name))
        return v if v else None


class CtiCommand:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._form_key: bytes | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)
        try:
            response = await self.handle(request)
        except PageError as exc:
            response = error_page(exc.status, exc.message)
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD", "POST"):
            raise PageError(405, "Method Not Allowed")
        raw_query = request.scope.get("query_string", b"")
        if len(raw_query) > MAX_QUERY:
            raise PageError(414, "Request too large")
        pairs = parse_qsl(raw_query.decode("utf-8", "replace"), keep_blank_values=True)
        body_pairs: list[tuple[str, str]] = []
        if request.method == "POST":
            ctype = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
            body = await self._body(request)
            if body and ctype != "application/x-www-form-urlencoded":
                raise PageError(415, "Unsupported Media Type")
            body_pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        user = await basic_user(self.engine, request)
        if user is None:
            raise PageError(401, "Access Denied")
        params = Params(pairs + body_pairs)
        command = params.get("Command")
        if command is None:
            raise _required("Command")
        if command.lower() == "screenpop":
            return self.screen_pop(user, params)
        if command.lower() == "wrapup":
            return await self.wrap_up(request, user, params)
        raise _invalid("Command", command)

    @staticmethod
    async def _body(request: Request) -> bytes:
        body = await read_limited(request, MAX_BODY)
        if body is None:
            raise PageError(413, "Request too large")
        return body

    # -- ScreenPop (§6.4) --------------------------------------------------------------------
    def screen_pop(self, user: CrmUser, params: Params) -> Response:
        rid = params.get("Record Id")
        if rid is None:
            raise _required("Record Id")
        raw_type = params.get("Record Type")
        if raw_type is None:
            raise _required("Record Type")
        rtype = m.record_type(raw_type)
        if rtype is None:
            raise _invalid("Record Type", raw_type)
        channel: m.Channel | None = None
        if rtype == "Activity":
            raw_channel = params.get("Channel Type")
            if raw_channel is None:
                raise _required("Channel Type")
            channel = m.channel(raw_channel)
            if channel is None:
                raise _invalid("Channel Type", raw_channel)
        data = self.engine.crm.data(user.tenant.id)
        rec = data.of_type(rtype, rid)
        if rec is None:
            raise PageError(404, "Record not found")
        if channel is not None:
            if rec.get("ChannelType") != channel.name:
                raise PageError(404, "Record not found")
            if not user.has(channel.privilege):
                raise PageError(403, "Access Denied")
        return _page(f"{rtype} {rid}", _record_html(data, rtype, rec))

    # -- WrapUp (§6.5) -----------------------------------------------------------------------
    async def wrap_up(self, request: Request, user: CrmUser, params: Params) -> Response:
        iid = params.get("Interaction Id")
        raw_time = params.get("Agent Offer Time")
        if raw_time is None:
            raise _required("Agent Offer Time")
        if iid is None:
            raise _required("Interaction Id")
        offer_time = m.epoch(raw_time)
        if offer_time is None:
            raise _invalid("Agent Offer Time", raw_time)
        data = self.engine.crm.data(user.tenant.id)
        found = data.find_key(iid, offer_time, None)
        if not found:
            raise PageError(404, "Activity not found")
        if len(found) > 1:
            raise PageError(409, "Multiple activites found")
        rec = found[0]
        ch = m.channel(str(rec.get("ChannelType")))
        if ch is None or not user.has(ch.privilege):
            raise PageError(403, "Access Denied")
        saving = request.method == "POST" and (params.get("Action") or "").lower() == "save"
        key = await self._key()
        if saving and not _token_ok(key, params.get("FormToken") or "", user.sign_in, rec["Id"]):
            raise PageError(403, "Access Denied")
        if rec.get("WrappedUp"):
            raise PageError(409, "Activity has already been wrapped up")
        if not saving:
            ttl = user.tenant.config.faces.crmod.form_token_ttl_seconds
            token = _token(key, user.sign_in, rec["Id"], int(time.time()) + ttl)
            return _page("Wrap-up", _form_html(rec, raw_time, iid, token))
        subject = params.get("Subject")
        description = params.get("Description")
        if subject is not None and len(subject) > 250:
            raise _invalid("Subject", subject)
        if description is not None and len(description) > 16000:
            raise _invalid("Description", description)
        changes: dict[str, Any] = {}
        if subject is not None:
            changes["Subject"] = subject
        if description is not None:
            changes["Description"] = description
        if not data.wrap_up(rec, user.sign_in, int(time.time()), changes):
            raise PageError(409, "Activity has already been wrapped up")
        await self.engine.crm.flush(user.tenant.id)
        aid = html.escape(rec["Id"], quote=True)
        return _page("Wrapped up", f'<main id="fd-wrapup-done" data-activity-id="{aid}"><p>Saved.</p></main>')

    async def _key(self) -> bytes:
        """The FormToken key, shared by every node through the key-value table."""
        if self._form_key is None:
            stored = await self.engine.kv_get(_KEY_NS, "key")
            if stored is None:
                stored = secrets.token_hex(32)
                await self.engine.kv_put(_KEY_NS, "key", stored)
            self._form_key = bytes.fromhex(stored)
        return self._form_key


def _token(key: bytes, user: str, activity_id: str, expires: int) -> str:
    mac = hmac.new(key, f"{user.lower()}\x00{activity_id}\x00{expires}".encode(), hashlib.sha256).hexdigest()
    return f"{expires}.{mac}"


def _token_ok(key: bytes, token: str, user: str, activity_id: str) -> bool:
    expires, _, _mac = token.partition(".")
    if not expires.isdigit() or int(expires) < time.time():
        return False
    return hmac.compare_digest(_token(key, user, activity_id, int(expires)), token)


def _record_html(data: CrmData, rtype: str, rec: dict[str, Any]) -> str:
    e = html.escape
    attrs = f'data-record-type="{e(rtype, quote=True)}" data-record-id="{e(str(rec["Id"]), quote=True)}"'
    if rtype == "Activity":
        attrs += f' data-channel-type="{e(str(rec.get("ChannelType")), quote=True)}"'
        attrs += f' data-wrapped-up="{"true" if rec.get("WrappedUp") else "false"}"'
    rows = []
    for name, value in rec.items():
        if name in ("PasswordHash", "Password"):
            continue
        rows.append(f"<dt>{e(name)}</dt><dd>{e(str(value))}</dd>")
    links = []
    if rtype == "Activity":
        for slot, stype in (
            ("ContactId", "Contact"),
            ("LeadId", "Lead"),
            ("AccountId", "Account"),
            ("ServiceRequestId", "Service Request"),
            ("CampaignId", "Campaign"),
            ("OpportunityId", "Opportunity"),
        ):
            if rec.get(slot):
                url = screen_pop_url(stype, str(rec[slot]))
                links.append(
                    f'<li><a href="{e(url, quote=True)}">{e(stype)}: {e(data.name_of(rec[slot]))}</a></li>'
                )
        wrap = (
            "/OnDemand/user/CTICommand?Command=WrapUp"
            f"&Interaction%20Id={e(str(rec['InteractionId']))}&Agent%20Offer%20Time={rec['AgentOfferTime']}"
        )
        links.append(f'<li><a id="fd-wrapup-link" href="{e(wrap, quote=True)}">Wrap up</a></li>')
    name = m.display_name(m.RECORD_COLLECTION[rtype], rec)
    return (
        f'<main id="fd-record" {attrs}><h1>{e(rtype)}: {e(name)}</h1>'
        f"<dl>{''.join(rows)}</dl><ul>{''.join(links)}</ul></main>"
    )


def _form_html(rec: dict[str, Any], offer_time: str, iid: str, token: str) -> str:
    e = html.escape
    aid = e(str(rec["Id"]), quote=True)
    subject = e(str(rec.get("Subject") or ""), quote=True)
    return (
        f'<form id="fd-wrapup" method="post" action="/OnDemand/user/CTICommand" data-activity-id="{aid}">'
        '<input type="hidden" name="Command" value="WrapUp">'
        f'<input type="hidden" name="Interaction Id" value="{e(iid, quote=True)}">'
        f'<input type="hidden" name="Agent Offer Time" value="{e(offer_time, quote=True)}">'
        '<input type="hidden" name="Action" value="Save">'
        f'<input type="hidden" name="FormToken" value="{e(token, quote=True)}">'
        f'<label>Subject <input name="Subject" value="{subject}"></label>'
        '<label>Notes <textarea name="Description"></textarea></label>'
        '<button type="submit">Save</button></form>'
    )
