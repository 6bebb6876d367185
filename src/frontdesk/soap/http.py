"""Reading a SOAP request body under the size limit, before any byte reaches the parser."""

from __future__ import annotations

import ipaddress
import re

from starlette.requests import Request

from frontdesk.httpbody import read_limited
from frontdesk.soap.faults import SoapFault


def encoding_acceptable(request: Request) -> bool:
    """Only identity bodies: a compressed body would make the size limit meaningless."""
    value = request.headers.get("content-encoding")
    return value is None or value.strip().lower() in ("", "identity")


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The decoded body; more than ``max_bytes`` raises ``TOO_LARGE`` without reading the rest."""
    body = await read_limited(request, max_bytes)
    if body is None:
        raise SoapFault("TOO_LARGE", status=413)
    return body


_HOST = re.compile(r"^(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?$")


def trusted_peer(peer: str | None, networks: list[str]) -> bool:
    if peer is None or not networks:
        return False
    try:
        addr = ipaddress.ip_address(peer)
    except ValueError:
        return False
    for net in networks:
        try:
            if addr in ipaddress.ip_network(net, strict=False):
                return True
        except ValueError:
            continue
    return False


def public_base(request: Request, configured: str | None, trusted_proxies: list[str]) -> str:
    """The base of absolute URLs: the configured one, else scheme and Host of the request, else
    the address the request arrived on (a forged Host never reaches an emitted URL)."""
    if configured:
        return configured.rstrip("/")
    peer = request.client.host if request.client else None
    scheme = request.url.scheme if request.url.scheme in ("http", "https") else "http"
    host = request.headers.get("host")
    if trusted_peer(peer, trusted_proxies):
        proto = (request.headers.get("x-forwarded-proto") or "").split(",")[0].strip().lower()
        if proto in ("http", "https"):
            scheme = proto
        fwd_host = (request.headers.get("x-forwarded-host") or "").split(",")[0].strip()
        if fwd_host:
            host = fwd_host
    if host is None or not _HOST.match(host):
        server = request.scope.get("server")
        host = f"{server[0]}:{server[1]}" if server else "127.0.0.1:8080"
    return f"{scheme}://{host}"


def client_address(request: Request, trusted_proxies: list[str]) -> str:
    """The caller's address for lockouts: ``X-Forwarded-For`` only when a trusted proxy sent it."""
    peer = request.client.host if request.client else None
    forwarded = request.headers.get("x-forwarded-for")
    if forwarded and trusted_peer(peer, trusted_proxies):
        return forwarded.split(",")[0].strip() or (peer or "unknown")
    return peer or "unknown"
