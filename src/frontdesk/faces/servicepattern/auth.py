"""Tenant resolution (§1.2), the Authorization grammar (§1.3) and cookie mode (§1.5)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qsl, unquote

from starlette.requests import Request

from frontdesk.config.models import EntryPointConfig
from frontdesk.engine.engine import Engine
from frontdesk.engine.tenants import Tenant
from frontdesk.faces.servicepattern.errors import SpError

FACE = "servicepattern"
SCHEME = "mobile-api-140-327-plain"
COOKIE = "frontdesk_webchat"
MAX_CLIENT_ID = 256
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_OWS = " \t"


@lru_cache(maxsize=1024)
def normalise_host(value: str) -> str:
    """Percent-decode, drop the scheme, cut at ``/``, drop ``:port``, lower-case, drop a trailing dot."""
    v = unquote(unquote(value)).strip()
    low = v.lower()
    for prefix in ("http://", "https://"):
        if low.startswith(prefix):
            v = v[len(prefix) :]
            break
    v = v.split("/", 1)[0]
    if v.startswith("["):  # IPv6 literal
        v = v.split("]", 1)[0] + "]"
    else:
        v = v.split(":", 1)[0]
    return v.lower().rstrip(".")


@lru_cache(maxsize=1024)
def tenant_url(query_string: bytes) -> str | None:
    """The ``tenantUrl`` query parameter (the last one, as Starlette's ``query_params`` has it);
    every request of a client carries the same query string, so it is parsed once."""
    value = None
    for name, v in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if name == "tenantUrl":
            value = v
    return value


def resolve_tenant(engine: Engine, request: Request) -> Tenant:
    raw = tenant_url(request.scope.get("query_string", b""))
    if not raw:
        raw = request.headers.get("host", "")
    tenant = engine.tenant_for_domain(normalise_host(raw)) if raw else None
    if tenant is None:
        raise SpError("1000")
    return tenant


@lru_cache(maxsize=4096)
def parse_authorization(header: str | None) -> tuple[str, str] | str:
    """``(appId, clientId)`` or the error code of the first failing check (§1.3 steps 1-5)."""
    if header is None or not header.strip():
        return "2000"
    text = header.strip(_OWS)
    i = 0
    n = len(text)
    while i < n and text[i] not in _OWS:
        i += 1
    if text[:i].lower() != SCHEME:
        return "2002"
    params: dict[str, str] = {}
    while i < n and text[i] in _OWS:
        i += 1
    while i < n:
        m = _TOKEN.match(text, i)
        if m is None:
            return "2001"
        name = m.group(0).lower()
        i = m.end()
        while i < n and text[i] in _OWS:
            i += 1
        if i >= n or text[i] != "=":
            return "2001"
        i += 1
        while i < n and text[i] in _OWS:
            i += 1
        if i < n and text[i] == '"':
            i += 1
            out: list[str] = []
            while i < n and text[i] != '"':
                if text[i] == "\\" and i + 1 < n:
                    i += 1
                out.append(text[i])
                i += 1
            if i >= n:
                return "2001"
            i += 1
            value = "".join(out)
        else:
            start = i
            while i < n and text[i] not in ', \t"':
                i += 1
            value = text[start:i]
            if not value:
                return "2001"
        if name in params:
            return "2001"
        params[name] = value
        while i < n and text[i] in _OWS:
            i += 1
        if i < n:
            if text[i] != ",":
                return "2001"
            i += 1
            while i < n and text[i] in _OWS:
                i += 1
            if i >= n:
                return "2001"
    client_id = params.get("clientid")
    if client_id is not None and len(client_id) > MAX_CLIENT_ID:
        return "2001"
    app_id = params.get("appid")
    if app_id is None:
        return "2003"
    if not client_id:
        return "2004"
    return app_id, client_id


@dataclass(slots=True)
class Caller:
    """An authorised request: tenant, entry point and who the client is (§1.5)."""

    tenant: Tenant
    ep: EntryPointConfig
    app_id: str
    client_id: str
    cookie_mode: bool
    identity: str | None  # None: cookie mode without a valid cookie
    set_cookie: str | None = None  # cookie value to set on the reply

    def owns(self, chat_identity: str | None) -> bool:
        """May this caller use a chat bound to ``chat_identity``?"""
        if self.identity is not None:
            return chat_identity == self.identity
        # Cookie mode without a cookie: the random chat id alone authorises (§1.5).
        return chat_identity is not None and chat_identity.startswith(f"sp:{self.app_id}:cookie:")

    def new_identity(self) -> str:
        """The identity a Request Chat binds: cookie mode without a cookie gets a fresh cookie."""
        if self.identity is None:
            value = str(uuid.uuid4())
            self.set_cookie = value
            self.identity = f"sp:{self.app_id}:cookie:{value}"
        return self.identity


def authorise(engine: Engine, request: Request, tenant: Tenant | None = None) -> Caller:
    """§1.7 steps 2-4: tenant (unless already resolved), header, entry point."""
    if tenant is None:
        tenant = resolve_tenant(engine, request)
    parsed = parse_authorization(request.headers.get("authorization"))
    if isinstance(parsed, str):
        raise SpError(parsed)
    app_id, client_id = parsed
    ep = tenant.entry_point(FACE, app_id)
    if ep is None:
        raise SpError("3000")
    if not ep.enabled or not tenant.config.faces.servicepattern.enabled:
        raise SpError("5006")
    if client_id.lower() != "webchat":
        return Caller(tenant, ep, app_id, client_id, False, f"sp:{app_id}:{client_id}")
    cookie = request.cookies.get(COOKIE)
    if cookie and _UUID.match(cookie):
        return Caller(tenant, ep, app_id, client_id, True, f"sp:{app_id}:cookie:{cookie.lower()}")
    return Caller(tenant, ep, app_id, client_id, True, None)


def cookie_header(value: str, secure: bool) -> str:
    if secure:
        return f"{COOKIE}={value}; Path=/clientweb; Max-Age=86400; HttpOnly; Secure; SameSite=None"
    return f"{COOKIE}={value}; Path=/clientweb; Max-Age=86400; HttpOnly; SameSite=Lax"


def cookie_of_identity(identity: str | None) -> str | None:
    if identity is None:
        return None
    _, _, rest = identity.partition(":cookie:")
    return rest or None
