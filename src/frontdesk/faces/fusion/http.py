"""Wire helpers shared by both Fusion endpoints: bodies, JSON, the two error formats, CORS and the
public base URL (fusion-chat.md §2.4, §2.8, §4.4, §4.6, §7, §8.1).

The two halves of the face answer errors differently on purpose: chatAuthenticate is an Oracle ADF
REST resource (``application/vnd.oracle.adf.error+json``), the consumer API is the RightNow-style
chat server (``{"exceptionCode", "exceptionMessage"}``). Clients of each parse only their own.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from frontdesk.engine.tenants import Tenant
from frontdesk.httpbody import read_limited

MAX_BODY = 64 * 1024
MAX_DEPTH = 16
JSON_TYPE = "application/json; charset=utf-8"
ADF_ITEM_TYPE = "application/vnd.oracle.adf.resourceitem+json"
ADF_ERROR_TYPE = "application/vnd.oracle.adf.error+json"
ALLOW_HEADERS = (
    "Authorization, Content-Type, SessionId, OSvC-CREST-Application-Context, Metadata-Context, "
    "REST-Framework-Version"
)
_HOST = re.compile(r"^(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$")
_SURROGATE = re.compile("[\ud800-\udfff]")
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


class TooLarge(Exception):
    """The body passed 64 KiB; each endpoint renders it in its own format."""


class BadJson(Exception):
    """The body is not JSON (or too deep, or bad UTF-8)."""


def _clean(obj: Any) -> Any:
    if isinstance(obj, str):
        return _SURROGATE.sub("\ufffd", obj)
    if isinstance(obj, dict):
        return {_clean(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_clean(v) for v in obj]
    return obj


def encode(obj: Any) -> bytes:
    """Serializer output only (§10 rule 8); lone surrogates from other channels become U+FFFD."""
    try:
        return _encode(obj)
    except UnicodeEncodeError:
        return _encode(_clean(obj))


class Raw(Response):
    """A reply from bytes already encoded, with exact headers."""

    def __init__(
        self, body: bytes, status_code: int, media_type: str | None, headers: dict[str, str] | None = None
    ) -> None:
        self.status_code = status_code
        self.background = None
        self.body = body
        raw: list[tuple[bytes, bytes]] = []
        if media_type is not None:
            raw.append((b"content-type", media_type.encode("latin-1")))
        raw.append((b"content-length", str(len(body)).encode()))
        raw.append((b"cache-control", b"no-store"))
        for k, v in (headers or {}).items():
            raw.append((k.lower().encode("latin-1"), v.encode("latin-1")))
        self.raw_headers = raw


def json_reply(obj: Any, status_code: int = 200, media_type: str = JSON_TYPE) -> Raw:
    return Raw(encode(obj), status_code, media_type)


async def read_body(request: Request) -> bytes:
    """The whole body, refusing more than 64 KiB before it is all buffered."""
    body = await read_limited(request, MAX_BODY)
    if body is None:
        raise TooLarge()
    return body


def _too_deep(body: bytes) -> bool:
    depth = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


def parse_json(body: bytes) -> Any:
    """Decoded JSON whatever the Content-Type; ``None`` for an empty body; a BOM is skipped."""
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    if not body.strip():
        return None
    if body.count(b"[") + body.count(b"{") > MAX_DEPTH and _too_deep(body):
        raise BadJson()
    try:
        return _decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        raise BadJson() from None


# -- consumer API errors (§4.6) --------------------------------------------------------------------
class ConsumerError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


def consumer_reply(err: ConsumerError) -> Raw:
    body = encode({"exceptionCode": err.code, "exceptionMessage": err.message})
    return Raw(body, err.status, JSON_TYPE, err.headers)


def denied(message: str = "Unknown consumer session") -> ConsumerError:
    return ConsumerError(403, "ACCESS_DENIED", message)


def invalid_field(message: str) -> ConsumerError:
    return ConsumerError(400, "INVALID_FIELD", message)


BAD_BODY = "The request body is not a valid JSON object"


def bad_request() -> ConsumerError:
    return ConsumerError(400, "BAD_REQUEST", BAD_BODY)


# -- ADF errors of chatAuthenticate (§2.8) ---------------------------------------------------------
class AdfError(Exception):
    def __init__(
        self, status: int, code: str | None, detail: str = "", headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers


def _type_uri(status: int) -> str:
    if status == 429:
        return "https://tools.ietf.org/html/rfc6585#section-4"
    if status >= 500:
        return "http://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.5.1"
    return f"http://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.4.{status - 399}"


def adf_reply(err: AdfError) -> Raw:
    if err.code is None:  # 401: empty body, identical for every failure (§2.2)
        return Raw(b"", err.status, None, err.headers)
    body = {
        "type": _type_uri(err.status),
        "title": HTTPStatus(err.status).phrase,
        "status": str(err.status),
        "o:errorDetails": [{"detail": err.detail, "o:errorCode": err.code}],
    }
    return Raw(encode(body), err.status, ADF_ERROR_TYPE, err.headers)


# -- CORS (§7) -------------------------------------------------------------------------------------
def cors_origin(origin: str | None, allowed: Sequence[str]) -> str | None:
    """The Access-Control-Allow-Origin value for this origin, or None when not allowed."""
    if not origin:
        return None
    if "*" in allowed:
        return "*"
    return origin if origin in allowed else None


def add_cors(request: Request, response: Response, allowed: Sequence[str]) -> None:
    value = cors_origin(request.headers.get("origin"), allowed)
    if value is not None:
        response.raw_headers.append((b"access-control-allow-origin", value.encode("latin-1")))
        response.raw_headers.append((b"vary", b"Origin"))


def preflight(request: Request, allowed: Sequence[str]) -> Response:
    origin = request.headers.get("origin")
    value = cors_origin(origin, allowed)
    if origin and value is None:
        return Response(status_code=403)
    response = Response(status_code=204)
    raw = response.raw_headers
    if value is not None:
        raw.append((b"access-control-allow-origin", value.encode("latin-1")))
    raw.append((b"access-control-allow-methods", b"GET, POST, OPTIONS"))
    raw.append((b"access-control-allow-headers", ALLOW_HEADERS.encode("latin-1")))
    raw.append((b"access-control-max-age", b"600"))
    raw.append((b"vary", b"Origin"))
    return response


# -- addresses (§8.1, config.md server.trusted_proxies) ---------------------------------------------
def _trusted(request: Request, tenant: Tenant) -> bool:
    peer = request.client.host if request.client else None
    if not peer or not tenant.server.trusted_proxies:
        return False
    try:
        addr = ipaddress.ip_address(peer)
    except ValueError:
        return False
    for net in tenant.server.trusted_proxies:
        try:
            if addr in ipaddress.ip_network(net, strict=False):
                return True
        except ValueError:
            continue
    return False


def client_address(request: Request, tenant: Tenant | None) -> str:
    peer = request.client.host if request.client else "unknown"
    if tenant is not None and _trusted(request, tenant):
        forwarded = request.headers.get("x-forwarded-for")
        if forwarded:
            return forwarded.split(",")[0].strip() or peer
    return peer


def base_url(request: Request, tenant: Tenant) -> str:
    """The public base URL without a trailing slash: configured, else scheme + Host, else listen."""
    configured = tenant.config.base_url(tenant.server)
    if configured:
        return configured.rstrip("/")
    scheme = request.url.scheme if request.url.scheme in ("http", "https") else "http"
    host = request.headers.get("host", "")
    if _trusted(request, tenant):
        scheme = request.headers.get("x-forwarded-proto", scheme).split(",")[0].strip() or scheme
        host = request.headers.get("x-forwarded-host", host).split(",")[0].strip() or host
    if not _HOST.match(host):
        server = request.scope.get("server")
        if server:
            h, p = server[0], server[1]
            host = f"[{h}]:{p}" if ":" in str(h) else f"{h}:{p}"
        else:
            host = f"{tenant.server.host}:{tenant.server.port}"
    return f"{scheme}://{host}"
