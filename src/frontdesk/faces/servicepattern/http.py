"""Response helpers: msgspec-encoded JSON replies, error bodies and CORS (servicepattern.md §1.4, §1.6)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from frontdesk.faces.servicepattern.errors import SpError

_encode = msgspec.json.Encoder().encode
JSON_TYPE = "application/json; charset=utf-8"
_DEFAULT_ALLOW_HEADERS = "Authorization, Content-Type, Cache-Control, X-Requested-With"
EMPTY_EVENTS = b'{"events":[]}'


def encode(obj: Any) -> bytes:
    return _encode(obj)


class JsonBytes(Response):
    """A JSON reply from bytes already encoded; ``Cache-Control: no-store`` as every API reply."""

    media_type = JSON_TYPE

    def __init__(self, body: bytes, status_code: int = 200, headers: dict[str, str] | None = None) -> None:
        self.status_code = status_code
        self.background = None
        self.body = body
        raw = [
            (b"content-type", b"application/json; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"no-store"),
        ]
        if headers:
            raw.extend((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items())
        self.raw_headers = raw


def json_reply(obj: Any, status_code: int = 200) -> JsonBytes:
    return JsonBytes(_encode(obj), status_code)


def error_reply(err: SpError) -> JsonBytes:
    body = _encode({"error_code": err.code, "error_message": err.message})
    return JsonBytes(body, err.status, err.headers)


def origin_allowed(origin: str, allowed: Sequence[str] | None) -> bool:
    if allowed is None or "*" in allowed:
        return True
    return origin in allowed


def add_cors(request: Request, response: Response, allowed: Sequence[str] | None) -> None:
    """Echo the Origin (never ``*``) with credentials on every reply to a request that has one."""
    origin = request.headers.get("origin")
    if not origin or not origin_allowed(origin, allowed):
        return
    raw = response.raw_headers
    raw.append((b"access-control-allow-origin", origin.encode("latin-1")))
    raw.append((b"access-control-allow-credentials", b"true"))
    raw.append((b"vary", b"Origin"))


def preflight(request: Request) -> Response:
    """OPTIONS on any /clientweb/ path: 204, no tenant or auth checks (§1.6)."""
    response = Response(status_code=204)
    origin = request.headers.get("origin")
    raw = response.raw_headers
    if origin:
        raw.append((b"access-control-allow-origin", origin.encode("latin-1")))
        raw.append((b"access-control-allow-credentials", b"true"))
    asked = request.headers.get("access-control-request-headers")
    raw.append((b"access-control-allow-methods", b"GET, POST, OPTIONS"))
    raw.append((b"access-control-allow-headers", (asked or _DEFAULT_ALLOW_HEADERS).encode("latin-1")))
    raw.append((b"access-control-max-age", b"600"))
    raw.append((b"vary", b"Origin"))
    raw.append((b"cache-control", b"no-store"))
    return response
