"""RightNow chat SOAP endpoint: ``/cgi-bin/{interface}.cfg/services/chat_soap`` and the 17.8+ alias
``/services/soap/connect/chat_soap`` (spec §2). One endpoint answers the site and the chat-server
operations; ``?wsdl`` and ``?wsdl=server`` serve the two WSDLs with this server's own address.

Processing follows the order of spec §12.2; the face only translates, the engine decides.
"""

from __future__ import annotations

import logging
import re
import time

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from frontdesk.config import EntryPointConfig
from frontdesk.domain import errors
from frontdesk.engine.engine import Engine
from frontdesk.engine.tenants import Tenant
from frontdesk.faces.rightnow import faults
from frontdesk.faces.rightnow.auth import authenticate
from frontdesk.faces.rightnow.ops import OPERATIONS, Call
from frontdesk.soap import Envelope, Limits, SoapFault, SoapPolicy, dispatch, read_body
from frontdesk.soap.http import encoding_acceptable, public_base
from frontdesk.soap.wsdl import render_wsdl

log = logging.getLogger("frontdesk.faces.rightnow")
_INTERFACE = re.compile(r"^[A-Za-z0-9_]{1,64}$")
_XML = "text/xml; charset=utf-8"
_ALLOW = "GET, HEAD, POST"
_WSDL_PACKAGE = "frontdesk.faces.rightnow.wsdl"

POLICY = SoapPolicy(
    render_fault=faults.render,
    limits=Limits(max_bytes=1_048_576, max_depth=32, max_elements=10_000, max_attributes=64),
    password_types=frozenset({"text", "digest"}),
    understood_headers=frozenset(
        {
            "Security",
            "ClientRequestHeader",
            "ChatClientInfoHeader",
            "Action",
            "To",
            "MessageID",
            "ReplyTo",
            "From",
            "FaultTo",
            "RelatesTo",
        }
    ),
    unqualified_must_understand=False,
    auth_before_dispatch=False,
)


def _empty(status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(b"", status_code=status, headers=headers)


def _xml(body: bytes, status: int = 200) -> Response:
    return Response(body, status_code=status, media_type=None, headers={"content-type": _XML})


def _locate(engine: Engine, request: Request) -> tuple[Tenant, EntryPointConfig] | None:
    """Tenant and entry point of the request (config.md §4); None answers 404."""
    iface = request.path_params.get("interface")
    if iface is None:
        host = (request.headers.get("host") or "").rsplit(":", 1)[0].lower()
        tenant = engine.tenant_for_domain(host) or engine.tenant(engine.config.server.default_tenant)
        if tenant is None:
            return None
        cfg = tenant.config.faces.rightnow
        iface = cfg.default_interface or next(
            (ep.id for ep in tenant.config.entry_points if ep.face == "rightnow"), None
        )
        candidates = [tenant] if iface else []
    else:
        if not _INTERFACE.match(iface):
            return None
        candidates = list(engine.registry.tenants.values())
    for tenant in candidates:
        ep = tenant.entry_point("rightnow", str(iface))
        if ep is not None and ep.enabled and tenant.config.faces.rightnow.enabled:
            return tenant, ep
    return None


def _wsdl_choice(request: Request) -> str | None:
    for key, value in request.query_params.multi_items():
        if key.lower() == "wsdl":
            v = value.strip().lower()
            return "site.wsdl" if v == "" else "server.wsdl" if v == "server" else ""
    return None


class SoapEndpoint:
    """A bare ASGI endpoint so Starlette routes every method here and the face answers 405 itself."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)
        response = await self.handle(request)
        await response(scope, receive, send)

    def _endpoint(self, request: Request, tenant: Tenant, ep: EntryPointConfig) -> str:
        server = self.engine.config.server
        base = public_base(request, tenant.config.base_url(server), server.trusted_proxies)
        return f"{base}/cgi-bin/{ep.id}.cfg/services/chat_soap"

    async def handle(self, request: Request) -> Response:
        located = _locate(self.engine, request)
        if located is None:
            return _empty(404)
        tenant, ep = located
        method = request.method
        if method in ("GET", "HEAD"):
            choice = _wsdl_choice(request)
            if not choice:
                return _empty(404)
            body = render_wsdl(_WSDL_PACKAGE, choice, self._endpoint(request, tenant, ep))
            return _xml(body)
        if method != "POST":
            return _empty(405, {"Allow": _ALLOW})
        if not encoding_acceptable(request):
            return _empty(415)
        return await self.soap(request, tenant, ep)

    async def soap(self, request: Request, tenant: Tenant, ep: EntryPointConfig) -> Response:
        started = time.time()
        operation: str | None = None

        async def auth(env: Envelope) -> None:
            await authenticate(self.engine, request, tenant, env, POLICY)

        try:
            body = await read_body(request, POLICY.limits.max_bytes)
            env, operation = await dispatch(body, POLICY, OPERATIONS, auth)
            assert env.operation is not None
            endpoint = self._endpoint(request, tenant, ep)
            call = Call(self.engine, request, tenant, ep, env, env.operation, endpoint, started)
            return _xml(await OPERATIONS[operation](call))
        except SoapFault as fault:
            status, out = POLICY.render_fault(fault, operation or fault.operation)
        except errors.FrontdeskError as exc:
            status, out = POLICY.render_fault(faults.from_engine(exc), operation)
        except Exception:
            log.exception("rightnow %s failed", operation or "request")
            status, out = POLICY.render_fault(SoapFault("UNEXPECTED"), operation)
        return _xml(out, status)


def routes(engine: Engine) -> list[BaseRoute]:
    endpoint = SoapEndpoint(engine)
    return [
        Route("/cgi-bin/{interface}.cfg/services/chat_soap", endpoint, methods=None),
        Route("/services/soap/connect/chat_soap", endpoint, methods=None),
    ]
