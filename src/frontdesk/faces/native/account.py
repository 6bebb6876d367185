"""Sign-in, token refresh, logout, who-am-I and server info (native.md §1)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from frontdesk import __version__
from frontdesk.domain import errors
from frontdesk.engine.tenants import Tenant
from frontdesk.faces.native import schemas as s
from frontdesk.faces.native import views
from frontdesk.faces.native.http import Ctx, endpoint, json_response, no_content, read_body
from frontdesk.faces.native.table import RouteTable


def login_answer(tenant: Tenant, login: str, token: str, exp: float) -> s.LoginResponse:
    return s.LoginResponse(
        token=token, expires_at=views.ts(exp), user=views.user_view(tenant, tenant.users[login])
    )


def register(t: RouteTable, ctx: Ctx) -> None:
    engine = ctx.engine

    @t.route("POST", "/api/v1/auth/login", body=s.LoginRequest, answer=s.LoginResponse, auth=False)
    @endpoint
    async def login(request: Request) -> Response:
        """Sign in with login and password; answers a JWT."""
        body = await ctx.body(request, s.LoginRequest)
        tenant = engine.registry.lookup(body.tenant)
        addr = request.client.host if request.client else ""
        try:
            token, exp = await engine.auth.login(tenant, body.login, body.password, addr)
        except errors.AuthLocked as exc:
            lock = tenant.config.faces.native.auth_lockout.lock_seconds if tenant else 60
            exc.retry_after = lock  # type: ignore[attr-defined]
            raise
        assert tenant is not None
        return json_response(login_answer(tenant, body.login, token, exp))

    @t.route("POST", "/api/v1/auth/refresh", answer=s.LoginResponse)
    @endpoint
    async def refresh(request: Request) -> Response:
        """A new token with a new expiry."""
        caller = ctx.caller(request)
        await read_body(request, ctx.body_limit)
        token, exp = engine.auth.issue(caller.tenant, caller.login)
        return json_response(login_answer(caller.tenant, caller.login, token, exp))

    @t.route("POST", "/api/v1/auth/logout", status=204)
    @endpoint
    async def logout(request: Request) -> Response:
        """Revoke every token of the user; an agent is logged out."""
        caller = ctx.caller(request)
        await read_body(request, ctx.body_limit)
        await engine.logout(caller.tenant, caller.login)
        return no_content()

    @t.route("GET", "/api/v1/me", answer=s.Me)
    @endpoint
    async def me(request: Request) -> Response:
        """The caller, their agent state and the tenant's settings."""
        caller = ctx.caller(request)
        user = caller.tenant.users[caller.login]
        state = (
            views.agent_state(engine, caller.tenant, caller.login) if caller.principal.has("agent") else None
        )
        return json_response(
            s.Me(
                user=views.user_view(caller.tenant, user),
                agent_state=state,
                tenant=views.tenant_info(caller.tenant),
            )
        )

    @t.route("GET", "/api/v1/info", answer=s.Info, auth=False)
    @endpoint
    async def info(request: Request) -> Response:
        """Server name and version."""
        return json_response(s.Info(name="Frontdesk", version=__version__, api="v1"))
