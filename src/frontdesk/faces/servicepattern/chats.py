"""Request Chat (§3.3), Get Active Chat (§3.4) and Send Events (§3.5, §4.2) → engine calls."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any

from frontdesk.domain.model import Chat, FileRecord
from frontdesk.engine.engine import Engine
from frontdesk.faces.servicepattern import render
from frontdesk.faces.servicepattern.auth import Caller, cookie_of_identity
from frontdesk.faces.servicepattern.codec import ChatRequest, client_msg_id, scalar
from frontdesk.faces.servicepattern.errors import SpError
from frontdesk.faces.servicepattern.polling import is_gone, mark_gone, sp_state

_ENDING = ("chat_session_end", "chat_session_disconnect")
_ACTIVITIES = {
    "chat_session_navigation": "navigation",
    "chat_session_cobrowsing_rejected": "cobrowse_rejected",
    "chat_session_cobrowsing_started": "cobrowse_started",
    "chat_session_cobrowsing_ended": "cobrowse_ended",
}


class LastChats:
    """The identity's newest chat on this node: a new Request Chat makes a closing one gone (§5.1)."""

    def __init__(self, size: int = 100_000) -> None:
        self._size = size
        self._map: OrderedDict[str, str] = OrderedDict()

    def swap(self, identity: str, chat_id: str) -> str | None:
        old = self._map.pop(identity, None)
        self._map[identity] = chat_id
        if len(self._map) > self._size:
            self._map.popitem(last=False)
        return old if old != chat_id else None


def chat_reply(engine: Engine, chat: Chat, is_new: bool | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "chat_id": chat.id,
        "state": render.wire_state(chat.state),
        "ewt": str(engine.chat_ewt(chat)),
    }
    if is_new is not None:
        out["is_new_chat"] = is_new
    out["phone_number"] = str(chat.pre_chat.get("phone_number") or "")
    return out


async def request_chat(engine: Engine, caller: Caller, req: ChatRequest, last: LastChats) -> dict[str, Any]:
    identity = caller.new_identity()
    tenant = caller.tenant
    live = engine.live_chat(tenant.id, identity)
    if live is not None:
        engine.customer_seen(live, tenant.config.faces.servicepattern.abandon_seconds)
        return chat_reply(engine, live, False)
    params = req.parameters
    customer = {
        "first_name": _text(params.get("first_name")),
        "last_name": _text(params.get("last_name")),
        "email": _text(params.get("email")),
        "phone": req.phone_number or None,
        "name": req.sender or None,
        "external_ids": {
            "client_id": cookie_of_identity(identity) if caller.cookie_mode else caller.client_id
        },
    }
    pre_chat = {
        "app_id": caller.app_id,
        "from": req.sender,
        "phone_number": req.phone_number,
        "parameters": params,
    }
    chat, is_new = await engine.create_chat(
        tenant, caller.ep, customer=customer, pre_chat=pre_chat, identity=identity
    )
    engine.customer_seen(chat, tenant.config.faces.servicepattern.abandon_seconds)
    if is_new:
        previous = last.swap(identity, chat.id)
        if previous is not None:
            old = await engine.get_chat(previous)
            if old is not None and not old.live:
                await mark_gone(engine, old)
        if req.initial_message is not None:
            await _apply(engine, caller, chat, req.initial_message, {})
    return chat_reply(engine, chat, is_new)


def _text(value: Any) -> str | None:
    v = scalar(value)
    return v if v else None


async def load_chat(engine: Engine, caller: Caller, chat_id: str) -> Chat:
    """§1.7 step 5: the chat exists, belongs to the caller and is not gone; counts as presence."""
    chat = await engine.get_chat(chat_id) if len(chat_id) == 36 else None
    cfg = caller.tenant.config.faces.servicepattern
    if (
        chat is None
        or chat.tenant_id != caller.tenant.id
        or chat.face != "servicepattern"
        or not caller.owns(chat.identity)
        or is_gone(chat, cfg.ended_retention_seconds)
    ):
        raise SpError("5005")
    if caller.identity is None:
        caller.set_cookie = cookie_of_identity(chat.identity)
    engine.customer_seen(chat, cfg.abandon_seconds)
    return chat


async def send_events(engine: Engine, caller: Caller, chat: Chat, events: list[dict[str, Any]]) -> None:
    if not chat.live:
        if all(e["event"] in _ENDING for e in events):
            return
        raise SpError("5005")
    files: dict[str, FileRecord] = {}
    for e in events:
        if e["event"] == "chat_session_file":
            fid = str(scalar(e.get("file_id")) or "").lower()
            record = await engine.get_file(fid) if len(fid) == 36 else None
            if record is None or record.tenant_id != caller.tenant.id or not caller.owns(record.owner):
                raise SpError("5502", 400)
            files[fid] = record
    for e in events:
        if not chat.live:
            break
        await _apply(engine, caller, chat, e, files)


