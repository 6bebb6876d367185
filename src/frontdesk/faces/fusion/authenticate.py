"""``chatAuthenticate`` (fusion-chat.md §2): Basic credentials in, a signed JWT and the consumer API's
coordinates out. Nothing is stored: the token carries the request (§3.2), so any node can serve the
engagement that follows."""

from __future__ import annotations

import logging
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from frontdesk.engine.engine import Engine
from frontdesk.engine.tenants import Tenant
from frontdesk.faces.fusion import attributes, tokens
from frontdesk.faces.fusion.credentials import Verifier
from frontdesk.faces.fusion.http import (
    ADF_ITEM_TYPE,
    AdfError,
    BadJson,
    Raw,
    TooLarge,
    add_cors,
    adf_reply,
    base_url,
    encode,
    parse_json,
    preflight,
    read_body,
)
from frontdesk.faces.fusion.sessions import site_of

log = logging.getLogger("frontdesk.faces.fusion")
PREFIXES = (
    "/crmRestApi/resources/11.13.18.05/chatAuthenticate",
    "/crmRestApi/resources/latest/chatAuthenticate",
    "/serviceApi/resources/11.13.0.0/chatAuthenticate",
    "/serviceApi/resources/latest/chatAuthenticate",
)
ALLOW = "POST, OPTIONS"


class ChatAuthenticate:
    def __init__(self, engine: Engine, keys: tokens.KeyRing) -> None:
        self.engine = engine
        self.keys = keys
        self.verifier = Verifier(engine, {})

    def _origins(self) -> list[str]:
        """Before the caller is known, any tenant's allowed origins count."""
        out: list[str] = []
        for tenant in self.engine.registry.tenants.values():
            out.extend(tenant.config.faces.fusion.cors_allowed_origins)
        return out

    async def __call__(self, request: Request) -> Response:
        origins = self._origins()
        if request.method == "OPTIONS":
            return preflight(request, origins)
        try:
            item = str(request.path_params.get("user", "")).strip("/")
            if request.method != "POST" or item:
                raise AdfError(
                    405,
                    "METHOD_NOT_ALLOWED",
                    f"The method {request.method} is not supported on this resource.",
                    {"Allow": ALLOW},
                )
            tenant, cred = await self.verifier.authenticate(request)
            origins = tenant.config.faces.fusion.cors_allowed_origins
            response = await self._create(request, tenant, cred.chat_privilege)
        except AdfError as err:
            response = adf_reply(err)
        except Exception:
            log.exception("fusion chatAuthenticate failed")
            response = adf_reply(AdfError(500, "UNKNOWN_EXCEPTION", "An unexpected error occurred."))
        add_cors(request, response, origins)
        return response

    async def _create(self, request: Request, tenant: Tenant, privileged: bool) -> Response:
        ep = site_of(tenant)
        if not privileged or ep is None:
            raise AdfError(403, "ACCESS_DENIED", "The user is not allowed to start chats.")
        try:
            body = parse_json(await read_body(request))
        except TooLarge:
            raise AdfError(413, "PAYLOAD_TOO_LARGE", "The request body is too large.") from None
        except BadJson:
            raise attributes.bad_json() from None
        attrs = attributes.parse(body)
        base = base_url(request, tenant)
        token = await tokens.issue(self.keys, tenant, base, ep.id, attributes.ordered(attrs))
        path = request.url.path.rstrip("/")
        user = attrs["authUserName"] or ""
        location = f"{base}{path}/{quote(user, safe='-._~')}"
        out: dict[str, object] = dict(attrs)
        out.update(
            {
                "chatSiteName": ep.id,
                "domain": base.split("://", 1)[1],
                "poolId": tenant.config.faces.fusion.pool_id or "1:1",
                "jwt": token,
            }
        )
        out = attributes.ordered(out)
        link = {"href": location, "name": "chatAuthenticate", "kind": "item"}
        out["links"] = [{"rel": "self", **link}, {"rel": "canonical", **link}]
        return Raw(encode(out), 201, ADF_ITEM_TYPE, {"Location": location})
