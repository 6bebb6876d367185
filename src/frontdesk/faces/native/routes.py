"""The native face (native.md): agent, supervisor and meta routes, both WebSockets and the OpenAPI
document, all from one route table."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from frontdesk.engine.engine import Engine
from frontdesk.faces.native import account, admin, agent, chats, content, crm, openapi, supervisor
from frontdesk.faces.native.http import Ctx, endpoint, json_response
from frontdesk.faces.native.table import RouteTable
from frontdesk.faces.native.ws_agent import AgentSockets
from frontdesk.faces.native.ws_common import install_log_masking
from frontdesk.faces.native.ws_supervisor import SupervisorSocket

OPENAPI_PATH = "/api/openapi.json"


def build_table(engine: Engine) -> RouteTable:
    ctx = Ctx(engine)
    table = RouteTable()
    account.register(table, ctx)
    agent.register(table, ctx)
    chats.register(table, ctx)
    content.register(table, ctx)
    supervisor.register(table, ctx)
    admin.register(table, ctx)
    crm.register(table, ctx)
    table.websocket(
        "/api/v1/ws",
        AgentSockets(ctx),
        ("AgentServerFrame", "AgentClientFrame"),
        "Agent WebSocket: offers, chat events, agent state (native.md §6)",
        "agent",
    )
    table.websocket(
        "/api/v1/supervisor/ws",
        SupervisorSocket(ctx),
        ("SupervisorServerFrame", "SupervisorClientFrame"),
        "Supervisor WebSocket: snapshot and deltas (native.md §7.3)",
        "supervisor",
    )
    cache: dict[str, Any] = {}

    @table.route("GET", OPENAPI_PATH, auth=False)
    @endpoint
    async def openapi_document(request: Request) -> Response:
        """This OpenAPI 3.1 document."""
        if "doc" not in cache:
            cache["doc"] = openapi.document(table.specs)
        return json_response(cache["doc"])

    return table


def routes(engine: Engine) -> list[BaseRoute]:
    install_log_masking()
    return build_table(engine).routes()