def _msg_id(engine: Engine, chat: Chat, e: dict[str, Any]) -> str:
    """The client's msg_id, else ``<chat_id>:<n>`` (persisted with the event's commit)."""
    given = client_msg_id(e)
    if given is not None:
        return given
    st = sp_state(chat)
    st["client_seq"] = int(st.get("client_seq", 0)) + 1
    engine.face_state_changed(chat)
    return f"{chat.id}:{st['client_seq']}"


def _dedupe(e: dict[str, Any], content: str) -> str | None:
    given = client_msg_id(e)
    if given is None:
        return None
    digest = hashlib.sha1(content.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"sp:{e['event']}:{given}:{digest}"


async def _apply(
    engine: Engine, caller: Caller, chat: Chat, e: dict[str, Any], files: dict[str, FileRecord]
) -> None:
    kind = e["event"]
    if kind == "chat_session_message":
        raw_text = scalar(e.get("msg_text"))
        text = raw_text if raw_text is not None else render.plain_text(scalar(e.get("msg")) or "")
        if text.strip():
            await engine.customer_message(
                chat, text, client_msg_id=_msg_id(engine, chat, e), dedupe_key=_dedupe(e, text)
            )
    elif kind in ("chat_session_message_delivered", "chat_session_message_read"):
        seq = render.seq_of_msg_id(scalar(e.get("ref_msg_id")) or "")
        target = engine.read_events(chat, seq - 1, 1) if seq else []
        if target and target[0].by is not None and target[0].by.kind != "customer":
            state = "read" if kind.endswith("_read") else "delivered"
            await engine.customer_event(chat, "receipt", {"state": state, "up_to_seq": seq})
    elif kind == "chat_session_typing":
        await engine.customer_typing(chat, True, scalar(e.get("msg")))
    elif kind == "chat_session_not_typing":
        await engine.customer_typing(chat, False)
    elif kind == "chat_session_form_data":
        data = e.get("data")
        await engine.form_response(
            chat, str(scalar(e.get("form_request_id"))), "submitted", data if isinstance(data, dict) else {}
        )
    elif kind == "chat_form_data_cancel":
        frid = scalar(e.get("form_request_id"))
        if frid:
            await engine.form_response(chat, frid, "cancelled", None)
    elif kind == "chat_session_end":
        await engine.customer_end(chat)
    elif kind == "chat_session_disconnect":
        await engine.customer_disconnect(chat)
    elif kind == "chat_session_signaling":
        await _signaling(engine, chat, e)
    elif kind == "chat_session_file":
        await _file(engine, chat, e, files)
    elif kind == "chat_session_location":
        data = {
            "latitude": scalar(e.get("latitude")),
            "longitude": scalar(e.get("longitude")),
            "url": scalar(e.get("url")) or "",
        }
        content = f"{data['latitude']},{data['longitude']},{data['url']}"
        await engine.customer_event(
            chat,
            "activity",
            {"type": "location", "data": data},
            client_msg_id=_msg_id(engine, chat, e),
            dedupe_key=_dedupe(e, content),
        )
    elif kind in _ACTIVITIES:
        await _activity(engine, chat, e, _ACTIVITIES[kind])
    # secure forms are never stored (§4.2) and Frontdesk has no secure forms: nothing to do.
    # Unknown event types are accepted and ignored (§3.5).


async def _signaling(engine: Engine, chat: Chat, e: dict[str, Any]) -> None:
    data: dict[str, Any] = e["data"]
    dest = scalar(e.get("destination_party_id")) or None
    if dest is None and data.get("type") not in ("REQUEST_CALL", "OFFER_CALL"):
        return  # signalling naming no party is dropped (§4.4)
    await engine.customer_event(chat, "signaling", {"to_party_id": dest, "data": data})


async def _file(engine: Engine, chat: Chat, e: dict[str, Any], files: dict[str, FileRecord]) -> None:
    record = files[str(scalar(e.get("file_id"))).lower()]
    file_type = scalar(e.get("file_type"))
    if file_type not in ("image", "attachment"):
        file_type = "image" if record.content_type.startswith("image/") else "attachment"
    await engine.customer_file(
        chat, record, file_type, client_msg_id=_msg_id(engine, chat, e), dedupe_key=_dedupe(e, record.id)
    )


async def _activity(engine: Engine, chat: Chat, e: dict[str, Any], kind: str) -> None:
    data: dict[str, Any] = {}
    if kind == "navigation":
        data = {"title": scalar(e.get("title")) or "", "page": scalar(e.get("page")) or ""}
    elif kind == "cobrowse_started":
        data = {
            "provider_type": scalar(e.get("provider_type")) or "",
            "cobrowsing_url": scalar(e.get("cobrowsing_url")) or "",
        }
    content = f"{kind}:{data.get('title', '')}:{data.get('page', '')}"
    msg_id = _msg_id(engine, chat, e) if kind == "navigation" else None
    await engine.customer_event(
        chat,
        "activity",
        {"type": kind, "data": data},
        client_msg_id=msg_id,
        dedupe_key=_dedupe(e, content) if msg_id else None,
    )
