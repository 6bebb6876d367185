"""The native face's route table: one list that builds both the Starlette routes and the OpenAPI
document, so a route cannot be served without being documented (native.md §0.4)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket

from frontdesk.faces.native.http import Handler, NativeRoute

WsHandler = Callable[[WebSocket], Awaitable[None]]


@dataclass(slots=True)
class Param:
    name: str
    type: str = "string"  # JSON schema type
    description: str = ""
    repeat: bool = False


@dataclass(slots=True)
class Spec:
    method: str
    path: str
    handler: Handler | None
    body: Any = None  # request struct type, or "multipart"
    answer: Any = None  # answer struct type, "binary" or "html"
    status: int = 200
    auth: bool = True
    role: str | None = None
    query: list[Param] = field(default_factory=list)
    summary: str = ""
    extra_status: tuple[int, ...] = ()
    websocket: WsHandler | None = None
    frames: tuple[str, str] | None = None  # (server, client) component names


class RouteTable:
    def __init__(self) -> None:
        self.specs: list[Spec] = []

    def route(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        answer: Any = None,
        status: int = 200,
        auth: bool = True,
        role: str | None = None,
        query: list[Param] | None = None,
        extra_status: tuple[int, ...] = (),
    ) -> Callable[[Handler], Handler]:
        def deco(fn: Handler) -> Handler:
            self.specs.append(
                Spec(
                    method,
                    path,
                    fn,
                    body,
                    answer,
                    status,
                    auth,
                    role,
                    list(query or []),
                    (fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else "",
                    extra_status,
                )
            )
            return fn

        return deco

    def websocket(
        self, path: str, handler: WsHandler, frames: tuple[str, str], summary: str, role: str
    ) -> None:
        self.specs.append(
            Spec(
                "GET",
                path,
                None,
                None,
                None,
                101,
                False,
                role,
                [Param("token", description="JWT; or send an auth frame within 10 s")],
                summary,
                websocket=handler,
                frames=frames,
            )
        )

    def routes(self) -> list[BaseRoute]:
        by_path: dict[str, dict[str, Handler]] = {}
        out: list[BaseRoute] = []
        for spec in self.specs:
            if spec.websocket is not None:
                out.append(WebSocketRoute(spec.path, _ws_endpoint(spec.websocket)))
            elif spec.handler is not None:
                by_path.setdefault(spec.path, {})[spec.method] = spec.handler
        for path, handlers in by_path.items():
            out.append(NativeRoute(path, _dispatch(handlers), methods=list(handlers)))
        return out


def _ws_endpoint(handler: WsHandler) -> WsHandler:
    async def ws_endpoint(ws: WebSocket) -> None:  # a plain function: Starlette treats objects as ASGI apps
        await handler(ws)

    return ws_endpoint


def _dispatch(handlers: dict[str, Handler]) -> Handler:
    if len(handlers) == 1:
        return next(iter(handlers.values()))
    get = handlers.get("GET")

    async def dispatch(request: Request) -> Response:
        method = request.method
        fn = handlers.get(method) or (get if method == "HEAD" else None)
        assert fn is not None  # NativeRoute answered 405 already
        return await fn(request)

    return dispatch
