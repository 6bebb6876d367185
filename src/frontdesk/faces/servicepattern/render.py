"""Canonical events → ServicePattern server events (§4.3) and history entries (§3.7, §4.5).

Server ``msg_id`` values are even and derived from the event's ``seq`` (``2 * seq``), so they are
stable on every node and a client's ``ref_msg_id`` maps back to the event.
"""

from __future__ import annotations

import html
import re
from typing import Any

from frontdesk.domain.events import Event
from frontdesk.domain.model import Chat

_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)
_PARTY_TYPES = {"agent": "internal", "bot": "scenario", "system": "scenario"}
_CALL_REQUESTS = ("REQUEST_CALL", "OFFER_CALL")
CALL_REJECTED = {"type": "CALL_REJECTED", "reason_code": "1", "reason": "Calls are not supported"}
_CUSTOMER_KEPT = frozenset({"message", "file", "activity", "form_response"})
_ACTIVITY_EVENTS = {
    "navigation": "chat_session_navigation",
    "cobrowse_rejected": "chat_session_cobrowsing_rejected",
    "cobrowse_started": "chat_session_cobrowsing_started",
    "cobrowse_ended": "chat_session_cobrowsing_ended",
}


def ts(at: float) -> str:
    return str(int(at))


def server_msg_id(seq: int) -> str:
    return str(2 * seq)


def seq_of_msg_id(msg_id: str) -> int | None:
    """The seq of a server msg_id (even digits), else None."""
    if not msg_id.isdigit():
        return None
    n = int(msg_id)
    return n // 2 if n % 2 == 0 and n > 0 else None


def html_msg(text: str) -> str:
    """``msg``: ``&``, ``<``, ``>`` escaped, newlines as ``<br>``."""
    escaped = html.escape(text, quote=False)
    return escaped.replace("\r\n", "<br>").replace("\n", "<br>").replace("\r", "<br>")


def plain_text(msg: str) -> str:
    """What agents see of a customer ``msg``: ``<br>`` forms → newlines, references decoded."""
    return html.unescape(_BR.sub("\n", msg))


def wire_state(state: str) -> str:
    return {"offered": "connecting", "ended": "failed"}.get(state, state)


def _status(state: str, ewt: Any, at: float) -> dict[str, Any]:
    return {"event": "chat_session_status", "state": state, "ewt": str(int(ewt or 0)), "timestamp": ts(at)}


def _by_id(ev: Event) -> str:
    return ev.by.id if ev.by is not None else ""


def _party_joined(ev: Event) -> dict[str, Any]:
    p = ev.data.get("party") or {}
    first = p.get("first_name") or ""
    last = p.get("last_name") or ""
    return {
        "event": "chat_session_party_joined",
        "party_id": p.get("id", ""),
        "first_name": first,
        "last_name": last,
        "display_name": p.get("display_name") or " ".join(x for x in (first, last) if x),
        "type": _PARTY_TYPES.get(p.get("kind", "agent"), "external"),
        "timestamp": ts(ev.at),
    }


def _ended(ev: Event) -> dict[str, Any]:
    reason = ev.data.get("reason")
    if reason == "inactivity":
        return {
            "event": "chat_session_inactivity_timeout",
            "msg": ev.data.get("text") or "",
            "timestamp": ts(ev.at),
        }
    if reason == "failed":
        return _status("failed", 0, ev.at)
    return {"event": "chat_session_ended", "timestamp": ts(ev.at)}


def _form(ev: Event) -> dict[str, Any]:
    d = ev.data
    if d.get("purpose") == "secure":
        return {
            "event": "chat_session_secure_form_show",
            "form_request_id": str(d.get("form_request_id", "")),
            "form_id": d.get("form_name", ""),
            "timestamp": ts(ev.at),
        }
    return {
        "event": "chat_session_form_show",
        "channel": "web",
        "form_request_id": str(d.get("form_request_id", "")),
        "form_name": d.get("form_name", ""),
        "form_timeout": str(int(d.get("timeout_seconds") or 0)),
        "timestamp": ts(ev.at),
    }


def _agent_file(ev: Event) -> dict[str, Any]:
    d = ev.data
    return {
        "event": "chat_session_file",
        "party_id": _by_id(ev),
        "msg_id": server_msg_id(ev.seq),
        "file_id": d.get("file_id", ""),
        "file_name": d.get("name", ""),
        "file_type": d.get("file_type", "attachment"),
        "timestamp": ts(ev.at),
    }


def _receipt(chat: Chat, ev: Event) -> dict[str, Any] | None:
    """Receipt up to a seq → the msg_id of the newest customer message at or before it."""
    up_to = int(ev.data.get("up_to_seq") or 0)
    for other in reversed(chat.events):
        if (
            other.seq <= up_to
            and other.kind == "message"
            and other.by is not None
            and other.by.kind == "customer"
        ):
            kind = (
                "chat_session_message_read"
                if ev.data.get("state") == "read"
                else "chat_session_message_delivered"
            )
            return {
                "event": kind,
                "party_id": _by_id(ev),
                "ref_msg_id": other.client_msg_id or "",
                "timestamp": ts(ev.at),
            }
    return None


