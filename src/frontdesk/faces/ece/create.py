"""BOSH session creation: the login and pre-chat parameters of an ECE chat (spec/cisco-ece.md
5.1, 5.3, 5.4). Refusals are ``200`` terminate bodies with the condition each client branches on;
the order of the checks is the spec's table order.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from frontdesk.domain import errors
from frontdesk.engine.engine import Engine
from frontdesk.faces.ece import checks, xmlsafe
from frontdesk.faces.ece.codec import parse_properties, undouble, unwrap_messaging, xml_text
from frontdesk.faces.ece.http import EntryPoint, client_address, default_tenant, find_entry_point, parse_long
from frontdesk.faces.ece.sessions import Sessions, identity_of, new_token, refusal, state

ANONYMOUS = "anonymous@egain.com"
MAX_PARAMS = 50
ECHOED = ("full_name", "first_name", "last_name", "subject")
KNOWN_QUERY = {"entrypointid", "templatename", "ver", "languagecode", "countrycode", "custtimeoffset"}
IGNORED_QUERY = {"subactivity", "videochat", "avmode"}
RID_MAX = 2**53


@dataclass
class Param:
    name: str
    attribute: str
    object_name: str
    value: str


@dataclass
class Creation:
    params: list[Param] = field(default_factory=list)
    templates: dict[str, str] = field(default_factory=dict)


def parse_rid(value: str | None) -> int | None:
    if value is None or not value.strip().isdigit():
        return None
    rid = int(value.strip())
    return rid if 1 <= rid < RID_MAX else None


def _params(root: xmlsafe.Element) -> Creation:
    out = Creation()
    eg = xmlsafe.child(root, "egainParams")
    messaging = xmlsafe.child(root, "messagingData")
    if messaging is None and eg is not None:
        messaging = xmlsafe.child(eg, "messagingData")
    if messaging is not None:
        out.templates = parse_properties(unwrap_messaging(xmlsafe.text(messaging)))
    if eg is None:
        return out
    for param in xmlsafe.children(eg, "param")[:MAX_PARAMS]:
        mapping = xmlsafe.child(param, "mapping")
        if mapping is None:
            continue

        def field_text(name: str, mapping: Any = mapping) -> str:
            return xmlsafe.text(xmlsafe.child(mapping, name)).strip()

        if field_text("secureAttribute") == "1":
            continue
        attribute = field_text("attributeName")
        if not attribute:
            continue
        value = undouble(xmlsafe.text(xmlsafe.child(mapping, "attributeValue"))).strip()
        max_len = field_text("maxLength")
        if max_len.isdigit() and int(max_len) > 0:
            value = value[: int(max_len)]
        out.params.append(
            Param(xmlsafe.attr(param, "name") or "", attribute, field_text("objectName"), value[:4000])
        )
    return out


def _response_params(params: list[Param]) -> str:
    blocks = []
    for p in params:
        if p.attribute not in ECHOED or not p.value:
            continue
        blocks.append(
            f'  <ns2:responseParam name="{xml_text(p.name).replace(chr(34), "&quot;")}">\n'
            "    <ns2:responseParamMapping>\n"
            f"      <ns2:attributeName>{xml_text(p.attribute)}</ns2:attributeName>\n"
            f"      <ns2:attributeValue>{xml_text(p.value)}</ns2:attributeValue>\n"
            "    </ns2:responseParamMapping>\n"
            "  </ns2:responseParam>"
        )
    if not blocks:
        return ""
    return "<ns2:egainResponseParams>\n" + "\n".join(blocks) + "\n</ns2:egainResponseParams>"


def _entry_point_id(request: Request, root: xmlsafe.Element) -> int | None:
    for key, value in request.query_params.multi_items():
        if key.lower() == "entrypointid":
            found = parse_long(value.strip())
            if found is not None:
                return found
            break
    return parse_long((xmlsafe.attr(root, "to") or "").strip())


def _connection_parameters(request: Request) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        if key.lower() in KNOWN_QUERY or key.lower() in IGNORED_QUERY or key in out:
            continue
        if len(out) >= 20:
            break
        out[key] = value[:256]
    return out


def _duplicate(engine: Engine, found: EntryPoint, email: str) -> bool:
    return any(
        c.live and c.face == "ece" and c.entry_point == found.ep.id and c.customer.email == email
        for c in engine.tenant_chats(found.tenant.id)
    )


async def create_session(engine: Engine, sessions: Sessions, request: Request, root: xmlsafe.Element) -> str:
    """The creation answer: a session body, or a terminate refusal."""
    ep_id = _entry_point_id(request, root)
    found = find_entry_point(engine, ep_id) if ep_id is not None else None
    tenant = found.tenant if found is not None else default_tenant(engine, request)
    address = client_address(request)
    if tenant is not None:
        limits = tenant.config.faces.ece.limits
        if not sessions.rates.allow(f"create:{address}", limits.creations_per_minute, 60.0):
            return refusal("policy-violation")
        if sessions.open_chats(address) >= limits.open_chats_per_address:
            return refusal("policy-violation")
    if ep_id is None:
        return refusal("improper-addressing")
    if found is None:
        return refusal("host-unknown")
    sub = request.query_params.get("subActivity")
    if sub is not None and sub.strip().lower() not in ("", "chat"):
        return refusal("system-shutdown")
    verdict = checks.assess(engine, found)
    if not found.ep.enabled or not verdict.running or not verdict.open_for_chats or not verdict.agents_ok:
        return refusal("system-shutdown")
    if verdict.depth_reached:
        return refusal("remote-connection-failed", "<error><code>L10N_LINES_ARE_BUSY</code></error>")
    parsed = _params(root)
    by_attr: dict[str, str] = {}
    for p in parsed.params:
        by_attr.setdefault(p.attribute, p.value)
    sender = undouble(xmlsafe.attr(root, "from") or "").strip()
    email = by_attr.get("email_address") or (sender if sender and sender.lower() != ANONYMOUS else "")
    email = email.strip().lower()
    face = found.tenant.config.faces.ece
    if email and email != ANONYMOUS and face.reject_duplicate_sessions and _duplicate(engine, found, email):
        return refusal("other-request")
    rid = parse_rid(xmlsafe.attr(root, "rid"))
    if rid is None:
        return refusal("bad-request")
    token = new_token()
    first, last = by_attr.get("first_name") or None, by_attr.get("last_name") or None
    customer = {
        "name": by_attr.get("full_name") or " ".join(x for x in (first, last) if x) or None,
        "first_name": first,
        "last_name": last,
        "email": email or None,
        "phone": by_attr.get("phone_number") or None,
        "locale": (xmlsafe.attr(root, "lang") or "").strip() or None,
    }
    special = {"full_name", "first_name", "last_name", "email_address", "phone_number", "subject"}
    q = request.query_params
    pre_chat: dict[str, Any] = {
        "entry_point_id": found.ep.id,
        "template_name": q.get("templateName"),
        "language_code": q.get("languageCode"),
        "country_code": q.get("countryCode"),
        "customer_time_offset": q.get("custtimeoffset"),
        "params": {p.attribute: p.value for p in parsed.params if p.attribute not in special},
        "param_objects": {p.attribute: p.object_name for p in parsed.params if p.attribute not in special},
        "connection_parameters": _connection_parameters(request),
    }
    if q.get("ver") is not None:
        pre_chat["version"] = q.get("ver")
    case_id = xmlsafe.text(xmlsafe.child(root, "caseId")).strip()
    if case_id.isdigit():
        pre_chat["case_id"] = case_id
    try:
        chat, _ = await engine.create_chat(
            found.tenant,
            found.ep,
            customer=customer,
            pre_chat=pre_chat,
            subject=by_attr.get("subject") or None,
            identity=identity_of(token),
        )
    except (errors.EntryPointDisabled, errors.QueueClosed):
        return refusal("system-shutdown")
    except errors.QueueFull:
        return refusal("remote-connection-failed", "<error><code>L10N_LINES_ARE_BUSY</code></error>")
    wait_attr = (xmlsafe.attr(root, "wait") or "").strip()
    wanted = int(wait_attr) if wait_attr.isdigit() else 60
    wait = max(1, min(wanted, face.long_poll_hold_seconds))
    st = state(chat)
    st.update(rid=rid, tpl=parsed.templates, wait=wait, seen=time.time(), lim=face.bosh_inactivity_seconds)
    await engine.save_face_state(chat)
    assert chat.identity is not None
    sessions.note(chat.identity, chat.id)
    sessions.opened(address, chat)
    sessions.seen(chat)
    sid = f"{chat.number}_{token}"
    head = (
        '<body xmlns="http://jabber.org/protocol/httpbind" xmlns:ns2="http://bindings.egain.com/chat" '
        f'sid="{sid}" authid="{chat.number}" wait="{wait}" hold="1" requests="2" '
        f'inactivity="{face.bosh_inactivity_seconds}" maxpause="{face.max_pause_seconds}" ver="1.6"'
    )
    params_xml = _response_params(parsed.params)
    return f"{head}>\n{params_xml}\n</body>" if params_xml else f"{head}/>"
