"""HTTP plumbing shared by the ECE endpoints: exact-byte answers, CORS (2.4), body limits read
before parsing (10.2), per-address rate limits (10.3, 10.4) and entry-point lookup (2.2, config 4).

Rate-limit counters live in process memory: they protect this node; the design's rule 10.6 about
shared counters is recorded as a known gap in the face's report.
"""

from __future__ import annotations

import re
import time
from collections import deque
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from frontdesk.config.models import EntryPointConfig
from frontdesk.engine.engine import Engine
from frontdesk.engine.tenants import Tenant
from frontdesk.httpbody import read_limited

JAVA_LONG_MIN = -(2**63)
JAVA_LONG_MAX = 2**63 - 1
_LONG = re.compile(r"-?[0-9]{1,19}")
NO_CACHE = "no-cache, no-store"
XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
NSDECL = (
    'xmlns:ns2="http://bindings.egain.com/chat" xmlns:ns4="urn:ietf:params:xml:ns:xmpp-stanzas" '
    'xmlns:ns3="jabber:client" xmlns:ns5="http://jabber.org/protocol/httpbind"'
)
BOSH_TYPE = "text/xml; charset=utf-8"


class TooLarge(Exception):
    """The body passed its limit while being read: 413 without parsing anything."""


def parse_long(value: str | None) -> int | None:
    """``Long.parseLong`` semantics (2.2): optional ``-``, 1-19 digits, within the signed range."""
    if value is None or not _LONG.fullmatch(value):
        return None
    number = int(value)
    return number if JAVA_LONG_MIN <= number <= JAVA_LONG_MAX else None


async def read_body(request: Request, limit: int) -> bytes:
    body = await read_limited(request, limit)
    if body is None:
        raise TooLarge()
    return body


def client_address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


class RateLimiter:
    """Sliding-window counters per key; memory is bounded by pruning keys that went quiet."""

    def __init__(self) -> None:
        self._hits: dict[str, deque[float]] = {}
        self._last_prune = time.monotonic()

    def allow(self, key: str, limit: int, window: float) -> bool:
        now = time.monotonic()
        if now - self._last_prune > 60:
            self._prune(now)
        hits = self._hits.get(key)
        if hits is None:
            hits = self._hits[key] = deque()
        while hits and now - hits[0] >= window:
            hits.popleft()
        if len(hits) >= limit:
            return False
        hits.append(now)
        return True

    def _prune(self, now: float) -> None:
        self._last_prune = now
        for key in [k for k, v in self._hits.items() if not v or now - v[-1] > 120]:
            del self._hits[key]


@dataclass(slots=True)
class EntryPoint:
    tenant: Tenant
    ep: EntryPointConfig
    id: int


def find_entry_point(engine: Engine, number: int) -> EntryPoint | None:
    """ECE entry point ids are unique per server (config.md 3.7), so the id names the tenant too."""
    for tenant in engine.registry.tenants.values():
        for ep in tenant.config.entry_points:
            if ep.face == "ece" and parse_long(ep.id) == number:
                return EntryPoint(tenant, ep, number)
    return None


def default_tenant(engine: Engine, request: Request | None = None) -> Tenant | None:
    if request is not None:
        host = (request.headers.get("host") or "").rsplit(":", 1)[0].lower()
        found = engine.tenant_for_domain(host)
        if found is not None:
            return found
    wanted = engine.config.server.default_tenant
    tenants = engine.registry.tenants
    if wanted and wanted in tenants:
        return tenants[wanted]
    return next(iter(tenants.values()), None)


def cors_headers(request: Request, tenant: Tenant | None) -> dict[str, str]:
    headers = {"Access-Control-Expose-Headers": "X-egain-session"}
    origins = tenant.config.faces.ece.cors_allowed_origins if tenant is not None else ["*"]
    if "*" in origins:
        headers["Access-Control-Allow-Origin"] = "*"
    else:
        origin = request.headers.get("origin")
        headers["Vary"] = "Origin"
        if origin is not None and origin in origins:
            headers["Access-Control-Allow-Origin"] = origin
    return headers


def reply(
    request: Request,
    tenant: Tenant | None,
    status: int = 200,
    body: str | bytes | None = None,
    media_type: str | None = None,
    extra: dict[str, str] | None = None,
) -> Response:
    """Every ECE answer goes through here: no-cache, CORS, and HEAD without a body (2.5)."""
    headers = {"Cache-Control": NO_CACHE, **cors_headers(request, tenant), **(extra or {})}
    content = body.encode() if isinstance(body, str) else (body or b"")
    if request.method == "HEAD":
        headers["Content-Length"] = str(len(content))
        return Response(b"", status, headers=headers, media_type=media_type if content else None)
    return Response(content, status, headers=headers, media_type=media_type if content else None)


def empty(
    request: Request, tenant: Tenant | None, status: int, extra: dict[str, str] | None = None
) -> Response:
    return reply(request, tenant, status, None, None, extra)


def wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "xml" not in accept