def server_event(chat: Chat, ev: Event, receipts: bool) -> dict[str, Any] | None:
    """The event a poll delivers for ``ev``, or None (not rendered, e.g. the customer's own events)."""
    kind = ev.kind
    customer = ev.by is not None and ev.by.kind == "customer"
    if kind == "message":
        if customer or ev.data.get("visibility", "all") != "all":
            return None
        text = ev.data.get("text") or ""
        return {
            "event": "chat_session_message",
            "channel": "web",
            "party_id": _by_id(ev),
            "msg_id": server_msg_id(ev.seq),
            "msg": html_msg(text),
            "msg_text": text,
            "timestamp": ts(ev.at),
        }
    if kind == "status":
        state = ev.data.get("state")
        if state == "queued":
            return _status("queued", ev.data.get("ewt_seconds"), ev.at)
        return _status(wire_state(str(state)), 0, ev.at)
    if kind == "party_joined":
        return _party_joined(ev)
    if kind == "party_left":
        return {
            "event": "chat_session_party_left",
            "party_id": (ev.data.get("party") or {}).get("id", ""),
            "timestamp": ts(ev.at),
        }
    if kind == "ended":
        return _ended(ev)
    if kind == "typing":
        if customer:
            return None
        name = "chat_session_typing" if ev.data.get("typing") else "chat_session_not_typing"
        return {"event": name, "party_id": _by_id(ev), "timestamp": ts(ev.at)}
    if kind == "file":
        return None if customer else _agent_file(ev)
    if kind == "timeout_warning":
        return {
            "event": "chat_session_timeout_warning",
            "msg": ev.data.get("text") or "",
            "timestamp": ts(ev.at),
        }
    if kind == "form":
        return _form(ev)
    if kind == "signaling":
        return _signaling(ev, customer)
    if kind == "receipt" and receipts and not customer:
        return _receipt(chat, ev)
    return None


def _signaling(ev: Event, customer: bool) -> dict[str, Any] | None:
    data = ev.data.get("data") or {}
    if not customer:
        return {
            "event": "chat_session_signaling",
            "msg_id": server_msg_id(ev.seq),
            "party_id": _by_id(ev),
            "data": data,
            "timestamp": ts(ev.at),
        }
    if data.get("type") in _CALL_REQUESTS:
        # No Frontdesk party takes calls (design §10.10): the request is answered with a rejection.
        return {
            "event": "chat_session_signaling",
            "msg_id": server_msg_id(ev.seq),
            "party_id": ev.data.get("to_party_id") or "",
            "data": dict(CALL_REJECTED),
            "timestamp": ts(ev.at),
        }
    return None


def queue_position(ev: Event) -> dict[str, Any] | None:
    """Frontdesk extension event ``frontdesk_queue_position`` (docs/servicepattern-extensions.md).

    Polls only, never history: the customer's place in the queue whenever the engine reports it
    (the first ``queued`` status and every ``queue_update``). Vendor clients skip unknown event
    types, so they are unaffected; Frontdesk's own widget shows it.
    """
    if ev.kind == "queue_update" or (ev.kind == "status" and ev.data.get("state") == "queued"):
        position = ev.data.get("position")
        if position is None:
            return None
        return {
            "event": "frontdesk_queue_position",
            "position": str(int(position)),
            "ewt": str(int(ev.data.get("ewt_seconds") or 0)),
            "timestamp": ts(ev.at),
        }
    return None


def history_event(chat: Chat, ev: Event, receipts: bool) -> dict[str, Any] | None:
    """The history entry for ``ev`` (§4.5): stored server events and the customer's H events."""
    if ev.kind in ("typing", "signaling"):
        return None
    if ev.by is None or ev.by.kind != "customer" or ev.kind not in _CUSTOMER_KEPT:
        return server_event(chat, ev, receipts)
    d = ev.data
    base = {"party_id": chat.id, "msg_id": ev.client_msg_id or ""}
    at = ts(ev.at)
    if ev.kind == "message":
        text = d.get("text") or ""
        return {
            "event": "chat_session_message",
            **base,
            "msg": html_msg(text),
            "msg_text": text,
            "timestamp": at,
        }
    if ev.kind == "file":
        return {
            "event": "chat_session_file",
            **base,
            "file_id": d.get("file_id", ""),
            "file_name": d.get("name", ""),
            "file_type": d.get("file_type", "attachment"),
            "timestamp": at,
        }
    if ev.kind == "activity":
        return _customer_activity(base, d, at)
    if ev.kind == "form_response" and d.get("status") == "submitted":
        return {
            "event": "chat_session_form_data",
            "party_id": chat.id,
            "form_request_id": str(d.get("form_request_id", "")),
            "form_name": d.get("form_name", ""),
            "data": d.get("data") or {},
            "timestamp": at,
        }
    return None


def _customer_activity(base: dict[str, str], d: dict[str, Any], at: str) -> dict[str, Any] | None:
    kind = d.get("type")
    data = d.get("data") or {}
    if kind == "location":
        return {
            "event": "chat_session_location",
            **base,
            "url": str(data.get("url") or ""),
            "latitude": str(data.get("latitude", "")),
            "longitude": str(data.get("longitude", "")),
            "timestamp": at,
        }
    name = _ACTIVITY_EVENTS.get(str(kind))
    if name is None:
        return None
    out: dict[str, Any] = {"event": name, "party_id": base["party_id"]}
    if kind == "navigation":
        out["msg_id"] = base["msg_id"]
        out["title"] = str(data.get("title") or "")
        out["page"] = str(data.get("page") or "")
    elif kind == "cobrowse_started":
        out["provider_type"] = str(data.get("provider_type") or "")
        out["cobrowsing_url"] = str(data.get("cobrowsing_url") or "")
    out["timestamp"] = at
    return out
