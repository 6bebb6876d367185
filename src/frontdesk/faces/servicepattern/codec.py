"""Request bodies: size limit, JSON decoding and the shape rules of §3.3, §3.5, §3.14 and §4.2.

Everything is validated before anything is applied; failures are 400 ``5003`` with a detail.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec
from starlette.requests import Request

from frontdesk.faces.servicepattern.errors import SpError, bad_json
from frontdesk.httpbody import read_limited

MAX_JSON_BYTES = 1024 * 1024
MAX_EVENTS = 100
_decode = msgspec.json.Decoder().decode
_NO_ID = ("", "null", "undefined")


async def read_json(request: Request) -> Any:
    """The decoded body (``None`` when empty); 413 ``5003`` over 1 MiB; a UTF-8 BOM is tolerated."""
    body = await read_limited(request, MAX_JSON_BYTES)
    if body is None:
        raise bad_json("request body exceeds 1048576 bytes", 413)
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    if not body.strip():
        return None
    try:
        return _decode(body)
    except msgspec.DecodeError as exc:
        raise bad_json(str(exc)) from None
    except RecursionError:  # msgspec's decoder recurses once per level of nesting
        raise bad_json("JSON is nested too deeply") from None


def scalar(value: Any) -> str | None:
    """Numbers and booleans become strings; ``None`` stays ``None``; objects and arrays are refused."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return None


def client_msg_id(event: dict[str, Any]) -> str | None:
    raw = event.get("msg_id")
    if raw is None:
        raw = event.get("message_id")
    value = scalar(raw)
    return None if value is None or value in _NO_ID else value


@dataclass(slots=True)
class ChatRequest:
    phone_number: str = ""
    sender: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    initial_message: dict[str, Any] | None = None


def chat_request(body: Any) -> ChatRequest:
    """Request Chat body (§3.3): every field optional, unknown fields ignored."""
    if body is None:
        return ChatRequest()
    if not isinstance(body, dict):
        raise bad_json("the body must be a JSON object")
    out = ChatRequest()
    for key in ("phone_number", "from"):
        raw = body.get(key)
        value = scalar(raw)
        if raw is not None and value is None:
            raise bad_json(f"`{key}` must be a string")
        if key == "phone_number":
            out.phone_number = value or ""
        else:
            out.sender = value
    params = body.get("parameters")
    if params is not None and not isinstance(params, dict):
        raise bad_json("`parameters` must be an object or null")
    out.parameters = params or {}
    initial = body.get("initial_message")
    if isinstance(initial, dict) and initial.get("event") == "chat_session_message":
        if isinstance(initial.get("msg"), str) or isinstance(initial.get("msg_text"), str):
            out.initial_message = initial
    return out


# Required fields per client event (§4.2); a tuple means "one of".
_REQUIRED: dict[str, tuple[str, ...]] = {
    "chat_session_message": ("msg", "msg_text"),
    "chat_session_message_delivered": ("ref_msg_id",),
    "chat_session_message_read": ("ref_msg_id",),
    "chat_session_form_data": ("form_request_id",),
    "chat_session_secure_form_data": ("form_request_id",),
    "chat_session_secure_form_cancel": ("form_request_id",),
    "chat_session_signaling": ("data",),
    "chat_session_file": ("file_id",),
}


def send_events(body: Any) -> list[dict[str, Any]]:
    """Send Events body (§3.5): ``{"events":[…]}`` with 0-100 valid event objects."""
    if not isinstance(body, dict):
        raise bad_json("the body must be a JSON object with an `events` array")
    events = body.get("events")
    if not isinstance(events, list):
        raise bad_json("`events` must be an array")
    if len(events) > MAX_EVENTS:
        raise bad_json(f"at most {MAX_EVENTS} events per request")
    for i, event in enumerate(events):
        check_event(i, event)
    return events


def check_event(i: int, event: Any) -> None:
    if not isinstance(event, dict):
        raise bad_json(f"events[{i}] must be an object")
    kind = event.get("event")
    if not isinstance(kind, str):
        raise bad_json(f"events[{i}].event must be a string")
    required = _REQUIRED.get(kind)
    if kind == "chat_session_signaling":
        event["data"] = signaling_data(i, event.get("data"))
    elif required is not None and not any(scalar(event.get(k)) is not None for k in required):
        raise bad_json(f"events[{i}] ({kind}) needs `{'` or `'.join(required)}`")
    if kind == "chat_session_location":
        for key in ("latitude", "longitude"):
            if scalar(event.get(key)) is None:
                raise bad_json(f"events[{i}] ({kind}) needs `{key}`")


def signaling_data(i: int, data: Any) -> dict[str, Any]:
    if isinstance(data, str):
        try:
            data = _decode(data)
        except msgspec.DecodeError as exc:
            raise bad_json(f"events[{i}].data is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise bad_json(f"events[{i}].data must be an object")
    return data


PUSH_KEYS = {
    "ios_apns_device_token": "ios_apns",
    "ios_firebase_device_token": "ios_firebase",
    "android_firebase_device_token": "android_firebase",
}


def notification(body: Any, enabled: list[str]) -> dict[str, str] | None:
    """§3.14: one token kind, ``{}`` (→ None) to unsubscribe; 5003 malformed, 5603 several/disabled kinds."""
    if body is None:
        return None
    if not isinstance(body, dict):
        raise bad_json("the body must be a JSON object")
    found: dict[str, str] = {}
    for key, kind in PUSH_KEYS.items():
        if key in body:
            token = body[key]
            if not isinstance(token, str) or not token:
                raise bad_json(f"`{key}` must be a non-empty string")
            found[kind] = token
    bundle = body.get("ios_app_bundle_id")
    if "ios_apns" in found and (not isinstance(bundle, str) or not bundle):
        raise bad_json("`ios_apns_device_token` needs `ios_app_bundle_id`")
    if not found:
        return None
    if len(found) > 1:
        raise SpError("5603")
    kind, token = next(iter(found.items()))
    if kind not in enabled:
        raise SpError("5603")
    sub = {"kind": kind, "token": token}
    if kind == "ios_apns":
        sub["bundle_id"] = str(bundle)
    return sub
